"""The vehicle list's order as an index: registrations of a chain by block and log, so that a
page and the total are read from the index instead of sorting and checking every event.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_chain_events_event_order",
        "chain_events",
        ["chain_id", "event_name", "block_number", "log_index"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_chain_events_event_order", table_name="chain_events")
