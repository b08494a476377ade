"""The node's own loans (borrower reference) and the comments of its alert reviews.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HASH = sa.String(length=66)
UINT256 = sa.String(length=78)


def upgrade() -> None:
    op.create_table(
        "local_loans",
        sa.Column("loan_id", UINT256, nullable=False),
        sa.Column("vehicle_id", HASH, nullable=False),
        sa.Column("borrower_ref", sa.String(length=256), nullable=False),
        sa.Column("borrower_salt", HASH, nullable=False),
        sa.Column("borrower_commitment", HASH, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("loan_id", name=op.f("pk_local_loans")),
    )
    op.create_index(op.f("ix_local_loans_vehicle_id"), "local_loans", ["vehicle_id"], unique=False)
    op.create_table(
        "alert_review_comments",
        sa.Column("alert_id", UINT256, nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("comment", sa.String(length=4000), nullable=False),
        sa.Column("comment_hash", HASH, nullable=False),
        sa.Column("reviewer_ref", HASH, nullable=False),
        sa.Column("api_key_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alert_review_comments")),
    )


def downgrade() -> None:
    op.drop_table("alert_review_comments")
    op.drop_index(op.f("ix_local_loans_vehicle_id"), table_name="local_loans")
    op.drop_table("local_loans")
