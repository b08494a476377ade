"""
LoanManager: the loan lifecycle, its lien, repayments, keeper transitions and the condition-rate
linkage.
"""

import itertools

import pytest
from brownie import chain
from conftest import (
    ALLOWED_TRANSITIONS,
    APPLIED,
    APPRAISAL,
    APPROVED,
    BANK_ROLE,
    CANCELLED,
    CLOSED,
    DAY,
    DEFAULTED,
    LIEN_STATES,
    LIQUIDATED,
    LOAN_ACTIVE,
    LOAN_NONE,
    LOAN_TERMS,
    OVERDUE,
    OWN_VEHICLE,
    REJECTED,
    REPAID,
    SET_PARAMETER,
    ZERO_ADDRESS,
    action,
    govern,
    key,
    new_vehicle,
    open_loan,
    reverts_with,
)

GAS_APPLY_FOR_LOAN = 215_000  # committed budget of "open loan"
PRINCIPAL, RATE, TERM, INTERVAL = (
    LOAN_TERMS[name] for name in ("principal", "rate", "term", "interval")
)
INSTALMENT = PRINCIPAL // 12  # 360-day term, 30-day interval: 12 equal instalments
assert INSTALMENT * 12 == PRINCIPAL
GRACE = 30 * DAY
HEARTBEAT = 7 * DAY


@pytest.fixture(scope="module")
def bank(system):
    return system.members.banks[0]


@pytest.fixture(scope="module")
def loans(system):
    return system.loans


@pytest.fixture(scope="module")
def vehicle(system, reporter, bank):
    """A registered vehicle with a fresh score of 8000 and a value at 90% of its appraisal."""
    vehicle_id = new_vehicle(system.registry, bank, "loan-test")
    reporter.submit([(vehicle_id, 8000, APPRAISAL * 9 // 10)])
    return vehicle_id


def _approved(loans, bank, vehicle_id):
    loan_id = open_loan(loans, bank, vehicle_id)
    loans.approve(loan_id, {"from": bank})
    return loan_id


def _active(loans, bank, vehicle_id):
    loan_id = _approved(loans, bank, vehicle_id)
    loans.activate(loan_id, {"from": bank})
    return loan_id


def _overdue(loans, bank, vehicle_id):
    loan_id = _active(loans, bank, vehicle_id)
    chain.sleep(INTERVAL + 1)
    loans.markOverdue(loan_id, {"from": bank})
    return loan_id


def _defaulted(loans, bank, vehicle_id):
    loan_id = _overdue(loans, bank, vehicle_id)
    chain.sleep(GRACE)
    loans.markDefaulted(loan_id, {"from": bank})
    return loan_id


def _states(tx):
    return [(event["from"], event["to"]) for event in tx.events["LoanStateChanged"]]


# ---------------------------------------------------------------- apply


def test_apply_opens_loan(system, loans, bank, vehicle):
    tx = loans.applyForLoan(
        vehicle, key("borrower"), PRINCIPAL, RATE, TERM, INTERVAL, OWN_VEHICLE, {"from": bank}
    )
    assert tx.return_value == 1
    print(f"\nGAS applyForLoan: {tx.gas_used}")
    assert tx.gas_used <= GAS_APPLY_FOR_LOAN
    assert dict(tx.events["LoanApplied"]) == {
        "loanId": 1,
        "bank": bank,
        "vehicleId": vehicle,
        "borrowerCommitment": key("borrower"),
        "principal": PRINCIPAL,
        "baseRateBps": RATE,
        "termSeconds": TERM,
        "installmentInterval": INTERVAL,
    }
    assert _states(tx) == [(LOAN_NONE, APPLIED)]
    stored = loans.loan(1)
    assert stored["state"] == APPLIED
    assert stored["bank"] == bank
    assert stored["vehicleId"] == vehicle
    assert stored["principal"] == PRINCIPAL
    assert stored["repaid"] == 0
    assert stored["appliedAt"] == tx.timestamp
    assert loans.loanCount() == 1
    assert not system.registry.lienOf(vehicle)["active"]
    assert (
        loans.applyForLoan(vehicle, key("b2"), 1, 1, 1, 1, OWN_VEHICLE, {"from": bank}).return_value
        == 2
    )


@pytest.mark.parametrize(
    ("principal", "rate", "term", "interval"),
    [
        (0, RATE, TERM, INTERVAL),
        (PRINCIPAL, 0, TERM, INTERVAL),
        (PRINCIPAL, 10_001, TERM, INTERVAL),
        (PRINCIPAL, RATE, TERM, 0),
        (PRINCIPAL, RATE, TERM, TERM + 1),
        (PRINCIPAL, RATE, 0, 0),
    ],
    ids=[
        "zero-principal",
        "zero-rate",
        "rate-over-100%",
        "zero-interval",
        "interval-over-term",
        "zero-term",
    ],
)
def test_apply_rejects_invalid_terms(loans, bank, vehicle, principal, rate, term, interval):
    with reverts_with("LoanInvalidTerms", principal, rate, term, interval):
        loans.applyForLoan(
            vehicle, key("borrower"), principal, rate, term, interval, OWN_VEHICLE, {"from": bank}
        )


def test_apply_rejects_zero_borrower(loans, bank, vehicle):
    with reverts_with("LoanInvalidBorrowerCommitment"):
        loans.applyForLoan(
            vehicle, "0x" + "00" * 32, PRINCIPAL, RATE, TERM, INTERVAL, OWN_VEHICLE, {"from": bank}
        )


def test_apply_rejects_unknown_vehicle(loans, bank):
    unknown = key("vehicle:unknown")
    with reverts_with("LoanUnknownVehicle", unknown):
        loans.applyForLoan(
            unknown, key("borrower"), PRINCIPAL, RATE, TERM, INTERVAL, OWN_VEHICLE, {"from": bank}
        )


def test_apply_needs_bank_role(system, loans, vehicle):
    auditor = system.members.auditor
    with reverts_with("ConsortiumUnauthorizedAccount", auditor, BANK_ROLE):
        loans.applyForLoan(
            vehicle,
            key("borrower"),
            PRINCIPAL,
            RATE,
            TERM,
            INTERVAL,
            OWN_VEHICLE,
            {"from": auditor},
        )


# ---------------------------------------------------------------- approve / reject / cancel


def test_approve_places_lien_and_records_baseline(system, loans, bank, vehicle):
    loan_id = open_loan(loans, bank, vehicle)
    tx = loans.approve(loan_id, {"from": bank})
    assert _states(tx) == [(APPLIED, APPROVED)]
    assert dict(tx.events["LienPlaced"]) == {"vehicleId": vehicle, "bank": bank, "loanId": loan_id}
    lien = system.registry.lienOf(vehicle)
    assert lien["active"]
    assert lien["bank"] == bank
    assert lien["loanId"] == loan_id
    assert loans.loan(loan_id)["baselineScore"] == 8000
    assert loans.currentRateBps(loan_id) == RATE


def test_approve_needs_a_score(system, loans, bank):
    unscored = new_vehicle(system.registry, bank, "unscored")
    loan_id = open_loan(loans, bank, unscored)
    with reverts_with("LoanStaleScore", unscored, 0, HEARTBEAT):
        loans.approve(loan_id, {"from": bank})


def test_approve_rejects_stale_score(system, loans, bank, vehicle):
    loan_id = open_loan(loans, bank, vehicle)
    updated_at = system.oracle.latestRoundData(vehicle)[4]
    chain.sleep(HEARTBEAT + 10)
    with reverts_with("LoanStaleScore", vehicle, updated_at, HEARTBEAT):
        loans.approve(loan_id, {"from": bank})


def test_second_pledge_of_a_vehicle_fails(system, loans, bank, vehicle):
    first = _approved(loans, bank, vehicle)
    other_bank = system.members.banks[1]
    second = open_loan(loans, other_bank, vehicle)
    with reverts_with("RegistryLienExists", vehicle, first, bank):
        loans.approve(second, {"from": other_bank})


def test_reject_application(loans, bank, vehicle):
    loan_id = open_loan(loans, bank, vehicle)
    tx = loans.reject(loan_id, {"from": bank})
    assert _states(tx) == [(APPLIED, REJECTED)]
    with reverts_with("LoanInvalidState", loan_id, REJECTED):
        loans.approve(loan_id, {"from": bank})


def test_reject_after_approval_is_invalid(loans, bank, vehicle):
    loan_id = _approved(loans, bank, vehicle)
    with reverts_with("LoanInvalidState", loan_id, APPROVED):
        loans.reject(loan_id, {"from": bank})


def test_cancel_application_and_approved_loan(system, loans, bank, vehicle):
    applied = open_loan(loans, bank, vehicle)
    tx = loans.cancel(applied, {"from": bank})
    assert _states(tx) == [(APPLIED, CANCELLED)]
    assert "LienReleased" not in tx.events
    approved = _approved(loans, bank, vehicle)
    tx = loans.cancel(approved, {"from": bank})
    assert _states(tx) == [(APPROVED, CANCELLED)]
    assert dict(tx.events["LienReleased"]) == {
        "vehicleId": vehicle,
        "bank": bank,
        "loanId": approved,
    }
    assert not system.registry.lienOf(vehicle)["active"]


def test_cancel_active_loan_is_invalid(loans, bank, vehicle):
    loan_id = _active(loans, bank, vehicle)
    with reverts_with("LoanInvalidState", loan_id, LOAN_ACTIVE):
        loans.cancel(loan_id, {"from": bank})


# ---------------------------------------------------------------- activate and repay


def test_activate_starts_schedule(loans, bank, vehicle):
    loan_id = _approved(loans, bank, vehicle)
    assert loans.nextDueDate(loan_id) == 0
    tx = loans.activate(loan_id, {"from": bank})
    assert _states(tx) == [(APPROVED, LOAN_ACTIVE)]
    assert loans.loan(loan_id)["activatedAt"] == tx.timestamp
    assert loans.nextDueDate(loan_id) == tx.timestamp + INTERVAL


def test_activate_needs_approval(loans, bank, vehicle):
    loan_id = open_loan(loans, bank, vehicle)
    with reverts_with("LoanInvalidState", loan_id, APPLIED):
        loans.activate(loan_id, {"from": bank})


def test_repayments_move_the_due_date_and_full_repayment_releases_lien(
    system, loans, bank, vehicle
):
    loan_id = _active(loans, bank, vehicle)
    activated_at = loans.loan(loan_id)["activatedAt"]
    tx = loans.recordRepayment(loan_id, 3 * INSTALMENT, {"from": bank})
    assert dict(tx.events["RepaymentRecorded"]) == {
        "loanId": loan_id,
        "bank": bank,
        "amount": 3 * INSTALMENT,
        "totalRepaid": 3 * INSTALMENT,
        "outstanding": PRINCIPAL - 3 * INSTALMENT,
    }
    assert loans.outstanding(loan_id) == PRINCIPAL - 3 * INSTALMENT
    assert loans.nextDueDate(loan_id) == activated_at + 4 * INTERVAL
    tx = loans.recordRepayment(loan_id, PRINCIPAL - 3 * INSTALMENT, {"from": bank})
    assert _states(tx) == [(LOAN_ACTIVE, REPAID)]
    assert "LienReleased" in tx.events
    assert not system.registry.lienOf(vehicle)["active"]
    assert loans.nextDueDate(loan_id) == 0
    assert loans.outstanding(loan_id) == 0


def test_last_instalment_due_at_end_of_term(loans, bank, vehicle):
    loan_id = open_loan(
        loans, bank, vehicle, term=100 * DAY, interval=30 * DAY
    )  # 4 instalments, last at day 100
    loans.approve(loan_id, {"from": bank})
    activated_at = loans.activate(loan_id, {"from": bank}).timestamp
    loans.recordRepayment(loan_id, PRINCIPAL * 3 // 4, {"from": bank})
    assert loans.nextDueDate(loan_id) == activated_at + 100 * DAY


def test_repayment_rejects_zero_and_excess(loans, bank, vehicle):
    loan_id = _active(loans, bank, vehicle)
    with reverts_with("LoanZeroRepayment", loan_id):
        loans.recordRepayment(loan_id, 0, {"from": bank})
    with reverts_with("LoanRepaymentExceedsOutstanding", loan_id, PRINCIPAL + 1, PRINCIPAL):
        loans.recordRepayment(loan_id, PRINCIPAL + 1, {"from": bank})


def test_repayment_needs_disbursed_loan(loans, bank, vehicle):
    loan_id = _approved(loans, bank, vehicle)
    with reverts_with("LoanInvalidState", loan_id, APPROVED):
        loans.recordRepayment(loan_id, 1, {"from": bank})


# ---------------------------------------------------------------- overdue, default, liquidation


def test_mark_overdue_is_time_checked_and_open_to_keepers(system, loans, bank, vehicle):
    loan_id = _active(loans, bank, vehicle)
    due = loans.nextDueDate(loan_id)
    keeper = system.members.auditor  # any active member may act as keeper
    with reverts_with("LoanNotYetDue", loan_id, due):
        loans.markOverdue(loan_id, {"from": keeper})
    chain.sleep(INTERVAL + 1)
    with reverts_with("ConsortiumUnauthorizedAccount"):
        loans.markOverdue(loan_id, {"from": system.members.stranger})
    tx = loans.markOverdue(loan_id, {"from": keeper})
    assert _states(tx) == [(LOAN_ACTIVE, OVERDUE)]


def test_paid_ahead_loan_is_not_overdue(loans, bank, vehicle):
    loan_id = _active(loans, bank, vehicle)
    loans.recordRepayment(loan_id, 2 * INSTALMENT, {"from": bank})
    chain.sleep(INTERVAL + 1)
    with reverts_with("LoanNotYetDue"):
        loans.markOverdue(loan_id, {"from": bank})


def test_mark_overdue_needs_active_loan(loans, bank, vehicle):
    loan_id = _approved(loans, bank, vehicle)
    with reverts_with("LoanInvalidState", loan_id, APPROVED):
        loans.markOverdue(loan_id, {"from": bank})


def test_catching_up_returns_to_active(loans, bank, vehicle):
    loan_id = _overdue(loans, bank, vehicle)
    tx = loans.recordRepayment(loan_id, INSTALMENT - 1, {"from": bank})
    assert "LoanStateChanged" not in tx.events
    assert loans.loan(loan_id)["state"] == OVERDUE
    tx = loans.recordRepayment(loan_id, 1, {"from": bank})
    assert _states(tx) == [(OVERDUE, LOAN_ACTIVE)]


def test_mark_defaulted_after_grace_period(loans, bank, vehicle):
    loan_id = _overdue(loans, bank, vehicle)
    due = loans.nextDueDate(loan_id)
    with reverts_with("LoanNotYetDue", loan_id, due + GRACE):
        loans.markDefaulted(loan_id, {"from": bank})
    chain.sleep(GRACE)
    tx = loans.markDefaulted(loan_id, {"from": bank})
    assert _states(tx) == [(OVERDUE, DEFAULTED)]


def test_mark_defaulted_needs_overdue_loan(loans, bank, vehicle):
    loan_id = _active(loans, bank, vehicle)
    chain.sleep(INTERVAL + GRACE + 1)
    with reverts_with("LoanInvalidState", loan_id, LOAN_ACTIVE):
        loans.markDefaulted(loan_id, {"from": bank})


def test_grace_period_is_governed(system, loans, bank, vehicle):
    loan_id = _overdue(loans, bank, vehicle)
    govern(
        system.consortium,
        action(SET_PARAMETER, key_=key("GRACE_PERIOD"), value=0),
        system.members.banks[:2],
    )
    loans.markDefaulted(loan_id, {"from": bank})
    assert loans.loan(loan_id)["state"] == DEFAULTED


def test_liquidation_records_recovery_and_releases_lien(system, loans, bank, vehicle):
    loan_id = _defaulted(loans, bank, vehicle)
    recovered = PRINCIPAL * 90 // 100
    tx = loans.liquidate(loan_id, recovered, {"from": bank})
    assert _states(tx) == [(DEFAULTED, LIQUIDATED)]
    assert dict(tx.events["LoanLiquidated"]) == {
        "loanId": loan_id,
        "bank": bank,
        "amountRecovered": recovered,
        "outstanding": PRINCIPAL,
    }
    assert loans.loan(loan_id)["amountRecovered"] == recovered
    assert not system.registry.lienOf(vehicle)["active"]
    tx = loans.close(loan_id, {"from": bank})
    assert _states(tx) == [(LIQUIDATED, CLOSED)]


def test_liquidate_needs_default(loans, bank, vehicle):
    loan_id = _overdue(loans, bank, vehicle)
    with reverts_with("LoanInvalidState", loan_id, OVERDUE):
        loans.liquidate(loan_id, 1, {"from": bank})


def test_defaulted_loan_can_be_repaid_in_full(loans, bank, vehicle):
    loan_id = _defaulted(loans, bank, vehicle)
    loans.recordRepayment(loan_id, INSTALMENT, {"from": bank})
    assert loans.loan(loan_id)["state"] == DEFAULTED
    tx = loans.recordRepayment(loan_id, PRINCIPAL - INSTALMENT, {"from": bank})
    assert _states(tx) == [(DEFAULTED, REPAID)]


def test_close_repaid_loan_and_final_states(loans, bank, vehicle):
    loan_id = _active(loans, bank, vehicle)
    loans.recordRepayment(loan_id, PRINCIPAL, {"from": bank})
    assert _states(loans.close(loan_id, {"from": bank})) == [(REPAID, CLOSED)]
    with reverts_with("LoanInvalidState", loan_id, CLOSED):
        loans.close(loan_id, {"from": bank})


def test_close_active_loan_is_invalid(loans, bank, vehicle):
    loan_id = _active(loans, bank, vehicle)
    with reverts_with("LoanInvalidState", loan_id, LOAN_ACTIVE):
        loans.close(loan_id, {"from": bank})


# ---------------------------------------------------------------- lender-only, unknown loans


@pytest.mark.parametrize("function", ["approve", "reject", "cancel", "activate", "close"])
def test_only_lender_moves_its_loan(system, loans, bank, vehicle, function):
    loan_id = open_loan(loans, bank, vehicle)
    other = system.members.banks[1]
    with reverts_with("LoanNotLender", loan_id, other):
        getattr(loans, function)(loan_id, {"from": other})


def test_only_lender_records_repayment_and_liquidates(system, loans, bank, vehicle):
    loan_id = _active(loans, bank, vehicle)
    other = system.members.banks[1]
    with reverts_with("LoanNotLender", loan_id, other):
        loans.recordRepayment(loan_id, 1, {"from": other})
    with reverts_with("LoanNotLender", loan_id, other):
        loans.liquidate(loan_id, 1, {"from": other})


@pytest.mark.parametrize(
    ("function", "args"),
    [
        ("approve", ()),
        ("reject", ()),
        ("cancel", ()),
        ("activate", ()),
        ("close", ()),
        ("recordRepayment", (1,)),
        ("liquidate", (1,)),
        ("markOverdue", ()),
        ("markDefaulted", ()),
        ("syncRate", ()),
    ],
)
def test_unknown_loan(loans, bank, function, args):
    with reverts_with("LoanUnknown", 42):
        getattr(loans, function)(42, *args, {"from": bank})


@pytest.mark.parametrize("view", ["currentRateBps", "loanToValueBps", "outstanding", "nextDueDate"])
def test_views_of_unknown_loan(loans, view):
    with reverts_with("LoanUnknown", 42):
        getattr(loans, view)(42)


def test_loan_view_of_unknown_id_is_empty(loans):
    stored = loans.loan(42)
    assert stored["state"] == LOAN_NONE
    assert stored["bank"] == ZERO_ADDRESS


# ---------------------------------------------------------------- rate linkage and LTV


def test_rate_follows_fresh_score(loans, reporter, bank, vehicle):
    loan_id = _active(loans, bank, vehicle)
    reporter.submit([(vehicle, 7001, APPRAISAL)])  # drop 999 < one step
    assert loans.currentRateBps(loan_id) == RATE
    reporter.submit([(vehicle, 5500, APPRAISAL)])  # drop 2500: two steps of 1000 -> +2 * 5%
    assert loans.currentRateBps(loan_id) == RATE * 11_000 // 10_000
    reporter.submit([(vehicle, 9500, APPRAISAL)])  # better than baseline: no discount
    assert loans.currentRateBps(loan_id) == RATE


def test_sync_rate_stores_rate_that_stands_without_fresh_score(
    system, loans, reporter, bank, vehicle
):
    loan_id = _active(loans, bank, vehicle)
    reporter.submit([(vehicle, 3000, APPRAISAL)])  # five steps -> +25%
    tx = loans.syncRate(loan_id, {"from": system.members.auditor})
    assert dict(tx.events["LoanRateUpdated"]) == {
        "loanId": loan_id,
        "oldRateBps": RATE,
        "newRateBps": RATE * 12_500 // 10_000,
        "score": 3000,
    }
    assert "LoanRateUpdated" not in loans.syncRate(loan_id, {"from": bank}).events
    chain.sleep(HEARTBEAT + 1)
    chain.mine()
    assert loans.currentRateBps(loan_id) == RATE * 12_500 // 10_000
    assert "LoanRateUpdated" not in loans.syncRate(loan_id, {"from": bank}).events


def test_repayment_applies_the_linked_rate(loans, reporter, bank, vehicle):
    loan_id = _active(loans, bank, vehicle)
    reporter.submit([(vehicle, 6000, APPRAISAL)])
    tx = loans.recordRepayment(loan_id, INSTALMENT, {"from": bank})
    assert tx.events["LoanRateUpdated"]["newRateBps"] == RATE * 11_000 // 10_000
    assert loans.loan(loan_id)["appliedRateBps"] == RATE * 11_000 // 10_000


def test_rate_before_approval_is_base_and_sync_needs_lien(loans, bank, vehicle):
    loan_id = open_loan(loans, bank, vehicle, rate=750)
    assert loans.currentRateBps(loan_id) == 750
    with reverts_with("LoanInvalidState", loan_id, APPLIED):
        loans.syncRate(loan_id, {"from": bank})


def test_rate_step_parameters_are_governed(system, loans, reporter, bank, vehicle):
    loan_id = _active(loans, bank, vehicle)
    banks = system.members.banks[:2]
    govern(system.consortium, action(SET_PARAMETER, key_=key("RATE_STEP_BPS"), value=500), banks)
    govern(
        system.consortium, action(SET_PARAMETER, key_=key("RATE_INCREASE_BPS"), value=1000), banks
    )
    reporter.submit([(vehicle, 7000, APPRAISAL)])  # drop 1000 = two steps of 500 -> +20%
    assert loans.currentRateBps(loan_id) == RATE * 12_000 // 10_000


def test_loan_to_value(loans, reporter, bank, vehicle):
    loan_id = _active(loans, bank, vehicle)
    reporter.submit([(vehicle, 8000, 2 * PRINCIPAL)])
    assert loans.loanToValueBps(loan_id) == 5000
    loans.recordRepayment(loan_id, PRINCIPAL // 2, {"from": bank})
    assert loans.loanToValueBps(loan_id) == 2500


def test_loan_to_value_needs_valuation(system, loans, bank):
    unscored = new_vehicle(system.registry, bank, "ltv-unscored")
    loan_id = open_loan(loans, bank, unscored)
    with reverts_with("LoanNoValuation", loan_id):
        loans.loanToValueBps(loan_id)


# ---------------------------------------------------------------- transition table


def test_transition_table_matches_spec(loans):
    for source, target in itertools.product(range(11), repeat=2):
        assert loans.isTransitionAllowed(source, target) == (
            target in ALLOWED_TRANSITIONS.get(source, set())
        )
    for state in range(11):
        assert loans.holdsLien(state) == (state in LIEN_STATES)


def test_addresses(system, loans):
    assert loans.registry() == system.registry
    assert loans.oracle() == system.oracle
    assert loans.consortium() == system.consortium
