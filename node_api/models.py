"""Database tables of the node (SQLAlchemy 2.0 typed models); changed only through Alembic.

Hashes and addresses are stored as 0x-prefixed hex text, uint256 values as decimal text:
exact on every backend, whatever their size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Constraint names fixed by convention, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

HASH_LENGTH = 66  # "0x" + 64 hex digits
ADDRESS_LENGTH = 42
UINT256_DIGITS = 78

# SQLite makes only an INTEGER PRIMARY KEY auto-increment.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")
JsonDocument = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ChainEvent(Base):
    """One log of one of the consortium's contracts, decoded with the contract's ABI."""

    __tablename__ = "chain_events"
    __table_args__ = (
        UniqueConstraint("transaction_hash", "log_index", name="uq_chain_events_tx_log"),
        Index("ix_chain_events_chain_block", "chain_id", "block_number"),
        # The loan and alert lists: a kind of event per loan / alert, newest last.
        Index("ix_chain_events_event_loan", "event_name", "loan_id"),
        Index("ix_chain_events_event_alert", "event_name", "alert_id"),
        # The vehicle list: one kind of event of a chain in chain order, paged and counted.
        Index("ix_chain_events_event_order", "chain_id", "event_name", "block_number", "log_index"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    contract_name: Mapped[str] = mapped_column(String(64))
    contract_address: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    event_name: Mapped[str] = mapped_column(String(64), index=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    block_timestamp: Mapped[int] = mapped_column(BigInteger)  # unix seconds, UTC
    transaction_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    transaction_index: Mapped[int] = mapped_column(Integer)
    log_index: Mapped[int] = mapped_column(Integer)
    # Every argument by name: ints as decimal strings, bytes as 0x hex, addresses checksummed.
    args: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    # Copies of the arguments the API looks events up by, where the event carries them.
    vehicle_id: Mapped[str | None] = mapped_column(String(HASH_LENGTH), index=True)
    loan_id: Mapped[str | None] = mapped_column(String(UINT256_DIGITS), index=True)
    alert_id: Mapped[str | None] = mapped_column(String(UINT256_DIGITS), index=True)
    document_id: Mapped[str | None] = mapped_column(String(HASH_LENGTH), index=True)


class IndexCursor(Base):
    """The last block whose events are all in `chain_events`, per chain."""

    __tablename__ = "index_cursor"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class BlockHash(Base):
    """Hashes of recently indexed blocks: where the chain still agrees is the fork point."""

    __tablename__ = "block_hashes"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    block_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class ApiKey(Base):
    """An API key of one person of this institution; only the sha256 of the token is kept."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    person_ref: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LocalVehicle(Base):
    """What only this node knows about a vehicle it registered: the plain VIN and the owner
    reference behind the on-chain commitment (with the commitment's salt)."""

    __tablename__ = "local_vehicles"

    vehicle_id: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    vin: Mapped[str] = mapped_column(String(17), unique=True)
    owner_ref: Mapped[str] = mapped_column(String(256))
    owner_salt: Mapped[str] = mapped_column(String(HASH_LENGTH))
    owner_commitment: Mapped[str] = mapped_column(String(HASH_LENGTH))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IdempotencyRecord(Base):
    """A POST made with an `Idempotency-Key`: the request's hash and, once done, its answer."""

    __tablename__ = "idempotency_records"
    __table_args__ = (PrimaryKeyConstraint("api_key_id", "idempotency_key"),)

    api_key_id: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while in progress
    response: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The process run that claimed it (`idempotency.BOOT_ID`); another boot's claim is dead.
    boot_id: Mapped[str | None] = mapped_column(String(32))


class LocalLoan(Base):
    """What only this node knows about a loan it applied for: the borrower reference behind
    the on-chain commitment (with the commitment's salt)."""

    __tablename__ = "local_loans"

    loan_id: Mapped[str] = mapped_column(String(UINT256_DIGITS), primary_key=True)
    vehicle_id: Mapped[str] = mapped_column(String(HASH_LENGTH), index=True)
    borrower_ref: Mapped[str] = mapped_column(String(256))
    borrower_salt: Mapped[str] = mapped_column(String(HASH_LENGTH))
    borrower_commitment: Mapped[str] = mapped_column(String(HASH_LENGTH))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PendingLoan(Base):
    """A loan application this node is sending: the borrower reference, written before the
    transaction, keyed by the commitment that goes on-chain. Moved to `local_loans` once the
    loan id is known (from the receipt, or later from the indexed `LoanApplied` event), so a
    database failure after the transaction loses nothing."""

    __tablename__ = "pending_loans"

    borrower_commitment: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    vehicle_id: Mapped[str] = mapped_column(String(HASH_LENGTH))
    borrower_ref: Mapped[str] = mapped_column(String(256))
    borrower_salt: Mapped[str] = mapped_column(String(HASH_LENGTH))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlertReviewComment(Base):
    """A review this node recorded on-chain: the comment in clear (the chain has its sha256)."""

    __tablename__ = "alert_review_comments"

    alert_id: Mapped[str] = mapped_column(String(UINT256_DIGITS), primary_key=True)
    decision: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(String(4000))
    comment_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    reviewer_ref: Mapped[str] = mapped_column(String(HASH_LENGTH))
    # The salt of `reviewer_ref` (None: a review recorded before reviews were salted).
    reviewer_salt: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    api_key_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- Read models (projections) -------------------------------------------------------------
# Written by the indexer in the transaction that moves its cursor, and only by it; a pure
# fold of `chain_events` (and of `report_entries`, the decoded report calldata), so any of
# them can be dropped and rebuilt (`node_api.projections`). Enum values are stored by the
# contract's name for them ("Approved", "Bank"), never as numbers alone.


class IndexedTimestamp(Base):
    """The timestamp of the cursor's block: the "now" of answers computed from the index
    (a loan's current rate needs the time to judge a score's freshness)."""

    __tablename__ = "indexed_timestamps"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_timestamp: Mapped[int] = mapped_column(BigInteger)


class ReportEntry(Base):
    """One vehicle's entry of an accepted oracle report, decoded from the `submitReport`
    calldata of the transaction that emitted `ReportAccepted` (no event carries it). Part of
    the raw index like `chain_events`: written and rewound with it."""

    __tablename__ = "report_entries"
    __table_args__ = (
        PrimaryKeyConstraint("chain_id", "transaction_hash", "vehicle_id"),
        Index("ix_report_entries_chain_block", "chain_id", "block_number"),
        Index("ix_report_entries_vehicle", "chain_id", "vehicle_id", "block_number"),
    )

    chain_id: Mapped[int] = mapped_column(BigInteger)
    transaction_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    vehicle_id: Mapped[str] = mapped_column(String(HASH_LENGTH))
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)  # of the report's `ReportAccepted`
    block_timestamp: Mapped[int] = mapped_column(BigInteger)
    round_id: Mapped[int] = mapped_column(BigInteger)
    model_version: Mapped[str] = mapped_column(String(HASH_LENGTH))
    observed_at: Mapped[int] = mapped_column(BigInteger)
    score: Mapped[int] = mapped_column(Integer)
    estimated_value: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    indicators: Mapped[list[int]] = mapped_column(JsonDocument)


class ProjectedVehicle(Base):
    """A registered vehicle: registration, latest appraisal and owner commitment, and the
    lien in force (if any)."""

    __tablename__ = "proj_vehicles"
    __table_args__ = (
        PrimaryKeyConstraint("chain_id", "vehicle_id"),
        Index("ix_proj_vehicles_order", "chain_id", "block_number", "log_index"),
    )

    chain_id: Mapped[int] = mapped_column(BigInteger)
    vehicle_id: Mapped[str] = mapped_column(String(HASH_LENGTH))
    registered_by: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), index=True)
    registered_at: Mapped[int] = mapped_column(BigInteger)
    owner_commitment: Mapped[str] = mapped_column(String(HASH_LENGTH))
    appraisal_at_registration: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    appraisal_value: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    appraised_at: Mapped[int] = mapped_column(BigInteger)
    lien_loan_id: Mapped[str | None] = mapped_column(String(UINT256_DIGITS))
    lien_bank: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH))
    lien_placed_at: Mapped[int | None] = mapped_column(BigInteger)
    transaction_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    changed_block: Mapped[int] = mapped_column(BigInteger)  # block of its newest event


class ProjectedLien(Base):
    """Every lien ever placed, by its loan: in force while `released_at` is None."""

    __tablename__ = "proj_liens"
    __table_args__ = (PrimaryKeyConstraint("chain_id", "loan_id"),)

    chain_id: Mapped[int] = mapped_column(BigInteger)
    loan_id: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    vehicle_id: Mapped[str] = mapped_column(String(HASH_LENGTH), index=True)
    bank: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    placed_at: Mapped[int] = mapped_column(BigInteger)
    placed_block: Mapped[int] = mapped_column(BigInteger)
    released_at: Mapped[int | None] = mapped_column(BigInteger)
    released_block: Mapped[int | None] = mapped_column(BigInteger)


class ProjectedLoan(Base):
    """A loan as its events leave it (the figures that change with time are computed at
    read time from these and the index's time)."""

    __tablename__ = "proj_loans"
    __table_args__ = (
        PrimaryKeyConstraint("chain_id", "loan_id"),
        Index("ix_proj_loans_order", "chain_id", "block_number", "log_index"),
        Index("ix_proj_loans_state", "chain_id", "state"),
    )

    chain_id: Mapped[int] = mapped_column(BigInteger)
    loan_id: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    vehicle_id: Mapped[str] = mapped_column(String(HASH_LENGTH), index=True)
    bank: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), index=True)
    borrower_commitment: Mapped[str] = mapped_column(String(HASH_LENGTH))
    state: Mapped[str] = mapped_column(String(32))
    principal: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    repaid: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    amount_recovered: Mapped[str | None] = mapped_column(String(UINT256_DIGITS))
    base_rate_bps: Mapped[int] = mapped_column(BigInteger)
    applied_rate_bps: Mapped[int] = mapped_column(BigInteger)
    baseline_score: Mapped[int] = mapped_column(Integer)
    term_seconds: Mapped[int] = mapped_column(BigInteger)
    installment_interval_seconds: Mapped[int] = mapped_column(BigInteger)
    applied_at: Mapped[int] = mapped_column(BigInteger)
    approved_at: Mapped[int | None] = mapped_column(BigInteger)
    activated_at: Mapped[int | None] = mapped_column(BigInteger)
    state_changed_at: Mapped[int] = mapped_column(BigInteger)
    transaction_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    changed_block: Mapped[int] = mapped_column(BigInteger)


class ProjectedLoanState(Base):
    """One state change of a loan (`LoanStateChanged`), oldest first by block and log."""

    __tablename__ = "proj_loan_states"
    __table_args__ = (PrimaryKeyConstraint("chain_id", "loan_id", "block_number", "log_index"),)

    chain_id: Mapped[int] = mapped_column(BigInteger)
    loan_id: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    from_state: Mapped[str] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[int] = mapped_column(BigInteger)
    transaction_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class ProjectedScore(Base):
    """One vehicle's score of one round, with its indicators explained and the threshold and
    appraisal in force at its block (from the indexed events before it)."""

    __tablename__ = "proj_scores"
    __table_args__ = (
        PrimaryKeyConstraint("chain_id", "vehicle_id", "block_number", "log_index"),
        Index("ix_proj_scores_block", "chain_id", "block_number"),
    )

    chain_id: Mapped[int] = mapped_column(BigInteger)
    vehicle_id: Mapped[str] = mapped_column(String(HASH_LENGTH))
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    round_id: Mapped[int] = mapped_column(BigInteger)
    observed_at: Mapped[int] = mapped_column(BigInteger)
    block_timestamp: Mapped[int] = mapped_column(BigInteger)
    transaction_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    model_version: Mapped[str] = mapped_column(String(HASH_LENGTH))
    model_status: Mapped[str] = mapped_column(String(32))
    score: Mapped[int] = mapped_column(Integer)
    estimated_value: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    # [{"name", "value", "weight_bps", "contribution"}], the 12 indicators in model order
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    threshold_bps: Mapped[int | None] = mapped_column(BigInteger)
    hysteresis_bps: Mapped[int | None] = mapped_column(BigInteger)
    appraisal: Mapped[str | None] = mapped_column(String(UINT256_DIGITS))


class ProjectedAlert(Base):
    """A value alert: raised, how it ended (if it did), and its review (if any)."""

    __tablename__ = "proj_alerts"
    __table_args__ = (
        PrimaryKeyConstraint("chain_id", "alert_id"),
        Index("ix_proj_alerts_order", "chain_id", "block_number", "log_index"),
    )

    chain_id: Mapped[int] = mapped_column(BigInteger)
    alert_id: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    vehicle_id: Mapped[str] = mapped_column(String(HASH_LENGTH), index=True)
    bank: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), index=True)
    loan_id: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    status: Mapped[str] = mapped_column(String(32))
    round_id: Mapped[int] = mapped_column(BigInteger)
    threshold_bps: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    appraisal: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    raised_at: Mapped[int] = mapped_column(BigInteger)
    closed_round_id: Mapped[int | None] = mapped_column(BigInteger)
    review_decision: Mapped[str | None] = mapped_column(String(32))
    reviewer_ref: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    comment_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    reviewed_at: Mapped[int | None] = mapped_column(BigInteger)
    review_transaction_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    transaction_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    changed_block: Mapped[int] = mapped_column(BigInteger)


class ProjectedDocument(Base):
    """An anchored document and whether its issuer revoked it (the cutoff of a governance
    revocation of all an issuer's documents is applied at read time)."""

    __tablename__ = "proj_documents"
    __table_args__ = (
        PrimaryKeyConstraint("chain_id", "document_id"),
        # Verification by CID looks documents up by it (migration 0009).
        Index("ix_proj_documents_cid", "chain_id", "cid"),
    )

    chain_id: Mapped[int] = mapped_column(BigInteger)
    document_id: Mapped[str] = mapped_column(String(HASH_LENGTH))
    vehicle_id: Mapped[str] = mapped_column(String(HASH_LENGTH), index=True)
    issuer: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), index=True)
    doc_type: Mapped[str] = mapped_column(String(32))
    cid: Mapped[str] = mapped_column(String(256))
    content_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    issued_at: Mapped[int] = mapped_column(BigInteger)
    anchored_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    transaction_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    changed_block: Mapped[int] = mapped_column(BigInteger)


class ProjectedMember(Base):
    """A consortium member: kind and status by the contract's names."""

    __tablename__ = "proj_members"
    __table_args__ = (PrimaryKeyConstraint("chain_id", "account"),)

    chain_id: Mapped[int] = mapped_column(BigInteger)
    account: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    name_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    admitted_at: Mapped[int] = mapped_column(BigInteger)
    admitted_block: Mapped[int] = mapped_column(BigInteger)
    admitted_log_index: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[int] = mapped_column(BigInteger)
    changed_block: Mapped[int] = mapped_column(BigInteger)


class ProjectedProposal(Base):
    """A governance proposal with its votes (as the last vote's counts) and execution."""

    __tablename__ = "proj_proposals"
    __table_args__ = (PrimaryKeyConstraint("chain_id", "proposal_id"),)

    chain_id: Mapped[int] = mapped_column(BigInteger)
    proposal_id: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    proposer: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    action_type: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(HASH_LENGTH))
    value: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    deadline: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    yes_votes: Mapped[int] = mapped_column(BigInteger)
    no_votes: Mapped[int] = mapped_column(BigInteger)
    # [{"voter", "support", "at", "transaction_hash"}], in chain order
    votes: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    executed_at: Mapped[int | None] = mapped_column(BigInteger)
    executed_block: Mapped[int | None] = mapped_column(BigInteger)
    executed_transaction_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    executor: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH))
    transaction_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    changed_block: Mapped[int] = mapped_column(BigInteger)


class ProjectedParameter(Base):
    """A governed parameter's value now, by its key's name where this node knows it."""

    __tablename__ = "proj_parameters"
    __table_args__ = (PrimaryKeyConstraint("chain_id", "key"),)

    chain_id: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(HASH_LENGTH))
    name: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(UINT256_DIGITS))
    changed_at: Mapped[int] = mapped_column(BigInteger)
    changed_block: Mapped[int] = mapped_column(BigInteger)
