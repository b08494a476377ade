"""Hypothesis stateful test over loans, liens and oracle reports.

Random sequences of applications (by the registering bank, or by another bank with its signed
consent), approvals, rejections, cancellations, disbursements, repayments, keeper calls (overdue,
default, approval expiry), liquidations, closures, governance releases of a suspended lender's
lien, oracle reports and time jumps. After every step:
- a vehicle never has two active liens, and a loan holds the lien of its vehicle exactly while it
  is Approved, Active, Overdue or Defaulted;
- every state change was emitted and followed the allowed-transition table;
- the value alert fired exactly once per crossing below the threshold (re-armed by a recovery above
  threshold + hysteresis, or closed when its lien ended), as predicted by a Python model.

Brownie's ``state_machine`` fixture fails on this install (eth-brownie 1.22.2 is mypyc-compiled and
its generated machine class raises "TypeError: _BrownieStateMachine object expected"), so the
machine is a plain Hypothesis ``RuleBasedStateMachine`` doing what brownie's wrapper does: revert
the chain to a snapshot before every example. Strategies are brownie's ``strategy``. The run is
derandomized so its coverage (printed with ``-s``) is the same on every run.
"""

from collections import Counter
from typing import ClassVar

import brownie
from brownie import chain
from brownie.test import strategy
from conftest import (
    ALLOWED_TRANSITIONS,
    APPLIED,
    APPRAISAL,
    APPROVED,
    DAY,
    DEFAULTED,
    LIEN_STATES,
    LOAN_ACTIVE,
    LOAN_TERMS,
    OVERDUE,
    OWN_VEHICLE,
    REINSTATE,
    RELEASE_LIEN,
    SUSPEND,
    action,
    govern,
    key,
    new_vehicle,
    sign_lien_consent,
)
from hypothesis import settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

VEHICLES = 3
GRACE = 30 * DAY
THRESHOLD_BPS, HYSTERESIS_BPS = 7000, 500
SETTINGS = settings(
    max_examples=40, stateful_step_count=30, deadline=None, derandomize=True, database=None
)


vehicle_index = strategy("uint8", max_value=VEHICLES - 1)
bank_index = strategy("uint8", max_value=2)
pick = strategy("uint16")
percent = strategy("uint8", min_value=1, max_value=100)
value_bps = strategy("uint16", min_value=6000, max_value=8500)
days = strategy("uint8", min_value=1, max_value=45)


class LoanLienMachine(RuleBasedStateMachine):
    """Bound to a deployed system by ``test_loans_liens_and_alerts`` (class attributes)."""

    system = reporter = loans_contract = vehicles = banks = keeper = None
    coverage: ClassVar[Counter] = (
        Counter()
    )  # successful state changes and alert events over the whole run

    def __init__(self):
        chain.revert()
        super().__init__()
        self.loans = {}  # loan id -> [vehicle, bank, state, principal, repaid]
        self.in_alert = {
            vehicle: None for vehicle in self.vehicles
        }  # vehicle -> loan id of its open alert
        self.alerts = 0

    # ------------------------------------------------------------ helpers

    def _loan(self, pick):
        if not self.loans:
            return None
        ids = sorted(self.loans)
        return ids[pick % len(ids)]

    def _send(self, function, *args, sender):
        """
        Sends a transaction; returns it, or None when it reverted. Checks every emitted state
        change.
        """
        try:
            tx = function(*args, {"from": sender})
        except brownie.exceptions.VirtualMachineError:
            return None
        changes = tx.events["LoanStateChanged"] if "LoanStateChanged" in tx.events else []  # noqa: SIM401
        for event in changes:
            loan_id, source, target = event["loanId"], event["from"], event["to"]
            if source == 0:
                continue  # creation, recorded by rule_apply
            assert source == self.loans[loan_id][2], "event does not start from the recorded state"
            assert target in ALLOWED_TRANSITIONS[source], (
                f"forbidden transition {source} -> {target}"
            )
            self.loans[loan_id][2] = target
            self.coverage[f"{source}->{target}"] += 1
        return tx

    def _lender_call(self, name, pick, *args):
        loan_id = self._loan(pick)
        if loan_id is not None:
            self._send(
                getattr(self.loans_contract, name), loan_id, *args, sender=self.loans[loan_id][1]
            )

    # ------------------------------------------------------------ rules

    @initialize()
    def open_one_loan_per_vehicle(self):
        for index in range(VEHICLES):
            self.rule_apply(index, index % len(self.banks))

    @rule(vehicle_index=vehicle_index, bank_index=bank_index)
    def rule_apply(self, vehicle_index, bank_index):
        vehicle, bank = self.vehicles[vehicle_index], self.banks[bank_index]
        principal = LOAN_TERMS["principal"]
        borrower = key(f"borrower:{len(self.loans)}")
        registrar = self.banks[0]  # registered every vehicle
        consent = (
            OWN_VEHICLE
            if bank == registrar
            else sign_lien_consent(
                registrar, self.loans_contract, vehicle, bank, borrower, principal
            )
        )
        tx = self._send(
            self.loans_contract.applyForLoan,
            vehicle,
            borrower,
            principal,
            LOAN_TERMS["rate"],
            LOAN_TERMS["term"],
            LOAN_TERMS["interval"],
            consent,
            sender=bank,
        )
        assert tx is not None
        self.loans[tx.return_value] = [vehicle, bank, APPLIED, principal, 0]

    @rule(pick=pick)
    def rule_approve(self, pick):
        self._lender_call("approve", pick)

    @rule(pick=pick)
    def rule_reject(self, pick):
        self._lender_call("reject", pick)

    @rule(pick=pick)
    def rule_cancel(self, pick):
        self._lender_call("cancel", pick)

    @rule(pick=pick)
    def rule_activate(self, pick):
        self._lender_call("activate", pick)

    @rule(pick=pick, percent=percent)
    def rule_repay(self, pick, percent):
        loan_id = self._loan(pick)
        if loan_id is None:
            return
        _, bank, _, principal, repaid = self.loans[loan_id]
        amount = max(1, (principal - repaid) * percent // 100)
        if (
            self._send(self.loans_contract.recordRepayment, loan_id, amount, sender=bank)
            is not None
        ):
            self.loans[loan_id][4] += amount

    @rule(pick=pick)
    def rule_mark_overdue(self, pick):
        loan_id = self._loan(pick)
        if loan_id is not None:
            self._send(self.loans_contract.markOverdue, loan_id, sender=self.keeper)

    @rule(pick=pick)
    def rule_mark_defaulted(self, pick):
        loan_id = self._loan(pick)
        if loan_id is not None:
            self._send(self.loans_contract.markDefaulted, loan_id, sender=self.keeper)

    @rule(pick=pick)
    def rule_expire_approval(self, pick):
        loan_id = self._loan(pick)
        if loan_id is not None:
            self._send(self.loans_contract.expireApproval, loan_id, sender=self.keeper)

    @rule(pick=pick)
    def rule_release_by_governance(self, pick):
        """The other banks suspend the lender, release its loan's lien by vote, and reinstate it
        (so the run goes on with three banks)."""
        loan_id = self._loan(pick)
        if loan_id is None or self.loans[loan_id][2] not in LIEN_STATES:
            return
        lender = self.loans[loan_id][1]
        others = [bank for bank in self.banks if bank != lender]
        consortium = self.system.consortium
        govern(consortium, action(SUSPEND, lender), others)
        proposal_id = consortium.propose(
            action(RELEASE_LIEN, lender, value=loan_id), {"from": others[0]}
        ).return_value
        for bank in others:
            consortium.vote(proposal_id, True, {"from": bank})
        tx = self._send(consortium.execute, proposal_id, sender=others[0])
        assert tx is not None, "a suspended lender's lien must be releasable"
        assert tx.events["LienReleasedByGovernance"]["loanId"] == loan_id
        govern(consortium, action(REINSTATE, lender), others)

    @rule(pick=pick, percent=percent)
    def rule_liquidate(self, pick, percent):
        self._lender_call("liquidate", pick, LOAN_TERMS["principal"] * percent // 100)

    @rule(pick=pick)
    def rule_close(self, pick):
        self._lender_call("close", pick)

    @rule(pick=pick)
    def rule_advance(self, pick):
        """
        Pushes a loan one step along the happy-to-default path, with the time jump its next step
        needs.
        """
        loan_id = self._loan(pick)
        if loan_id is None:
            return
        state, bank, loans = self.loans[loan_id][2], self.loans[loan_id][1], self.loans_contract
        if state == APPLIED:
            self._report(self.loans[loan_id][0], 8000)  # a fresh score
            self._send(loans.approve, loan_id, sender=bank)
        elif state == APPROVED:
            if self._send(loans.activate, loan_id, sender=bank) is None:
                self._send(loans.expireApproval, loan_id, sender=self.keeper)  # past APPROVAL_TTL
        elif state == LOAN_ACTIVE:
            chain.sleep(LOAN_TERMS["interval"] + 1)
            self._send(loans.markOverdue, loan_id, sender=self.keeper)
        elif state == OVERDUE:
            chain.sleep(GRACE + 1)
            self._send(loans.markDefaulted, loan_id, sender=self.keeper)
        elif state == DEFAULTED:
            self._send(loans.liquidate, loan_id, 1, sender=bank)
        else:
            self._send(loans.close, loan_id, sender=bank)

    @rule(days=days)
    def rule_sleep(self, days):
        chain.sleep(days * DAY)

    @rule(vehicle_index=vehicle_index, value_bps=value_bps)
    def rule_report(self, vehicle_index, value_bps):
        self._report(self.vehicles[vehicle_index], value_bps)

    @rule(pick=pick, value_bps=value_bps)
    def rule_report_on_loan_vehicle(self, pick, value_bps):
        loan_id = self._loan(pick)
        if loan_id is not None:
            self._report(self.loans[loan_id][0], value_bps)

    def _report(self, vehicle, value_bps):
        """Submits a report of one vehicle and checks its alert events against the model."""
        self.coverage["report"] += 1
        value = APPRAISAL * value_bps // 10_000
        lien = self.system.registry.lienOf(vehicle)
        lien_loan = lien["loanId"] if lien["active"] else None
        expected = []
        open_loan = self.in_alert[vehicle]
        if open_loan is not None:
            if lien_loan != open_loan:
                expected.append("ValueAlertClosed")
                open_loan = None
            elif value * 10_000 >= APPRAISAL * (THRESHOLD_BPS + HYSTERESIS_BPS):
                expected.append("ValueRecovered")
                open_loan = None
        if (
            open_loan is None
            and lien_loan is not None
            and value * 10_000 < APPRAISAL * THRESHOLD_BPS
        ):
            expected.append("ValueThresholdBreached")
            open_loan = lien_loan
        tx = self.reporter.submit([(vehicle, value_bps, value)])
        names = ("ValueAlertClosed", "ValueRecovered", "ValueThresholdBreached")
        fired = [name for name in names if name in tx.events for _ in tx.events[name]]
        assert fired == expected, f"alert events {fired}, model expects {expected}"
        self.coverage.update(fired)
        if "ValueThresholdBreached" in fired:
            self.alerts += 1
            assert tx.events["ValueThresholdBreached"]["alertId"] == self.alerts
            assert tx.events["ValueThresholdBreached"]["loanId"] == lien_loan
        self.in_alert[vehicle] = open_loan

    # ------------------------------------------------------------ invariants

    @invariant()
    def invariant_states_match_chain(self):
        for loan_id, (_, _, state, _, repaid) in self.loans.items():
            stored = self.loans_contract.loan(loan_id)
            assert stored["state"] == state
            assert stored["repaid"] == repaid

    @invariant()
    def invariant_lien_held_exactly_while_lien_state(self):
        for vehicle in self.vehicles:
            holders = [
                (i, loan[1])
                for i, loan in self.loans.items()
                if loan[0] == vehicle and loan[2] in LIEN_STATES
            ]
            assert len(holders) <= 1, f"two loans hold the lien of {vehicle}"
            lien = self.system.registry.lienOf(vehicle)
            assert lien["active"] == bool(holders)
            if holders:
                assert (lien["loanId"], lien["bank"]) == holders[0]

    @invariant()
    def invariant_open_alert_matches_model(self):
        for vehicle, loan_id in self.in_alert.items():
            alert_id = self.system.oracle.openAlertOf(vehicle)
            assert (alert_id != 0) == (loan_id is not None)
            if alert_id:
                assert self.system.oracle.alert(alert_id)["loanId"] == loan_id


def test_loans_liens_and_alerts(system, reporter):
    bank = system.members.banks[0]
    vehicles = [new_vehicle(system.registry, bank, f"machine-{i}") for i in range(VEHICLES)]
    reporter.submit([(vehicle, 8000, APPRAISAL) for vehicle in vehicles])
    machine = LoanLienMachine
    machine.system, machine.reporter, machine.loans_contract = system, reporter, system.loans
    machine.vehicles, machine.banks, machine.keeper = (
        vehicles,
        system.members.banks,
        system.members.auditor,
    )
    chain.snapshot()
    run_state_machine_as_test(machine, settings=SETTINGS)
    print(f"\nstate machine coverage: {dict(sorted(machine.coverage.items()))}")
    # The run must have exercised liens, alerts, expiry and governance release, or it proved
    # nothing.
    assert machine.coverage["1->2"]
    assert machine.coverage["ValueThresholdBreached"]
    assert machine.coverage["2->11"]  # Approved -> Expired
    assert sum(count for name, count in machine.coverage.items() if name.endswith("->12"))
