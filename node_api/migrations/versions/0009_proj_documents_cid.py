"""An index on a projected document's CID: verification by CID (`GET /v1/documents/{cid}/
verification`) looks documents up by it, and without the index the first lookup of each CID
scanned every anchored document.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_proj_documents_cid", "proj_documents", ["chain_id", "cid"])


def downgrade() -> None:
    op.drop_index("ix_proj_documents_cid", table_name="proj_documents")
