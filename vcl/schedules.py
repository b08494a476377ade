"""Repayment schedules, payment allocation, penalty interest and loan classification, in
integer minor units (fen), deterministic on every machine.

Conventions (the 2017 auto-loan measures, PBOC penalty-interest rules, the 2023 five-category
classification; Apache Fineract's loan module is the open-source reference):
- methods: equal instalments (等额本息), equal principal (等额本金), and interest first with
  the principal at the end (先息后本), the last only for terms up to 12 months;
- declining-balance interest at the monthly rate = annual rate / 12 (days are annual / 360, for
  penalties and broken periods);
- rounding: each period's interest is rounded half up to the fen; an equal instalment is
  P·r / (1 - (1 + r)^-n) computed exactly (fractions, no floating point) and rounded half up;
  equal principal parts are P // n; the last instalment takes whatever principal is left,
  so principal parts always sum to the principal and no part is negative;
- due dates: monthly on the start date's day of month, on the month's last day when it has no
  such day (31 January -> 28 or 29 February -> 31 March);
- payments go to the oldest unpaid instalment first and, within it, to penalty, then interest,
  then principal;
- classification by days past due: normal (0), special mention (1+), substandard (> 90),
  doubtful (> 270), loss (> 360), with provisions of 1%, 2%, 25%, 50% and 100% of the exposure.

A hand-computed case (tests/python/test_schedules.py): CNY 100,000.00 at 6% over 36 months in
equal instalments is 3,042.19 a month, the last 3,042.36, total interest 9,519.01.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from fractions import Fraction

from vcl.errors import VclError

BPS = 10_000
MONTHS_PER_YEAR = 12
DAYS_PER_YEAR = 360  # penalty and broken-period interest: annual rate / 360 per day
MAX_TERM_MONTHS = 60  # five years; used vehicles three (the lender's policy checks that)
MAX_INTEREST_FIRST_MONTHS = 12


class Method(StrEnum):
    EQUAL_INSTALMENT = "equal_instalment"  # 等额本息
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    INTEREST_FIRST = "interest_first"  # 先息后本


class Classification(StrEnum):
    NORMAL = "normal"
    SPECIAL_MENTION = "special_mention"
    SUBSTANDARD = "substandard"
    DOUBTFUL = "doubtful"
    LOSS = "loss"


# Days past due above which each class starts, most severe first, and its provision (bps).
CLASSES: tuple[tuple[int, Classification], ...] = (
    (360, Classification.LOSS),
    (270, Classification.DOUBTFUL),
    (90, Classification.SUBSTANDARD),
    (0, Classification.SPECIAL_MENTION),
)
PROVISION_BPS = {
    Classification.NORMAL: 100,
    Classification.SPECIAL_MENTION: 200,
    Classification.SUBSTANDARD: 2_500,
    Classification.DOUBTFUL: 5_000,
    Classification.LOSS: 10_000,
}


class InvalidTerms(VclError):
    """Loan terms no schedule can be made from; the message names the term and its bound."""


@dataclass(frozen=True)
class Terms:
    principal: int  # minor units
    annual_rate_bps: int
    months: int
    method: Method
    start: date  # disbursement; the first instalment falls due a month later

    def check(self) -> None:
        if self.principal <= 0:
            raise InvalidTerms(f"principal must be positive, not {self.principal}")
        if not 0 <= self.annual_rate_bps <= BPS:
            raise InvalidTerms(f"annual rate {self.annual_rate_bps} bps is outside 0..{BPS}")
        if not 1 <= self.months <= MAX_TERM_MONTHS:
            raise InvalidTerms(f"a term is 1..{MAX_TERM_MONTHS} months, not {self.months}")
        if self.method is Method.INTEREST_FIRST and self.months > MAX_INTEREST_FIRST_MONTHS:
            raise InvalidTerms(
                f"interest first, principal at the end is for terms up to "
                f"{MAX_INTEREST_FIRST_MONTHS} months, not {self.months}"
            )


@dataclass(frozen=True)
class Instalment:
    number: int  # 1..n
    due: date
    principal: int
    interest: int
    balance_after: int  # principal outstanding once this instalment is paid

    @property
    def amount(self) -> int:
        return self.principal + self.interest


def round_half_up(value: Fraction) -> int:
    """`value` to the nearest integer, halves away from zero (value >= 0 here)."""
    whole, rest = divmod(value.numerator, value.denominator)
    return whole + 1 if 2 * rest >= value.denominator else whole


def monthly_rate(annual_rate_bps: int) -> Fraction:
    return Fraction(annual_rate_bps, BPS * MONTHS_PER_YEAR)


def due_date(start: date, months: int) -> date:
    """`months` months after `start`, on its day of month or the month's last day."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def equal_instalment(principal: int, rate: Fraction, months: int) -> int:
    """P·r / (1 - (1 + r)^-n), exactly, rounded half up; P // n when the rate is zero (so
    the instalments never repay the principal before the last, which takes the rest)."""
    if rate == 0:
        return principal // months
    return round_half_up(principal * rate / (1 - (1 + rate) ** -months))


def schedule(terms: Terms) -> list[Instalment]:
    """Every instalment of `terms`, in order (see the module's rounding)."""
    terms.check()
    rate = monthly_rate(terms.annual_rate_bps)
    level = equal_instalment(terms.principal, rate, terms.months)
    balance = terms.principal
    rows = []
    for number in range(1, terms.months + 1):
        interest = round_half_up(balance * rate)
        last = number == terms.months
        if last:
            principal = balance
        elif terms.method is Method.EQUAL_INSTALMENT:
            principal = min(max(level - interest, 0), balance)
        elif terms.method is Method.EQUAL_PRINCIPAL:
            principal = terms.principal // terms.months
        else:  # interest first
            principal = 0
        balance -= principal
        rows.append(Instalment(number, due_date(terms.start, number), principal, interest, balance))
    return rows


# ------------------------------------------------------------------ prepayment


def reschedule_after_prepayment(
    terms: Terms, paid_instalments: int, prepaid: int, *, keep: str
) -> Terms:
    """New terms for what is left after `paid_instalments` and a principal prepayment of
    `prepaid`: `keep="instalment"` shortens the term (the same instalment, fewer of them),
    `keep="term"` lowers the instalment (the same remaining months). The new schedule starts
    at the last paid due date."""
    rows = schedule(terms)
    if not 0 <= paid_instalments < len(rows):
        raise InvalidTerms(f"{paid_instalments} instalments paid of {len(rows)}")
    outstanding = rows[paid_instalments - 1].balance_after if paid_instalments else terms.principal
    if not 0 < prepaid < outstanding:
        raise InvalidTerms(
            f"a partial prepayment is 1..{outstanding - 1} minor units, not {prepaid} "
            "(all of it is a payoff: `payoff`)"
        )
    left = outstanding - prepaid
    start = rows[paid_instalments - 1].due if paid_instalments else terms.start
    remaining = len(rows) - paid_instalments
    if keep == "term":
        return replace(terms, principal=left, months=remaining, start=start)
    if keep != "instalment":
        raise InvalidTerms(f"keep is 'instalment' or 'term', not {keep!r}")
    if terms.method is not Method.EQUAL_INSTALMENT:
        # Equal principal and interest first keep their principal part: fewer months.
        part = rows[0].principal or left
        months = min(remaining, max(1, -(-left // part)))
        return replace(terms, principal=left, months=months, start=start)
    rate = monthly_rate(terms.annual_rate_bps)
    level = rows[0].amount
    months = 1
    while months < remaining and equal_instalment(left, rate, months) > level:
        months += 1
    return replace(terms, principal=left, months=months, start=start)


def payoff(terms: Terms, paid_instalments: int, on: date) -> tuple[int, int]:
    """Full prepayment on `on`: (principal outstanding, interest of the broken period since
    the last due date at annual / 360 per day, rounded half up)."""
    rows = schedule(terms)
    if not 0 <= paid_instalments < len(rows):
        raise InvalidTerms(f"{paid_instalments} instalments paid of {len(rows)}")
    outstanding = rows[paid_instalments - 1].balance_after if paid_instalments else terms.principal
    since = rows[paid_instalments - 1].due if paid_instalments else terms.start
    days = max((on - since).days, 0)
    daily = Fraction(terms.annual_rate_bps, BPS * DAYS_PER_YEAR)
    return outstanding, round_half_up(outstanding * daily * days)


# ------------------------------------------------------------------ payments and arrears


@dataclass(frozen=True)
class Due:
    """What one instalment still asks for."""

    number: int
    penalty: int
    interest: int
    principal: int

    @property
    def total(self) -> int:
        return self.penalty + self.interest + self.principal


def allocate(dues: Sequence[Due], payment: int) -> tuple[list[Due], int]:
    """Apply `payment` to `dues` (oldest first; within one: penalty, interest, principal).
    Returns what each instalment still asks for afterwards and what is left of the payment."""
    if payment < 0:
        raise InvalidTerms(f"a payment is not negative: {payment}")
    left = payment
    after = []
    for due in sorted(dues, key=lambda d: d.number):
        penalty = min(left, due.penalty)
        left -= penalty
        interest = min(left, due.interest)
        left -= interest
        principal = min(left, due.principal)
        left -= principal
        after.append(
            Due(
                due.number,
                due.penalty - penalty,
                due.interest - interest,
                due.principal - principal,
            )
        )
    return after, left


def penalty_interest(
    overdue_principal: int, annual_rate_bps: int, uplift_bps: int, days: int
) -> int:
    """Penalty interest (罚息) on overdue principal: the contract rate raised by `uplift_bps`
    of itself (30-50% by governance), per day at annual / 360, rounded half up to the fen."""
    if days <= 0 or overdue_principal <= 0:
        return 0
    rate = Fraction(annual_rate_bps * (BPS + uplift_bps), BPS * BPS * DAYS_PER_YEAR)
    return round_half_up(overdue_principal * rate * days)


def days_past_due(rows: Sequence[Instalment], paid_instalments: int, today: date) -> int:
    """Days since the oldest unpaid instalment fell due (0 when none is late)."""
    if paid_instalments >= len(rows):
        return 0
    return max((today - rows[paid_instalments].due).days, 0)


def classify(days_late: int) -> Classification:
    """The five-category class of a loan `days_late` days past due."""
    for above, classification in CLASSES:
        if days_late > above:
            return classification
    return Classification.NORMAL


def provision(exposure: int, classification: Classification) -> int:
    """The provision a class asks for on `exposure` (minor units), rounded half up."""
    return round_half_up(Fraction(exposure * PROVISION_BPS[classification], BPS))
