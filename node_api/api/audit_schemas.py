"""Response bodies of the audit and consortium endpoints: chain data only (no borrower or
owner reference, no review comment), times ISO 8601 UTC, uint256 values as decimal text."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class AuditEvent(BaseModel):
    contract: str = Field(description="VehicleRegistry, LoanManager, ConditionOracle, Consortium")
    contract_address: str
    event: str
    block_number: int
    block_time: str
    tx_hash: str
    log_index: int
    args: dict[str, Any] = Field(
        description="Every event argument as indexed: integers as decimal text, bytes as 0x hex"
    )


class AuditDocument(BaseModel):
    cid: str
    doc_type: str
    verification: dict[str, Any] = Field(
        description="A fresh verification: the body of GET /v1/documents/{cid}/verification"
    )


class VehicleHistory(BaseModel):
    vin: str
    vehicle_id: str
    indexed_block: int | None = Field(description="The history holds events up to this block")
    events: list[AuditEvent] = Field(
        description="The vehicle's events, its alerts' and its loans', oldest first"
    )
    documents: list[AuditDocument]


class LoanHistory(BaseModel):
    loan_id: str
    vin: str | None = Field(description="Only when this node registered the vehicle")
    vehicle_id: str
    indexed_block: int | None = Field(description="The history holds events up to this block")
    events: list[AuditEvent] = Field(description="The loan's events and its alerts', oldest first")
    documents: list[AuditDocument] = Field(description="The documents of the loan's vehicle")


class Member(BaseModel):
    address: str
    kind: str = Field(description="Bank, Auditor, OracleOperator or DocumentIssuer")
    status: str = Field(description="Active, Suspended or Removed")
    roles: list[str] = Field(description="Roles held now: the kind's role, only while Active")
    name: str | None = Field(
        description="The institution's name when this node knows the one behind name_hash"
    )
    name_hash: str
    joined_block: int
    joined_at: str
    status_changed_block: int


class MemberList(BaseModel):
    indexed_block: int | None
    items: list[Member]


class ProposalAction(BaseModel):
    action_type: str = Field(
        description="AdmitMember, SuspendMember, ReinstateMember, RemoveMember, SetParameter, "
        "SetModelApproval, ReleaseLien, Reappraise, RevokeIssuerDocuments or UpgradeContract"
    )
    account: str
    kind: str
    key: str
    key_name: str | None = Field(
        description="The parameter or institution name behind `key`, when this node knows it"
    )
    value: str


class Vote(BaseModel):
    voter: str
    support: bool
    block_number: int
    block_time: str
    tx_hash: str


class Proposal(BaseModel):
    proposal_id: str
    action: ProposalAction
    proposer: str
    status: str = Field(
        description="open (being voted), passed (enough yes-votes to execute now), executed "
        "or expired (deadline passed unexecuted)"
    )
    votes_for: int
    votes_against: int
    deadline: str
    created_block: int
    created_tx_hash: str
    executed_block: int | None
    executed_tx_hash: str | None


class ProposalDetail(Proposal):
    votes: list[Vote] = Field(description="Oldest first")


class ProposalPage(BaseModel):
    items: list[Proposal] = Field(description="Newest first")
    total: int
    limit: int
    offset: int
    next_offset: int | None
    active_banks: int = Field(description="A proposal passes with more yes-votes than half this")
