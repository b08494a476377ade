"""Read models: the projections the indexer writes with its cursor (vehicles, liens, loans
and their state changes, scores with explained indicators, alerts with reviews, documents,
members, proposals, parameters), the decoded report entries they fold, and the timestamp of
the indexed block. Existing events are folded into them by `vcl node rebuild-projections`
(the indexer does it at its next step when the tables are empty and events exist).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "indexed_timestamps",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", name=op.f("pk_indexed_timestamps")),
    )
    op.create_table(
        "proj_alerts",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("alert_id", sa.String(length=78), nullable=False),
        sa.Column("vehicle_id", sa.String(length=66), nullable=False),
        sa.Column("bank", sa.String(length=42), nullable=False),
        sa.Column("loan_id", sa.String(length=78), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("round_id", sa.BigInteger(), nullable=False),
        sa.Column("threshold_bps", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.String(length=78), nullable=False),
        sa.Column("appraisal", sa.String(length=78), nullable=False),
        sa.Column("raised_at", sa.BigInteger(), nullable=False),
        sa.Column("closed_round_id", sa.BigInteger(), nullable=True),
        sa.Column("review_decision", sa.String(length=32), nullable=True),
        sa.Column("reviewer_ref", sa.String(length=66), nullable=True),
        sa.Column("comment_hash", sa.String(length=66), nullable=True),
        sa.Column("reviewed_at", sa.BigInteger(), nullable=True),
        sa.Column("review_transaction_hash", sa.String(length=66), nullable=True),
        sa.Column("transaction_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("changed_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "alert_id", name=op.f("pk_proj_alerts")),
    )
    with op.batch_alter_table("proj_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proj_alerts_bank"), ["bank"], unique=False)
        batch_op.create_index(
            "ix_proj_alerts_order", ["chain_id", "block_number", "log_index"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_proj_alerts_vehicle_id"), ["vehicle_id"], unique=False)

    op.create_table(
        "proj_documents",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("document_id", sa.String(length=66), nullable=False),
        sa.Column("vehicle_id", sa.String(length=66), nullable=False),
        sa.Column("issuer", sa.String(length=42), nullable=False),
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("cid", sa.String(length=256), nullable=False),
        sa.Column("content_hash", sa.String(length=66), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("anchored_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("transaction_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("changed_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "document_id", name=op.f("pk_proj_documents")),
    )
    with op.batch_alter_table("proj_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proj_documents_issuer"), ["issuer"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_proj_documents_vehicle_id"), ["vehicle_id"], unique=False
        )

    op.create_table(
        "proj_liens",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("loan_id", sa.String(length=78), nullable=False),
        sa.Column("vehicle_id", sa.String(length=66), nullable=False),
        sa.Column("bank", sa.String(length=42), nullable=False),
        sa.Column("placed_at", sa.BigInteger(), nullable=False),
        sa.Column("placed_block", sa.BigInteger(), nullable=False),
        sa.Column("released_at", sa.BigInteger(), nullable=True),
        sa.Column("released_block", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("chain_id", "loan_id", name=op.f("pk_proj_liens")),
    )
    with op.batch_alter_table("proj_liens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proj_liens_vehicle_id"), ["vehicle_id"], unique=False)

    op.create_table(
        "proj_loan_states",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("loan_id", sa.String(length=78), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=False),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
        sa.Column("transaction_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint(
            "chain_id", "loan_id", "block_number", "log_index", name=op.f("pk_proj_loan_states")
        ),
    )
    op.create_table(
        "proj_loans",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("loan_id", sa.String(length=78), nullable=False),
        sa.Column("vehicle_id", sa.String(length=66), nullable=False),
        sa.Column("bank", sa.String(length=42), nullable=False),
        sa.Column("borrower_commitment", sa.String(length=66), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("principal", sa.String(length=78), nullable=False),
        sa.Column("repaid", sa.String(length=78), nullable=False),
        sa.Column("amount_recovered", sa.String(length=78), nullable=True),
        sa.Column("base_rate_bps", sa.BigInteger(), nullable=False),
        sa.Column("applied_rate_bps", sa.BigInteger(), nullable=False),
        sa.Column("baseline_score", sa.Integer(), nullable=False),
        sa.Column("term_seconds", sa.BigInteger(), nullable=False),
        sa.Column("installment_interval_seconds", sa.BigInteger(), nullable=False),
        sa.Column("applied_at", sa.BigInteger(), nullable=False),
        sa.Column("approved_at", sa.BigInteger(), nullable=True),
        sa.Column("activated_at", sa.BigInteger(), nullable=True),
        sa.Column("state_changed_at", sa.BigInteger(), nullable=False),
        sa.Column("transaction_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("changed_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "loan_id", name=op.f("pk_proj_loans")),
    )
    with op.batch_alter_table("proj_loans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proj_loans_bank"), ["bank"], unique=False)
        batch_op.create_index(
            "ix_proj_loans_order", ["chain_id", "block_number", "log_index"], unique=False
        )
        batch_op.create_index("ix_proj_loans_state", ["chain_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_proj_loans_vehicle_id"), ["vehicle_id"], unique=False)

    op.create_table(
        "proj_members",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("name_hash", sa.String(length=66), nullable=False),
        sa.Column("admitted_at", sa.BigInteger(), nullable=False),
        sa.Column("admitted_block", sa.BigInteger(), nullable=False),
        sa.Column("admitted_log_index", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
        sa.Column("changed_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "account", name=op.f("pk_proj_members")),
    )
    op.create_table(
        "proj_parameters",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=66), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("value", sa.String(length=78), nullable=False),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
        sa.Column("changed_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "key", name=op.f("pk_proj_parameters")),
    )
    op.create_table(
        "proj_proposals",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("proposal_id", sa.String(length=78), nullable=False),
        sa.Column("proposer", sa.String(length=42), nullable=False),
        sa.Column("action_type", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=66), nullable=False),
        sa.Column("value", sa.String(length=78), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("yes_votes", sa.BigInteger(), nullable=False),
        sa.Column("no_votes", sa.BigInteger(), nullable=False),
        sa.Column(
            "votes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("executed_at", sa.BigInteger(), nullable=True),
        sa.Column("executed_block", sa.BigInteger(), nullable=True),
        sa.Column("executed_transaction_hash", sa.String(length=66), nullable=True),
        sa.Column("executor", sa.String(length=42), nullable=True),
        sa.Column("transaction_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("changed_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "proposal_id", name=op.f("pk_proj_proposals")),
    )
    op.create_table(
        "proj_scores",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("vehicle_id", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.BigInteger(), nullable=False),
        sa.Column("observed_at", sa.BigInteger(), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("transaction_hash", sa.String(length=66), nullable=False),
        sa.Column("model_version", sa.String(length=66), nullable=False),
        sa.Column("model_status", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("estimated_value", sa.String(length=78), nullable=False),
        sa.Column(
            "indicators",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("threshold_bps", sa.BigInteger(), nullable=True),
        sa.Column("hysteresis_bps", sa.BigInteger(), nullable=True),
        sa.Column("appraisal", sa.String(length=78), nullable=True),
        sa.PrimaryKeyConstraint(
            "chain_id", "vehicle_id", "block_number", "log_index", name=op.f("pk_proj_scores")
        ),
    )
    with op.batch_alter_table("proj_scores", schema=None) as batch_op:
        batch_op.create_index("ix_proj_scores_block", ["chain_id", "block_number"], unique=False)

    op.create_table(
        "proj_vehicles",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("vehicle_id", sa.String(length=66), nullable=False),
        sa.Column("registered_by", sa.String(length=42), nullable=False),
        sa.Column("registered_at", sa.BigInteger(), nullable=False),
        sa.Column("owner_commitment", sa.String(length=66), nullable=False),
        sa.Column("appraisal_at_registration", sa.String(length=78), nullable=False),
        sa.Column("appraisal_value", sa.String(length=78), nullable=False),
        sa.Column("appraised_at", sa.BigInteger(), nullable=False),
        sa.Column("lien_loan_id", sa.String(length=78), nullable=True),
        sa.Column("lien_bank", sa.String(length=42), nullable=True),
        sa.Column("lien_placed_at", sa.BigInteger(), nullable=True),
        sa.Column("transaction_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("changed_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "vehicle_id", name=op.f("pk_proj_vehicles")),
    )
    with op.batch_alter_table("proj_vehicles", schema=None) as batch_op:
        batch_op.create_index(
            "ix_proj_vehicles_order", ["chain_id", "block_number", "log_index"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_proj_vehicles_registered_by"), ["registered_by"], unique=False
        )

    op.create_table(
        "report_entries",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("transaction_hash", sa.String(length=66), nullable=False),
        sa.Column("vehicle_id", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("round_id", sa.BigInteger(), nullable=False),
        sa.Column("model_version", sa.String(length=66), nullable=False),
        sa.Column("observed_at", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("estimated_value", sa.String(length=78), nullable=False),
        sa.Column(
            "indicators",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint(
            "chain_id", "transaction_hash", "vehicle_id", name=op.f("pk_report_entries")
        ),
    )
    with op.batch_alter_table("report_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_entries_chain_block", ["chain_id", "block_number"], unique=False
        )
        batch_op.create_index(
            "ix_report_entries_vehicle", ["chain_id", "vehicle_id", "block_number"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("report_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_report_entries_vehicle")
        batch_op.drop_index("ix_report_entries_chain_block")

    op.drop_table("report_entries")
    with op.batch_alter_table("proj_vehicles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proj_vehicles_registered_by"))
        batch_op.drop_index("ix_proj_vehicles_order")

    op.drop_table("proj_vehicles")
    with op.batch_alter_table("proj_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_proj_scores_block")

    op.drop_table("proj_scores")
    op.drop_table("proj_proposals")
    op.drop_table("proj_parameters")
    op.drop_table("proj_members")
    with op.batch_alter_table("proj_loans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proj_loans_vehicle_id"))
        batch_op.drop_index("ix_proj_loans_state")
        batch_op.drop_index("ix_proj_loans_order")
        batch_op.drop_index(batch_op.f("ix_proj_loans_bank"))

    op.drop_table("proj_loans")
    op.drop_table("proj_loan_states")
    with op.batch_alter_table("proj_liens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proj_liens_vehicle_id"))

    op.drop_table("proj_liens")
    with op.batch_alter_table("proj_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proj_documents_vehicle_id"))
        batch_op.drop_index(batch_op.f("ix_proj_documents_issuer"))

    op.drop_table("proj_documents")
    with op.batch_alter_table("proj_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proj_alerts_vehicle_id"))
        batch_op.drop_index("ix_proj_alerts_order")
        batch_op.drop_index(batch_op.f("ix_proj_alerts_bank"))

    op.drop_table("proj_alerts")
    op.drop_table("indexed_timestamps")
