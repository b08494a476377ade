"""This bank's portfolio: its book at a glance, answered from the read models
(`node_api.projections.portfolio`) as of the indexed block's time; no chain call."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from node_api.api.deps import PrincipalDep, RuntimeDep, SessionDep
from node_api.api.indexed import INDEXED_NOTE, INDEXED_RESPONSES, IndexedDep
from node_api.projections.portfolio import AGE_BUCKETS, BOOK_STATES, LTV_BUCKETS, portfolio
from vcl.error_messages import CURRENCY
from vcl.timestamps import iso

router = APIRouter(prefix="/v1/portfolio", tags=["portfolio"])

MAX_DAYS = 366
BOOK = ", ".join(BOOK_STATES)
SEGMENTS_NOTE = (
    "The index holds no segment of a vehicle (no make, model, type or use is registered "
    "on-chain), so the book is not split by segment."
)


class PortfolioTotals(BaseModel):
    loans: int = Field(description="Every loan this bank applied for, in any state")
    book_loans: int = Field(description=f"Loans on the book: disbursed and not ended ({BOOK})")
    exposure: int = Field(
        description="Outstanding principal of the book, principal - repaid, in minor units"
    )


class PortfolioState(BaseModel):
    state: str = Field(description="The loan state, by the contract's name")
    loans: int = Field(description="Loans in this state")
    principal: int = Field(description="Their principal, minor units")
    outstanding: int = Field(description="Their principal - repaid, minor units")
    exposure: int = Field(
        description=f"What the bank has out: `outstanding` for the book's states ({BOOK}), "
        "0 for loans never disbursed or ended"
    )


class LtvBucket(BaseModel):
    bucket: str = Field(
        description="Outstanding / estimated value: "
        + ", ".join(label for label, _ in LTV_BUCKETS)
        + " (upper bounds inclusive)"
    )
    loans: int = Field(description="Loans of the book in the bucket")
    exposure: int = Field(description="Their outstanding principal, minor units")


class LoanToValueSpread(BaseModel):
    loans: int = Field(description=f"Loans of the book ({BOOK}) judged")
    buckets: list[LtvBucket] = Field(
        description="Loan-to-value of each, outstanding over the estimated value of the "
        "vehicle's latest indexed score"
    )
    no_valuation_loans: int = Field(description="Loans whose vehicle has no indexed valuation")
    no_valuation_exposure: int = Field(description="Their outstanding principal, minor units")


class AlertAgeBucket(BaseModel):
    bucket: str = Field(
        description="Time since raised, to the indexed block's time: "
        + ", ".join(label for label, _ in AGE_BUCKETS)
    )
    alerts: int = Field(description="Open alerts of this age")
    unreviewed: int = Field(description="Of which no review was recorded")


class PortfolioAlerts(BaseModel):
    open: int = Field(description="This bank's value alerts still open")
    unreviewed: int = Field(description="Open alerts waiting for this bank's review")
    by_age: list[AlertAgeBucket] = Field(description="Open alerts by age since raised")


class PortfolioDay(BaseModel):
    date: str = Field(description="The UTC day (ISO 8601 date); figures at its end")
    book_loans: int = Field(description=f"Loans on the book ({BOOK}) at the day's end")
    book_exposure: int = Field(description="Their outstanding principal, minor units")
    overdue_loans: int = Field(description="Of which Overdue")
    overdue_exposure: int = Field(description="Outstanding principal of the Overdue loans")
    defaulted_loans: int = Field(description="Of which Defaulted")
    defaulted_exposure: int = Field(description="Outstanding principal of the Defaulted loans")
    overdue_share_bps: int | None = Field(
        description="overdue_loans / book_loans in basis points (rounded down); null on an "
        "empty book"
    )
    overdue_exposure_share_bps: int | None = Field(
        description="overdue_exposure / book_exposure in basis points; null without exposure"
    )
    defaulted_share_bps: int | None = Field(
        description="defaulted_loans / book_loans in basis points; null on an empty book"
    )
    defaulted_exposure_share_bps: int | None = Field(
        description="defaulted_exposure / book_exposure in basis points; null without exposure"
    )


class PortfolioView(BaseModel):
    """One bank's book from this node's index."""

    bank: str = Field(description="The lender: this node's institution")
    currency: str = Field(description="The currency of every amount (integer minor units)")
    as_of: str | None = Field(
        description="The indexed block's time (ISO 8601 UTC) the figures are computed at"
    )
    indexed_block: int | None = Field(description="The block this node's index had reached")
    totals: PortfolioTotals
    by_state: list[PortfolioState] = Field(description="Every loan state, in the contract's order")
    segments: None = Field(description="Always null: the index has no segment of a vehicle")
    segments_note: str = Field(description="Why there is no split by segment")
    loan_to_value: LoanToValueSpread
    alerts: PortfolioAlerts
    rates: list[PortfolioDay] = Field(
        description="The book's overdue and defaulted shares at the end of each UTC day, "
        "oldest first, replayed from the loans' state history and repayments; the last day "
        "is the indexed block's (figures as of its time); empty before any block is indexed"
    )


@router.get(
    "",
    response_model=PortfolioView,
    responses={422: {}, **INDEXED_RESPONSES},
    description="This bank's book: loans and exposure by state, loan-to-value distribution, "
    "open alerts by age, and the overdue and default shares over the last `days` days. "
    "Amounts in minor units of `currency`." + INDEXED_NOTE,
)
def get_portfolio(
    runtime: RuntimeDep,
    session: SessionDep,
    indexed: IndexedDep,
    _principal: PrincipalDep,
    days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description=f"Days of rates, up to {MAX_DAYS}")
    ] = 90,
) -> PortfolioView:
    bank = runtime.sender.address
    now = indexed.block_timestamp
    book = portfolio(session, runtime.settings.chain_id, bank, now, days)
    return PortfolioView.model_validate(
        {
            "bank": bank,
            "currency": CURRENCY,
            "as_of": None if now is None else iso(now),
            "indexed_block": indexed.block_number,
            "segments": None,
            "segments_note": SEGMENTS_NOTE,
            **asdict(book),
        }
    )
