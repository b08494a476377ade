"""The salt of a review's reviewer commitment: the chain gets sha256(salt || person
reference), which a list of staff ids cannot be matched against; the node keeps the salt
so it can still show who reviewed. Reviews recorded before have none (unsalted sha256).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_review_comments") as batch:
        batch.add_column(sa.Column("reviewer_salt", sa.String(length=66), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_review_comments") as batch:
        batch.drop_column("reviewer_salt")
