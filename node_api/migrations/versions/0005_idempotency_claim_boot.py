"""The boot (process run) that claimed each in-progress idempotency record, so a retry after
a crash can take over a claim whose process is gone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: records claimed before this revision belong to no running boot.
    with op.batch_alter_table("idempotency_records") as batch:
        batch.add_column(sa.Column("boot_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_records") as batch:
        batch.drop_column("boot_id")
