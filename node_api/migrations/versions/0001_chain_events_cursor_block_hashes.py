"""Chain events, the indexer's cursor and the recent block hashes it checks for reorgs.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HASH = sa.String(length=66)
UINT256 = sa.String(length=78)


def upgrade() -> None:
    op.create_table(
        "chain_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("contract_name", sa.String(length=64), nullable=False),
        sa.Column("contract_address", sa.String(length=42), nullable=False),
        sa.Column("event_name", sa.String(length=64), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", HASH, nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("transaction_hash", HASH, nullable=False),
        sa.Column("transaction_index", sa.Integer(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column(
            "args",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("vehicle_id", HASH, nullable=True),
        sa.Column("loan_id", UINT256, nullable=True),
        sa.Column("alert_id", UINT256, nullable=True),
        sa.Column("document_id", HASH, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_events")),
        sa.UniqueConstraint("transaction_hash", "log_index", name="uq_chain_events_tx_log"),
    )
    op.create_index("ix_chain_events_chain_block", "chain_events", ["chain_id", "block_number"])
    for column in ("event_name", "vehicle_id", "loan_id", "alert_id", "document_id"):
        op.create_index(op.f(f"ix_chain_events_{column}"), "chain_events", [column])

    op.create_table(
        "index_cursor",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", HASH, nullable=False),
        sa.PrimaryKeyConstraint("chain_id", name=op.f("pk_index_cursor")),
    )
    op.create_table(
        "block_hashes",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_hash", HASH, nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "block_number", name=op.f("pk_block_hashes")),
    )


def downgrade() -> None:
    op.drop_table("block_hashes")
    op.drop_table("index_cursor")
    op.drop_table("chain_events")
