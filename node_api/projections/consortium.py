"""The consortium: members (kind and status), governance proposals with their votes and
execution, and the governed parameters' values. Few entities with their keys only in the
events' arguments: a range that touches one refolds the whole model."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from web3 import Web3

from node_api.models import ProjectedMember, ProjectedParameter, ProjectedProposal
from node_api.projections.events import Event, label
from node_api.projections.keyed import KeyedModel, Rows
from vcl.contract_enums import ActionType, MemberStatus
from vcl.deploy import DEFAULT_PARAMETERS, MemberKind

MEMBERSHIP = {
    "MemberAdmitted": MemberStatus.ACTIVE,
    "MemberSuspended": MemberStatus.SUSPENDED,
    "MemberReinstated": MemberStatus.ACTIVE,
    "MemberRemoved": MemberStatus.REMOVED,
}
PROPOSAL_EVENTS = frozenset({"ProposalCreated", "VoteCast", "ProposalExecuted"})
# The chain keeps a parameter's key as keccak256 of its name: these are the names known here.
PARAMETER_NAMES = {"0x" + bytes(Web3.keccak(text=name)).hex(): name for name in DEFAULT_PARAMETERS}


def parameter_key(name: str) -> str:
    return "0x" + bytes(Web3.keccak(text=name)).hex()


def fold_member(_session: Session, chain_id: int, account: str, events: list[Event]) -> Rows:
    member: dict[str, Any] | None = None
    for event in events:
        status = label(MemberStatus, MEMBERSHIP[event.name])
        if event.name == "MemberAdmitted":
            member = {
                "chain_id": chain_id,
                "account": account,
                "kind": label(MemberKind, event.args["kind"]),
                "status": status,
                "name_hash": event.args["nameHash"],
                "admitted_at": event.block_timestamp,
                "admitted_block": event.block_number,
                "admitted_log_index": event.log_index,
            }
        elif member is None:
            continue
        member["status"] = status
        member["changed_at"] = event.block_timestamp
        member["changed_block"] = event.block_number
    return {} if member is None else {ProjectedMember: [member]}


def fold_proposal(_session: Session, chain_id: int, proposal_id: str, events: list[Event]) -> Rows:
    proposal: dict[str, Any] | None = None
    for event in events:
        if event.name == "ProposalCreated":
            proposal = {
                "chain_id": chain_id,
                "proposal_id": proposal_id,
                "proposer": event.args["proposer"],
                "action_type": label(ActionType, event.args["actionType"]),
                "account": event.args["account"],
                "kind": label(MemberKind, event.args["kind"]),
                "key": event.args["key"],
                "value": event.args["value"],
                "deadline": event.int("deadline"),
                "created_at": event.block_timestamp,
                "yes_votes": 0,
                "no_votes": 0,
                "votes": [],
                "executed_at": None,
                "executed_block": None,
                "executed_transaction_hash": None,
                "executor": None,
                "transaction_hash": event.transaction_hash,
                "block_number": event.block_number,
                "log_index": event.log_index,
            }
        elif proposal is None:
            continue
        elif event.name == "VoteCast":
            proposal["yes_votes"] = event.int("yesVotes")
            proposal["no_votes"] = event.int("noVotes")
            proposal["votes"].append(
                {
                    "voter": event.args["voter"],
                    "support": bool(event.args["support"]),
                    "block_number": event.block_number,
                    "at": event.block_timestamp,
                    "transaction_hash": event.transaction_hash,
                }
            )
        else:
            proposal["executed_at"] = event.block_timestamp
            proposal["executed_block"] = event.block_number
            proposal["executed_transaction_hash"] = event.transaction_hash
            proposal["executor"] = event.args["executor"]
    if proposal is None:
        return {}
    proposal["changed_block"] = events[-1].block_number
    return {ProjectedProposal: [proposal]}


def fold_parameter(_session: Session, chain_id: int, key: str, events: list[Event]) -> Rows:
    last = events[-1]
    row = {
        "chain_id": chain_id,
        "key": key,
        "name": PARAMETER_NAMES.get(key),
        "value": last.args["newValue"],
        "changed_at": last.block_timestamp,
        "changed_block": last.block_number,
    }
    return {ProjectedParameter: [row]}


MEMBERS = KeyedModel(
    name="members",
    events=frozenset(MEMBERSHIP),
    column=None,
    args_key="account",
    tables=((ProjectedMember, "account"),),
    fold=fold_member,
)
PROPOSALS = KeyedModel(
    name="proposals",
    events=PROPOSAL_EVENTS,
    column=None,
    args_key="proposalId",
    tables=((ProjectedProposal, "proposal_id"),),
    fold=fold_proposal,
)
PARAMETERS = KeyedModel(
    name="parameters",
    events=frozenset({"ParameterChanged"}),
    column=None,
    args_key="key",
    tables=((ProjectedParameter, "key"),),
    fold=fold_parameter,
)
