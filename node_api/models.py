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
