"""Loan applications in flight (borrower reference written before the transaction), and
indexes for the loan and alert lists read from `chain_events`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HASH = sa.String(length=66)


def upgrade() -> None:
    op.create_table(
        "pending_loans",
        sa.Column("borrower_commitment", HASH, nullable=False),
        sa.Column("vehicle_id", HASH, nullable=False),
        sa.Column("borrower_ref", sa.String(length=256), nullable=False),
        sa.Column("borrower_salt", HASH, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("borrower_commitment", name=op.f("pk_pending_loans")),
    )
    op.create_index(
        "ix_chain_events_event_loan", "chain_events", ["event_name", "loan_id"], unique=False
    )
    op.create_index(
        "ix_chain_events_event_alert", "chain_events", ["event_name", "alert_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_chain_events_event_alert", table_name="chain_events")
    op.drop_index("ix_chain_events_event_loan", table_name="chain_events")
    op.drop_table("pending_loans")
