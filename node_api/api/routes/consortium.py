"""The consortium: its members and its governance proposals with their votes.

Read from the indexed `Consortium` events (membership changes, proposals, votes,
executions); the chain is asked only for what no event says: the time now (is a
proposal expired?), how many banks are active and, for a proposal still open, how many of
its yes-votes count now (`countedVotes`: a voter suspended or removed since no longer
counts), which together decide whether it has passed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from web3 import Web3

from node_api import audit
from node_api.api.audit_schemas import (
    Member,
    MemberList,
    Proposal,
    ProposalAction,
    ProposalDetail,
    ProposalPage,
    Vote,
)
from node_api.api.deps import PageLimit, PageOffset, PrincipalDep, RuntimeDep, SessionDep
from node_api.api.errors import ApiError
from node_api.models import ChainEvent
from node_api.runtime import NodeRuntime
from vcl.contract_enums import ActionType
from vcl.deploy import DEV_FOUNDERS, GOVERNED_PARAMETERS, MemberKind
from vcl.timestamps import iso

router = APIRouter(prefix="/v1/consortium", tags=["consortium"])

CONTRACT = "Consortium"
# `IConsortium` enums, by value, as the contract names them.
MEMBER_KINDS = ("None", "Bank", "Auditor", "OracleOperator", "DocumentIssuer")
MEMBER_STATUSES = ("None", "Active", "Suspended", "Removed")
ACTION_TYPES = tuple(action.label for action in ActionType)
KIND_ROLES = {
    MemberKind.BANK: "BANK_ROLE",
    MemberKind.AUDITOR: "AUDITOR_ROLE",
    MemberKind.ORACLE_OPERATOR: "ORACLE_ROLE",
    MemberKind.DOCUMENT_ISSUER: "ISSUER_ROLE",
}
# The status a membership event leaves its member in.
MEMBERSHIP_EVENTS = {
    "MemberAdmitted": "Active",
    "MemberSuspended": "Suspended",
    "MemberReinstated": "Active",
    "MemberRemoved": "Removed",
}
# The chain keeps only hashes of names: these are the ones this node can name.
KNOWN_NAMES = {
    "0x" + bytes(Web3.keccak(text=name)).hex(): name
    for name in (*GOVERNED_PARAMETERS, *(label for _, _, label in DEV_FOUNDERS))
}


def _label(table: tuple[str, ...], value: str) -> str:
    index = int(value)
    return table[index] if 0 <= index < len(table) else value


def _consortium_events(chain_id: int, *names: str) -> Select[Any]:
    return (
        select(ChainEvent)
        .where(
            ChainEvent.chain_id == chain_id,
            ChainEvent.contract_name == CONTRACT,
            ChainEvent.event_name.in_(names),
        )
        .order_by(ChainEvent.block_number, ChainEvent.log_index)
    )


@router.get("/members", response_model=MemberList)
def list_members(runtime: RuntimeDep, session: SessionDep, _principal: PrincipalDep) -> MemberList:
    """Every member ever admitted, in order of admission, with its status and roles now."""
    chain_id = runtime.settings.chain_id
    events = session.scalars(_consortium_events(chain_id, *MEMBERSHIP_EVENTS)).all()
    members: dict[str, Member] = {}
    for e in events:
        address = e.args["account"]
        status = MEMBERSHIP_EVENTS[e.event_name]
        if e.event_name == "MemberAdmitted":
            members[address] = Member(
                address=address,
                kind=_label(MEMBER_KINDS, e.args["kind"]),
                status=status,
                roles=[],
                name=KNOWN_NAMES.get(e.args["nameHash"]),
                name_hash=e.args["nameHash"],
                joined_block=e.block_number,
                joined_at=iso(e.block_timestamp),
                status_changed_block=e.block_number,
            )
        elif address in members:
            members[address].status = status
            members[address].status_changed_block = e.block_number
    for member in members.values():
        kind = MemberKind(MEMBER_KINDS.index(member.kind))
        member.roles = [KIND_ROLES[kind], "MEMBER_ROLE"] if member.status == "Active" else []
    return MemberList(
        indexed_block=audit.indexed_block(session, chain_id), items=list(members.values())
    )


def _parse_proposal_id(raw: str) -> str:
    if not raw.isdigit() or int(raw) == 0 or int(raw) >= 2**256:
        raise ApiError(422, "InvalidProposalId", "a proposal id is a positive decimal integer")
    return str(int(raw))


def _chain_now(runtime: NodeRuntime) -> tuple[int, int]:
    """(latest block time, active banks): what decides expired and passed."""
    consortium = runtime.contracts[CONTRACT]
    latest = runtime.read("the latest block", lambda: runtime.sender.w3.eth.get_block("latest"))
    banks = runtime.read(
        "the active banks",
        lambda: consortium.functions.activeMemberCount(int(MemberKind.BANK)).call(),
    )
    return int(latest["timestamp"]), int(banks)


class _Outcome:
    """The votes and the execution of the proposals being shown."""

    def __init__(self, session: Session, chain_id: int, ids: list[str]) -> None:
        self.votes: dict[str, list[ChainEvent]] = defaultdict(list)
        self.executed: dict[str, ChainEvent] = {}
        query = _consortium_events(chain_id, "VoteCast", "ProposalExecuted").where(
            ChainEvent.args["proposalId"].as_string().in_(ids)
        )
        for e in session.scalars(query):
            proposal_id = e.args["proposalId"]
            if e.event_name == "VoteCast":
                self.votes[proposal_id].append(e)
            else:
                self.executed[proposal_id] = e

    def proposal(
        self, created: ChainEvent, now: int, active_banks: int, counted_yes: Callable[[str], int]
    ) -> Proposal:
        """`counted_yes(proposal id)`: its yes-votes that count now (asked only when open)."""
        a = created.args
        proposal_id = a["proposalId"]
        votes = self.votes[proposal_id]
        yes = sum(1 for v in votes if v.args["support"])
        executed = self.executed.get(proposal_id)
        if executed is not None:
            status = "executed"
        elif now > int(a["deadline"]):
            status = "expired"
        elif yes * 2 > active_banks and counted_yes(proposal_id) * 2 > active_banks:
            status = "passed"
        else:
            status = "open"
        return Proposal(
            proposal_id=proposal_id,
            action=ProposalAction(
                action_type=_label(ACTION_TYPES, a["actionType"]),
                account=a["account"],
                kind=_label(MEMBER_KINDS, a["kind"]),
                key=a["key"],
                key_name=KNOWN_NAMES.get(a["key"]),
                value=a["value"],
            ),
            proposer=a["proposer"],
            status=status,
            votes_for=yes,
            votes_against=len(votes) - yes,
            deadline=iso(int(a["deadline"])),
            created_block=created.block_number,
            created_tx_hash=created.transaction_hash,
            executed_block=None if executed is None else executed.block_number,
            executed_tx_hash=None if executed is None else executed.transaction_hash,
        )


def _counted_yes(runtime: NodeRuntime) -> Callable[[str], int]:
    consortium = runtime.contracts[CONTRACT].functions

    def counted(proposal_id: str) -> int:
        yes, _no = runtime.read(
            "the counted votes", lambda: consortium.countedVotes(int(proposal_id)).call()
        )
        return int(yes)

    return counted


def _vote(e: ChainEvent) -> Vote:
    return Vote(
        voter=e.args["voter"],
        support=bool(e.args["support"]),
        block_number=e.block_number,
        block_time=iso(e.block_timestamp),
        tx_hash=e.transaction_hash,
    )


@router.get("/proposals", response_model=ProposalPage)
def list_proposals(
    *,
    runtime: RuntimeDep,
    session: SessionDep,
    _principal: PrincipalDep,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> ProposalPage:
    """Governance proposals, newest first, with their votes counted and their status."""
    chain_id = runtime.settings.chain_id
    created = _consortium_events(chain_id, "ProposalCreated")
    total = session.scalar(select(func.count()).select_from(created.subquery())) or 0
    newest_first = created.order_by(None).order_by(
        ChainEvent.block_number.desc(), ChainEvent.log_index.desc()
    )
    rows = session.scalars(newest_first.limit(limit).offset(offset)).all()
    outcome = _Outcome(session, chain_id, [r.args["proposalId"] for r in rows])
    now, banks = _chain_now(runtime)
    counted = _counted_yes(runtime)
    items = [outcome.proposal(row, now, banks, counted) for row in rows]
    next_offset = offset + len(items) if offset + len(items) < total else None
    return ProposalPage(
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        next_offset=next_offset,
        active_banks=banks,
    )


@router.get("/proposals/{proposal_id}", response_model=ProposalDetail, responses={404: {}, 422: {}})
def get_proposal(
    proposal_id: str, runtime: RuntimeDep, session: SessionDep, _principal: PrincipalDep
) -> ProposalDetail:
    """One proposal with every vote (voter, support, block, transaction)."""
    wanted = _parse_proposal_id(proposal_id)
    chain_id = runtime.settings.chain_id
    query = _consortium_events(chain_id, "ProposalCreated").where(
        ChainEvent.args["proposalId"].as_string() == wanted
    )
    created = session.scalars(query).first()
    if created is None:
        raise ApiError(404, "UnknownProposal", f"no proposal {wanted} has been indexed")
    outcome = _Outcome(session, chain_id, [wanted])
    now, banks = _chain_now(runtime)
    shown = outcome.proposal(created, now, banks, _counted_yes(runtime))
    return ProposalDetail(**shown.model_dump(), votes=[_vote(v) for v in outcome.votes[wanted]])
