"""One bank's book as the read models hold it: loans and exposure by state, the
loan-to-value spread of the book, its open alerts by age, and the overdue and default shares
of the book at each day's end. A query of the projections (no fold, no chain call), as of
the indexed block's time `now`.

The book is the loans disbursed and not ended: Active, Overdue, Defaulted. Its exposure is
their outstanding principal, principal - repaid (the contract's `outstanding`), in minor
units. The other states owe nothing to the bank (never disbursed: Applied, Approved,
Rejected, Cancelled, Expired) or are ended (Repaid, Closed, Liquidated, Released).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from node_api.models import (
    ChainEvent,
    ProjectedAlert,
    ProjectedLoan,
    ProjectedLoanState,
    ProjectedScore,
)
from vcl.contract_enums import AlertStatus, LoanState

BOOK_STATES = ("Active", "Overdue", "Defaulted")
STATES = tuple(state.label for state in LoanState if state is not LoanState.NONE)
# (label, upper bound in percent, inclusive; None: no bound) of outstanding / value.
LTV_BUCKETS = (("<=50%", 50), ("50-70%", 70), ("70-80%", 80), ("80-100%", 100), (">100%", None))
# (label, upper bound in days since raised, exclusive; None: no bound).
AGE_BUCKETS = (("<7 days", 7), ("7-30 days", 30), ("30-90 days", 90), (">90 days", None))
DAY_S = 86_400
BPS = 10_000


@dataclass
class StateFigures:
    state: str
    loans: int = 0
    principal: int = 0
    outstanding: int = 0
    exposure: int = 0


@dataclass
class Totals:
    loans: int
    book_loans: int
    exposure: int


@dataclass
class LtvBucket:
    bucket: str
    loans: int = 0
    exposure: int = 0


@dataclass
class LoanToValue:
    loans: int
    buckets: list[LtvBucket]
    no_valuation_loans: int
    no_valuation_exposure: int


@dataclass
class AgeBucket:
    bucket: str
    alerts: int = 0
    unreviewed: int = 0


@dataclass
class OpenAlerts:
    open: int
    unreviewed: int
    by_age: list[AgeBucket]


@dataclass
class DayRates:
    date: str
    book_loans: int
    book_exposure: int
    overdue_loans: int
    overdue_exposure: int
    defaulted_loans: int
    defaulted_exposure: int
    overdue_share_bps: int | None
    overdue_exposure_share_bps: int | None
    defaulted_share_bps: int | None
    defaulted_exposure_share_bps: int | None


@dataclass
class Portfolio:
    totals: Totals
    by_state: list[StateFigures]
    loan_to_value: LoanToValue
    alerts: OpenAlerts
    rates: list[DayRates]


def portfolio(session: Session, chain_id: int, bank: str, now: int | None, days: int) -> Portfolio:
    """`bank`'s book as indexed; the rates over the `days` days up to `now`'s day (none
    while the index has no time)."""
    by_state = _by_state(session, chain_id, bank)
    book = [figures for figures in by_state if figures.state in BOOK_STATES]
    totals = Totals(
        loans=sum(figures.loans for figures in by_state),
        book_loans=sum(figures.loans for figures in book),
        exposure=sum(figures.exposure for figures in book),
    )
    rates = [] if now is None else _rates(session, chain_id, bank, now, days)
    return Portfolio(
        totals=totals,
        by_state=by_state,
        loan_to_value=_loan_to_value(session, chain_id, bank),
        alerts=_open_alerts(session, chain_id, bank, now),
        rates=rates,
    )


def _by_state(session: Session, chain_id: int, bank: str) -> list[StateFigures]:
    figures = {state: StateFigures(state) for state in STATES}
    rows = session.execute(
        select(ProjectedLoan.state, ProjectedLoan.principal, ProjectedLoan.repaid).where(
            ProjectedLoan.chain_id == chain_id, ProjectedLoan.bank == bank
        )
    ).tuples()
    for state, principal, repaid in rows:
        row = figures.setdefault(state, StateFigures(state))  # a state newer than this node
        outstanding = int(principal) - int(repaid)
        row.loans += 1
        row.principal += int(principal)
        row.outstanding += outstanding
        if state in BOOK_STATES:
            row.exposure += outstanding
    return list(figures.values())


def _ltv_bucket(outstanding: int, value: int) -> int:
    """The index of the bucket of outstanding / value, judged exactly (no rounding)."""
    for index, (_, upper) in enumerate(LTV_BUCKETS):
        if upper is None or outstanding * 100 <= value * upper:
            return index
    raise AssertionError("the last bucket has no bound")


def _loan_to_value(session: Session, chain_id: int, bank: str) -> LoanToValue:
    book = and_(
        ProjectedLoan.chain_id == chain_id,
        ProjectedLoan.bank == bank,
        ProjectedLoan.state.in_(BOOK_STATES),
    )
    vehicles = select(ProjectedLoan.vehicle_id).where(book)
    newest = (
        select(ProjectedScore.vehicle_id, func.max(ProjectedScore.block_number).label("block"))
        .where(ProjectedScore.chain_id == chain_id, ProjectedScore.vehicle_id.in_(vehicles))
        .group_by(ProjectedScore.vehicle_id)
        .subquery()
    )
    scores = session.execute(
        select(ProjectedScore.vehicle_id, ProjectedScore.log_index, ProjectedScore.estimated_value)
        .join(
            newest,
            and_(
                ProjectedScore.vehicle_id == newest.c.vehicle_id,
                ProjectedScore.block_number == newest.c.block,
            ),
        )
        .where(ProjectedScore.chain_id == chain_id)
        .order_by(ProjectedScore.log_index)
    ).tuples()
    value = {vehicle: int(estimated) for vehicle, _, estimated in scores}  # the last log wins
    buckets = [LtvBucket(label) for label, _ in LTV_BUCKETS]
    missing = LtvBucket("none")
    loans = session.execute(
        select(ProjectedLoan.vehicle_id, ProjectedLoan.principal, ProjectedLoan.repaid).where(book)
    ).tuples()
    count = 0
    for vehicle, principal, repaid in loans:
        count += 1
        outstanding = int(principal) - int(repaid)
        estimated = value.get(vehicle, 0)
        bucket = missing if estimated == 0 else buckets[_ltv_bucket(outstanding, estimated)]
        bucket.loans += 1
        bucket.exposure += outstanding
    return LoanToValue(count, buckets, missing.loans, missing.exposure)


def _open_alerts(session: Session, chain_id: int, bank: str, now: int | None) -> OpenAlerts:
    buckets = [AgeBucket(label) for label, _ in AGE_BUCKETS]
    rows = list(
        session.execute(
            select(ProjectedAlert.raised_at, ProjectedAlert.review_decision).where(
                ProjectedAlert.chain_id == chain_id,
                ProjectedAlert.bank == bank,
                ProjectedAlert.status == AlertStatus.OPEN.word,
            )
        ).tuples()
    )
    for raised_at, decision in rows:
        age = max(0, (now if now is not None else raised_at) - raised_at)
        index = next(
            i for i, (_, upper) in enumerate(AGE_BUCKETS) if upper is None or age < upper * DAY_S
        )
        buckets[index].alerts += 1
        buckets[index].unreviewed += decision is None
    return OpenAlerts(
        open=len(rows),
        unreviewed=sum(bucket.unreviewed for bucket in buckets),
        by_age=buckets,
    )


def _share(part: int, whole: int) -> int | None:
    return None if whole == 0 else part * BPS // whole


def _rates(session: Session, chain_id: int, bank: str, now: int, days: int) -> list[DayRates]:
    """The book at the end of each of the `days` UTC days up to `now`'s (the last one as of
    `now`), replaying the state changes and the repayments of `bank`'s loans."""
    principal = {
        loan_id: int(amount)
        for loan_id, amount in session.execute(
            select(ProjectedLoan.loan_id, ProjectedLoan.principal).where(
                ProjectedLoan.chain_id == chain_id, ProjectedLoan.bank == bank
            )
        ).tuples()
    }
    mine = select(ProjectedLoan.loan_id).where(
        ProjectedLoan.chain_id == chain_id, ProjectedLoan.bank == bank
    )
    changes = session.execute(
        select(
            ProjectedLoanState.changed_at,
            ProjectedLoanState.block_number,
            ProjectedLoanState.log_index,
            ProjectedLoanState.loan_id,
            ProjectedLoanState.to_state,
        ).where(ProjectedLoanState.chain_id == chain_id, ProjectedLoanState.loan_id.in_(mine))
    ).tuples()
    repayments = session.execute(
        select(
            ChainEvent.block_timestamp,
            ChainEvent.block_number,
            ChainEvent.log_index,
            ChainEvent.loan_id,
            ChainEvent.args,
        ).where(
            ChainEvent.chain_id == chain_id,
            ChainEvent.event_name == "RepaymentRecorded",
            ChainEvent.loan_id.in_(mine),
        )
    ).tuples()
    # (time, block, log, loan, new state or None, new total repaid or None), in chain order
    steps: list[tuple[int, int, int, str, str | None, int | None]] = [
        (at, block, log, loan, to_state, None) for at, block, log, loan, to_state in changes
    ]
    steps += [
        (at, block, log, str(loan), None, int(args["totalRepaid"]))
        for at, block, log, loan, args in repayments
    ]
    steps.sort(key=lambda step: (step[1], step[2]))  # chain order
    state: dict[str, str] = {}
    repaid: dict[str, int] = {}
    loans = {name: 0 for name in BOOK_STATES}
    exposure = {name: 0 for name in BOOK_STATES}

    def count(loan: str, sign: int) -> None:
        where = state.get(loan)
        if where in BOOK_STATES:
            loans[where] += sign
            exposure[where] += sign * (principal.get(loan, 0) - repaid.get(loan, 0))

    last = datetime.fromtimestamp(now, UTC).date()
    first = last - timedelta(days=days - 1)
    points: list[DayRates] = []
    position = 0
    for day in _days(first, last):
        end = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + DAY_S
        while position < len(steps) and steps[position][0] < end:
            _, _, _, loan, new_state, total = steps[position]
            count(loan, -1)
            if new_state is not None:
                state[loan] = new_state
            if total is not None:
                repaid[loan] = total
            count(loan, +1)
            position += 1
        book_loans, book_exposure = sum(loans.values()), sum(exposure.values())
        points.append(
            DayRates(
                date=day.isoformat(),
                book_loans=book_loans,
                book_exposure=book_exposure,
                overdue_loans=loans["Overdue"],
                overdue_exposure=exposure["Overdue"],
                defaulted_loans=loans["Defaulted"],
                defaulted_exposure=exposure["Defaulted"],
                overdue_share_bps=_share(loans["Overdue"], book_loans),
                overdue_exposure_share_bps=_share(exposure["Overdue"], book_exposure),
                defaulted_share_bps=_share(loans["Defaulted"], book_loans),
                defaulted_exposure_share_bps=_share(exposure["Defaulted"], book_exposure),
            )
        )
    return points


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
