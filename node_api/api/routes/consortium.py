"""The consortium: its members and its governance proposals with their votes.

Answered from the read models (`node_api.projections`: members, proposals with their votes
and execution); the chain is asked only for what is about now, not about the indexed past:
the time now (is a proposal expired?), how many banks are active and, for a proposal still
open, how many of its yes-votes count now (`countedVotes`: a voter suspended or removed since
no longer counts), which together decide whether it has passed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select
from web3 import Web3

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
from node_api.api.indexed import INDEXED_NOTE, INDEXED_RESPONSES, IndexedDep
from node_api.models import ProjectedMember, ProjectedProposal
from node_api.runtime import NodeRuntime
from vcl.contract_enums import solidity_name
from vcl.deploy import DEV_FOUNDERS, GOVERNED_PARAMETERS, MemberKind
from vcl.timestamps import iso

router = APIRouter(prefix="/v1/consortium", tags=["consortium"])

CONTRACT = "Consortium"
# A kind by the contract's name for it, as the projection stores it.
MEMBER_KINDS = {solidity_name(kind.name): kind for kind in MemberKind}
KIND_ROLES = {
    MemberKind.BANK: "BANK_ROLE",
    MemberKind.AUDITOR: "AUDITOR_ROLE",
    MemberKind.ORACLE_OPERATOR: "ORACLE_ROLE",
    MemberKind.DOCUMENT_ISSUER: "ISSUER_ROLE",
}
# The chain keeps only hashes of names: these are the ones this node can name.
KNOWN_NAMES = {
    "0x" + bytes(Web3.keccak(text=name)).hex(): name
    for name in (*GOVERNED_PARAMETERS, *(label for _, _, label in DEV_FOUNDERS))
}


@router.get(
    "/members",
    response_model=MemberList,
    responses=INDEXED_RESPONSES,
    description="Every member ever admitted, in order of admission, with its status and roles "
    "now." + INDEXED_NOTE,
)
def list_members(
    runtime: RuntimeDep, session: SessionDep, indexed: IndexedDep, _principal: PrincipalDep
) -> MemberList:
    chain_id = runtime.settings.chain_id
    rows = session.scalars(
        select(ProjectedMember)
        .where(ProjectedMember.chain_id == chain_id)
        .order_by(ProjectedMember.admitted_block, ProjectedMember.admitted_log_index)
    )
    return MemberList(indexed_block=indexed.block_number, items=[_member(row) for row in rows])


def _member(row: ProjectedMember) -> Member:
    kind = MEMBER_KINDS.get(row.kind)
    roles = [KIND_ROLES[kind], "MEMBER_ROLE"] if row.status == "Active" and kind else []
    return Member(
        address=row.account,
        kind=row.kind,
        status=row.status,
        roles=roles,
        name=KNOWN_NAMES.get(row.name_hash),
        name_hash=row.name_hash,
        joined_block=row.admitted_block,
        joined_at=iso(row.admitted_at),
        status_changed_block=row.changed_block,
    )


def _parse_proposal_id(raw: str) -> str:
    if not (raw.isascii() and raw.isdigit()) or int(raw) == 0 or int(raw) >= 2**256:
        raise ApiError(422, "InvalidProposalId", "a proposal id is a positive decimal integer")
    return str(int(raw))


def _chain_now(runtime: NodeRuntime) -> tuple[int, int]:
    """(latest block time, active banks): what decides expired and passed, read from the
    chain because they are about now, not about the indexed past."""
    consortium = runtime.contracts[CONTRACT]
    latest = runtime.read("the latest block", lambda: runtime.sender.w3.eth.get_block("latest"))
    banks = runtime.read(
        "the active banks",
        lambda: consortium.functions.activeMemberCount(int(MemberKind.BANK)).call(),
    )
    return int(latest["timestamp"]), int(banks)


def _counted_yes(runtime: NodeRuntime) -> Callable[[str], int]:
    consortium = runtime.contracts[CONTRACT].functions

    def counted(proposal_id: str) -> int:
        yes, _no = runtime.read(
            "the counted votes", lambda: consortium.countedVotes(int(proposal_id)).call()
        )
        return int(yes)

    return counted


def _proposal(
    row: ProjectedProposal, now: int, active_banks: int, counted_yes: Callable[[str], int]
) -> Proposal:
    """`counted_yes(proposal id)`: its yes-votes that count now (asked only when open)."""
    yes = sum(1 for vote in row.votes if vote["support"])
    if row.executed_block is not None:
        status = "executed"
    elif now > row.deadline:
        status = "expired"
    elif yes * 2 > active_banks and counted_yes(row.proposal_id) * 2 > active_banks:
        status = "passed"
    else:
        status = "open"
    return Proposal(
        proposal_id=row.proposal_id,
        action=ProposalAction(
            action_type=row.action_type,
            account=row.account,
            kind=row.kind,
            key=row.key,
            key_name=KNOWN_NAMES.get(row.key),
            value=row.value,
        ),
        proposer=row.proposer,
        status=status,
        votes_for=yes,
        votes_against=len(row.votes) - yes,
        deadline=iso(row.deadline),
        created_block=row.block_number,
        created_tx_hash=row.transaction_hash,
        executed_block=row.executed_block,
        executed_tx_hash=row.executed_transaction_hash,
    )


def _vote(vote: dict[str, Any]) -> Vote:
    return Vote(
        voter=vote["voter"],
        support=bool(vote["support"]),
        block_number=vote["block_number"],
        block_time=iso(vote["at"]),
        tx_hash=vote["transaction_hash"],
    )


@router.get(
    "/proposals",
    response_model=ProposalPage,
    responses=INDEXED_RESPONSES,
    description="Governance proposals, newest first, with their votes counted and their "
    "status. The status of a proposal not executed asks the chain for what is about now: the "
    "latest block's time, the active banks, and for one with enough yes-votes how many of "
    "them still count." + INDEXED_NOTE,
)
def list_proposals(
    *,
    runtime: RuntimeDep,
    session: SessionDep,
    _indexed: IndexedDep,
    _principal: PrincipalDep,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> ProposalPage:
    chain_id = runtime.settings.chain_id
    where = ProjectedProposal.chain_id == chain_id
    total = session.scalar(select(func.count()).select_from(ProjectedProposal).where(where)) or 0
    rows = session.scalars(
        select(ProjectedProposal)
        .where(where)
        .order_by(ProjectedProposal.block_number.desc(), ProjectedProposal.log_index.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    now, banks = _chain_now(runtime)
    counted = _counted_yes(runtime)
    items = [_proposal(row, now, banks, counted) for row in rows]
    next_offset = offset + len(items) if offset + len(items) < total else None
    return ProposalPage(
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        next_offset=next_offset,
        active_banks=banks,
    )


@router.get(
    "/proposals/{proposal_id}",
    response_model=ProposalDetail,
    responses={404: {}, 422: {}, **INDEXED_RESPONSES},
    description="One proposal with every vote (voter, support, block, transaction)." + INDEXED_NOTE,
)
def get_proposal(
    proposal_id: str,
    runtime: RuntimeDep,
    session: SessionDep,
    _indexed: IndexedDep,
    _principal: PrincipalDep,
) -> ProposalDetail:
    wanted = _parse_proposal_id(proposal_id)
    row = session.get(ProjectedProposal, (runtime.settings.chain_id, wanted))
    if row is None:
        raise ApiError(404, "UnknownProposal", f"no proposal {wanted} has been indexed")
    now, banks = _chain_now(runtime)
    shown = _proposal(row, now, banks, _counted_yes(runtime))
    return ProposalDetail(**shown.model_dump(), votes=[_vote(v) for v in row.votes])
