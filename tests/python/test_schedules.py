"""Repayment schedules against hand-computed cases, and properties every schedule keeps:
principal parts sum to the principal, none is negative, due dates increase, the balance falls
to zero; payment allocation, penalty interest and the five-category classification at their
exact boundaries."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcl.schedules import (
    Classification,
    Due,
    InvalidTerms,
    Method,
    Terms,
    allocate,
    classify,
    days_past_due,
    due_date,
    payoff,
    penalty_interest,
    provision,
    reschedule_after_prepayment,
    schedule,
)

START = date(2026, 1, 31)
CASE = Terms(10_000_000, 600, 36, Method.EQUAL_INSTALMENT, START)  # CNY 100,000.00, 6%, 36


def test_the_hand_computed_equal_instalment_case() -> None:
    rows = schedule(CASE)
    assert {row.amount for row in rows[:-1]} == {304_219}  # 3,042.19 a month
    assert rows[-1].amount == 304_236  # the last absorbs the rounding: 3,042.36
    assert sum(row.interest for row in rows) == 951_901  # 9,519.01
    assert rows[0].interest == 50_000  # 100,000.00 x 0.5%
    assert rows[0].principal == 254_219


def test_equal_principal_by_hand() -> None:
    rows = schedule(Terms(1_200_000, 1200, 12, Method.EQUAL_PRINCIPAL, START))
    assert [row.principal for row in rows] == [100_000] * 12
    # 1% a month on the declining balance: 12,000.00 -> 11,000.00 ... -> 1,000.00 (x fen)
    assert [row.interest for row in rows] == [12_000 - 1_000 * k for k in range(12)]
    assert rows[0].amount == 112_000
    assert rows[-1].amount == 101_000


def test_interest_first_pays_the_principal_at_the_end_and_only_for_a_year() -> None:
    rows = schedule(Terms(1_000_000, 600, 12, Method.INTEREST_FIRST, START))
    assert [row.principal for row in rows] == [0] * 11 + [1_000_000]
    assert {row.interest for row in rows} == {5_000}
    with pytest.raises(InvalidTerms, match="up to 12 months, not 24"):
        schedule(Terms(1_000_000, 600, 24, Method.INTEREST_FIRST, START))


def test_due_dates_keep_the_day_or_take_the_months_last() -> None:
    assert due_date(START, 1) == date(2026, 2, 28)
    assert due_date(START, 2) == date(2026, 3, 31)
    assert due_date(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert due_date(date(2027, 12, 15), 1) == date(2028, 1, 15)
    assert due_date(date(2028, 1, 31), 1) == date(2028, 2, 29)  # a leap year


def test_terms_out_of_bounds_are_named() -> None:
    with pytest.raises(InvalidTerms, match=r"1\.\.60 months, not 61"):
        schedule(Terms(1_000, 600, 61, Method.EQUAL_PRINCIPAL, START))
    with pytest.raises(InvalidTerms, match="principal must be positive"):
        schedule(Terms(0, 600, 12, Method.EQUAL_PRINCIPAL, START))


terms_strategy = st.builds(
    Terms,
    principal=st.integers(min_value=10_000, max_value=10**12),  # CNY 100 up
    annual_rate_bps=st.integers(min_value=0, max_value=3_600),
    months=st.integers(min_value=1, max_value=60),
    method=st.sampled_from([Method.EQUAL_INSTALMENT, Method.EQUAL_PRINCIPAL]),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
)


@settings(max_examples=300, deadline=None)
@given(terms_strategy)
def test_every_schedule_repays_exactly_its_principal(terms: Terms) -> None:
    rows = schedule(terms)
    assert len(rows) == terms.months
    assert sum(row.principal for row in rows) == terms.principal
    assert all(row.principal >= 0 and row.interest >= 0 for row in rows)
    assert all(a.due < b.due for a, b in itertools.pairwise(rows))
    assert rows[-1].balance_after == 0
    if terms.method is Method.EQUAL_INSTALMENT and terms.months > 1:
        # Level up to the last, which differs from the others only by the rounding residue.
        level = rows[0].amount
        assert all(row.amount == level for row in rows[:-1] if row.principal > 0)


@settings(max_examples=200, deadline=None)
@given(terms_strategy, st.data())
def test_a_partial_prepayment_leaves_a_schedule_of_what_is_left(
    terms: Terms, data: st.DataObject
) -> None:
    rows = schedule(terms)
    paid = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    outstanding = rows[paid - 1].balance_after if paid else terms.principal
    if outstanding < 2:
        return
    prepaid = data.draw(st.integers(min_value=1, max_value=outstanding - 1))
    shorter = reschedule_after_prepayment(terms, paid, prepaid, keep="instalment")
    smaller = reschedule_after_prepayment(terms, paid, prepaid, keep="term")
    for new in (shorter, smaller):
        assert new.principal == outstanding - prepaid
        assert sum(row.principal for row in schedule(new)) == new.principal
    assert smaller.months == len(rows) - paid
    assert shorter.months <= smaller.months


def test_prepayment_by_hand_and_a_payoff() -> None:
    rows = schedule(CASE)
    # After 12 instalments, prepay CNY 20,000.00 and keep the instalment: the term shortens.
    shorter = reschedule_after_prepayment(CASE, 12, 2_000_000, keep="instalment")
    assert shorter.months < 24
    assert schedule(shorter)[0].amount <= rows[12].amount
    smaller = reschedule_after_prepayment(CASE, 12, 2_000_000, keep="term")
    assert smaller.months == 24
    assert schedule(smaller)[0].amount < rows[12].amount
    # A payoff 10 days after the 12th due date: the balance and 10 days at 6% / 360.
    principal, interest = payoff(CASE, 12, date(2027, 2, 10))
    assert principal == rows[11].balance_after
    assert interest == round(principal * 600 * 10 / (10_000 * 360))
    with pytest.raises(InvalidTerms, match="a payoff"):
        reschedule_after_prepayment(CASE, 12, principal, keep="term")


def test_payments_go_to_the_oldest_instalment_penalty_interest_then_principal() -> None:
    dues = [Due(2, 0, 500, 10_000), Due(1, 300, 600, 10_000)]
    after, left = allocate(dues, 1_000)
    assert after == [Due(1, 0, 0, 9_900), Due(2, 0, 500, 10_000)]
    assert left == 0
    after, left = allocate(after, 25_000)
    assert after == [Due(1, 0, 0, 0), Due(2, 0, 0, 0)]
    assert left == 25_000 - 9_900 - 10_500


def test_penalty_interest_at_the_uplifted_daily_rate() -> None:
    # CNY 10,000.00 overdue for 30 days at 6% raised by 50%: 9% / 360 x 30 = 0.75% -> 75.00
    assert penalty_interest(1_000_000, 600, 5_000, 30) == 7_500
    assert penalty_interest(1_000_000, 600, 5_000, 0) == 0


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0, Classification.NORMAL),
        (1, Classification.SPECIAL_MENTION),
        (90, Classification.SPECIAL_MENTION),
        (91, Classification.SUBSTANDARD),
        (270, Classification.SUBSTANDARD),
        (271, Classification.DOUBTFUL),
        (360, Classification.DOUBTFUL),
        (361, Classification.LOSS),
    ],
)
def test_classification_at_its_boundaries(days: int, expected: Classification) -> None:
    assert classify(days) is expected


def test_days_past_due_and_provisions() -> None:
    rows = schedule(CASE)
    assert days_past_due(rows, 0, rows[0].due) == 0
    assert days_past_due(rows, 0, date(2026, 3, 30)) == 30  # first due 28 February
    assert days_past_due(rows, len(rows), date(2030, 1, 1)) == 0  # all paid
    assert provision(1_000_000, Classification.NORMAL) == 10_000
    assert provision(1_000_000, Classification.SUBSTANDARD) == 250_000
    assert provision(1_000_000, Classification.LOSS) == 1_000_000
