"""Loans with their state history: application, every state change, repayments, rate
updates and liquidation. The baseline score (taken by the contract at approval, in no event)
is the vehicle's latest indexed score before the approval."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from node_api.models import ProjectedLoan, ProjectedLoanState, ReportEntry
from node_api.projections.events import Event, label
from node_api.projections.keyed import KeyedModel, Rows
from vcl.contract_enums import LoanState

EVENTS = frozenset(
    {"LoanApplied", "LoanStateChanged", "RepaymentRecorded", "LoanRateUpdated", "LoanLiquidated"}
)


def score_before(session: Session, chain_id: int, vehicle_id: str, event: Event) -> int:
    """The vehicle's score as the chain held it when `event` was emitted (0: none indexed)."""
    score = session.scalar(
        select(ReportEntry.score)
        .where(
            ReportEntry.chain_id == chain_id,
            ReportEntry.vehicle_id == vehicle_id,
            or_(
                ReportEntry.block_number < event.block_number,
                and_(
                    ReportEntry.block_number == event.block_number,
                    ReportEntry.log_index < event.log_index,
                ),
            ),
        )
        .order_by(ReportEntry.block_number.desc(), ReportEntry.log_index.desc())
        .limit(1)
    )
    return int(score or 0)


def fold(session: Session, chain_id: int, loan_id: str, events: list[Event]) -> Rows:
    loan: dict[str, Any] | None = None
    history: list[dict[str, Any]] = []
    for event in events:
        if event.name == "LoanApplied":
            loan = {
                "chain_id": chain_id,
                "loan_id": loan_id,
                "vehicle_id": event.args["vehicleId"],
                "bank": event.args["bank"],
                "borrower_commitment": event.args["borrowerCommitment"],
                "state": LoanState.NONE.label,
                "principal": event.args["principal"],
                "repaid": "0",
                "amount_recovered": None,
                "base_rate_bps": event.int("baseRateBps"),
                "applied_rate_bps": event.int("baseRateBps"),
                "baseline_score": 0,
                "term_seconds": event.int("termSeconds"),
                "installment_interval_seconds": event.int("installmentInterval"),
                "applied_at": event.block_timestamp,
                "approved_at": None,
                "activated_at": None,
                "state_changed_at": event.block_timestamp,
                "transaction_hash": event.transaction_hash,
                "block_number": event.block_number,
                "log_index": event.log_index,
            }
        elif loan is None:
            continue  # applied before the index's first block: nothing to fold onto
        elif event.name == "LoanStateChanged":
            before, after = event.int("from"), event.int("to")
            history.append(
                {
                    "chain_id": chain_id,
                    "loan_id": loan_id,
                    "block_number": event.block_number,
                    "log_index": event.log_index,
                    "from_state": label(LoanState, before),
                    "to_state": label(LoanState, after),
                    "changed_at": event.block_timestamp,
                    "transaction_hash": event.transaction_hash,
                }
            )
            loan["state"] = label(LoanState, after)
            loan["state_changed_at"] = event.block_timestamp
            if after == LoanState.APPROVED:
                loan["approved_at"] = event.block_timestamp
                loan["applied_rate_bps"] = loan["base_rate_bps"]
                loan["baseline_score"] = score_before(session, chain_id, loan["vehicle_id"], event)
            elif after == LoanState.ACTIVE and before == LoanState.APPROVED:
                loan["activated_at"] = event.block_timestamp
        elif event.name == "RepaymentRecorded":
            loan["repaid"] = event.args["totalRepaid"]
        elif event.name == "LoanRateUpdated":
            loan["applied_rate_bps"] = event.int("newRateBps")
        elif event.name == "LoanLiquidated":
            loan["amount_recovered"] = event.args["amountRecovered"]
    if loan is None:
        return {}
    loan["changed_block"] = events[-1].block_number
    return {ProjectedLoan: [loan], ProjectedLoanState: history}


LOANS = KeyedModel(
    name="loans",
    events=EVENTS,
    column="loan_id",
    args_key=None,
    tables=((ProjectedLoan, "loan_id"), (ProjectedLoanState, "loan_id")),
    fold=fold,
)
