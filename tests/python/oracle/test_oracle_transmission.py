"""Transmission against a real anvil: batches, gas, alerts, reverts, RPC failures, conflicts."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flaky_proxy import FlakyProxy
from oracle_chain import OPERATORS, System, expected
from web3 import Web3
from web3.types import TxReceipt

from oracle.config import OracleSettings
from oracle.errors import PreflightError, ReportRejected, RoundConflict
from oracle.journal import Journal, RoundStatus, RunStatus
from oracle.model import ScoreModel
from oracle.operations import OracleNode, PlanOutcome, PushSession, score_feeds
from oracle.sample_fleet import generate_fleet
from oracle.scoring import VehicleScore
from oracle.signing import build_reports, observation_time, report_entries, sign
from oracle.transmission import GAS_PER_VEHICLE, REPORT_BASE_GAS, Event
from vcl.config import Settings
from vcl.localchain import LocalChain
from vcl.sender import PendingTransaction, TransactionSender


def accepted_rounds(system: System) -> list[int]:
    """Every round the oracle accepted, in order, as its events tell."""
    logs = system.oracle.events.ReportAccepted().get_logs(from_block=0)
    return [log["args"]["roundId"] for log in logs]


def nonce(node: OracleNode, w3: Web3 | None = None) -> int:
    return (w3 or node.w3).eth.get_transaction_count(node.account.address)


def measured_gas(node: OracleNode, scores: list[VehicleScore]) -> tuple[int, int]:
    """(fixed, per vehicle) gas of `submitReport`, estimated for 1 and for all vehicles on
    the same state, with the signatures of the three dev operators."""
    gas = []
    accounts = node.signing_accounts()
    for count in (1, len(scores)):
        (report,) = build_reports(
            report_entries(scores[:count], node.vin_secret),
            first_round=1,
            model_version=scores[0].model_version,
            observed_at=1,
            batch_size=count,
            chain_id=node.contracts.chain_id,
            oracle=node.contracts.oracle_address,
        )
        signatures = [sign(report, account).signature for account in accounts]
        call = node.contracts.oracle.functions.submitReport(report.report.as_abi(), signatures)
        gas.append(call.estimate_gas({"from": node.account.address}))
    per_vehicle = (gas[1] - gas[0]) // (len(scores) - 1)
    return gas[0] - per_vehicle, per_vehicle


def push(node: OracleNode, scores: list[VehicleScore], **plan: Any) -> tuple[Any, Any]:
    with PushSession(node) as session:
        outcome = session.plan_scores(scores, **plan)
        return outcome, session.transmit()


def test_a_100_vehicle_fleet_fits_one_report_within_the_gas_budget(
    system: System, node: OracleNode, default_model: ScoreModel, tmp_path: Path
) -> None:
    generate_fleet(tmp_path / "fleet", vehicles=100, seed=7)
    scores = score_feeds(tmp_path / "fleet", default_model)
    system.register(scores)
    assert node.batch_size() >= 100
    first, per_vehicle = measured_gas(node, scores)
    print(f"submitReport gas: {first} fixed + {per_vehicle} per vehicle (first scores)")
    assert per_vehicle <= GAS_PER_VEHICLE
    assert first <= REPORT_BASE_GAS
    before = nonce(node)

    plan, summary = push(node, scores)

    assert plan.outcome is PlanOutcome.PLANNED
    assert summary.rounds == [1]
    assert summary.vehicles == 100
    assert summary.gas_used <= REPORT_BASE_GAS + 100 * GAS_PER_VEHICLE
    print(f"100-vehicle report: {summary.gas_used} gas, {summary.gas_used // 100} per vehicle")
    assert system.scores_on_chain(scores) == expected(scores)
    # The same scores again: recognised, nothing sent.
    plan, summary = push(node, scores)
    assert plan.outcome is PlanOutcome.ALREADY_DONE
    assert summary.transactions == 0
    assert nonce(node) == before + 1


def test_batches_are_consecutive_rounds_sent_by_one_key(
    system: System, settings: Settings, tmp_path: Path, sample_scores: list[VehicleScore]
) -> None:
    node = OracleNode.connect(
        settings, OracleSettings(journal_path=tmp_path / "j.sqlite", max_batch_vehicles=4)
    )
    system.register(sample_scores)

    _, summary = push(node, sample_scores)

    assert summary.rounds == [1, 2]
    assert [o.vehicles for o in summary.outcomes] == [4, 2]
    logs = system.oracle.events.ReportAccepted().get_logs(from_block=0)
    assert {log["args"]["transmitter"] for log in logs} == {node.account.address}
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)


def test_alerts_are_counted_for_liened_vehicles_that_fall_below_the_threshold(
    system: System, node: OracleNode, sample_scores: list[VehicleScore]
) -> None:
    system.register(sample_scores)
    now = node.w3.eth.get_block("latest")["timestamp"]
    push(node, sample_scores, observed_at=now - 1)  # fresh scores: loans can be approved
    pledged = [sample_scores[0], sample_scores[-1]]
    system.pledge(pledged)

    _, summary = push(node, sample_scores, observed_at=now)

    below = [s for s in pledged if s.below(node.contracts.alert_threshold_bps())]
    assert len(below) == 1  # the sample's last vehicle is worth 64% of its appraisal
    assert summary.alerts == len(below)
    assert system.oracle.functions.alertCount().call() == 1


def test_a_revert_is_recorded_and_not_retried(
    system: System, node: OracleNode, sample_scores: list[VehicleScore]
) -> None:
    system.register(sample_scores[:-1])  # the last vehicle is unknown to the registry
    events: list[Event] = []
    before = nonce(node)
    with PushSession(node, on_event=lambda event, _: events.append(event)) as session:
        session.plan_scores(sample_scores)
        with pytest.raises(ReportRejected) as caught:
            session.transmit()
    assert caught.value.error_name == "OracleUnknownVehicle"
    assert Event.RETRYING not in events
    # Reports go out with their gas budget, not estimated: the reverted transaction is mined
    # (decoded from it), the round is not taken, and nothing more was sent.
    assert nonce(node) == before + 1
    assert accepted_rounds(system) == []
    with Journal(node.oracle_settings.journal_path) as journal:
        (run,) = journal.runs(node.contracts.chain_id, node.contracts.oracle_address)
        assert run.status is RunStatus.FAILED
        assert [r.status for r in journal.rounds_of(run.id)] == [RoundStatus.REJECTED]
    # Once the vehicle is registered, the same scores go through under the same round.
    system.register(sample_scores[-1:])
    plan, summary = push(node, sample_scores)
    assert plan.outcome is PlanOutcome.PLANNED
    assert summary.rounds == [1]
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)


def test_an_unapproved_model_is_refused_before_anything_is_journaled(
    system: System, node: OracleNode, sample_scores: list[VehicleScore]
) -> None:
    version = os.urandom(32)
    unapproved = [dataclasses.replace(s, model_version=version) for s in sample_scores]
    with PushSession(node) as session, pytest.raises(PreflightError, match="not approved"):
        session.plan_scores(unapproved)
    with Journal(node.oracle_settings.journal_path) as journal:
        assert journal.runs(node.contracts.chain_id, node.contracts.oracle_address) == []


class LosesOneReceipt(TransactionSender):
    """The node takes the transaction but the answer is lost on the way back, once."""

    lost = False

    def confirm(self, pending: PendingTransaction) -> TxReceipt:
        receipt = super().confirm(pending)
        if not self.lost:
            self.lost = True
            raise ConnectionResetError("connection reset while reading the receipt")
        return receipt


OUTAGE_S = 2.5


def test_rpc_failures_are_retried_with_backoff_and_nothing_is_sent_twice(
    system: System,
    anvil: LocalChain,
    settings: Settings,
    tmp_path: Path,
    sample_scores: list[VehicleScore],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    system.register(sample_scores)
    proxy = FlakyProxy(anvil.config.port)
    proxy.up()
    through_proxy = settings.model_copy(update={"rpc_url": proxy.url})
    oracle_settings = OracleSettings(
        journal_path=tmp_path / "j.sqlite",
        max_batch_vehicles=2,
        rpc_attempts=8,
        rpc_backoff_s=0.1,
        rpc_backoff_max_s=0.4,
    )
    node = OracleNode.connect(through_proxy, oracle_settings)
    lossy = LosesOneReceipt(node.w3, node.account, node.sender().decoder)
    monkeypatch.setattr(OracleNode, "sender", lambda _self: lossy)
    before = nonce(node)

    def outage(event: Event, round_id: int) -> None:
        if event is Event.SENDING and round_id == 2 and not hasattr(outage, "done"):
            outage.done = True  # type: ignore[attr-defined]
            proxy.down()
            # Longer than the provider's own retries of read calls (vcl.rpc_transport: about
            # 1.9 s), so the outage reaches the oracle's retry policy.
            threading.Timer(OUTAGE_S, proxy.up).start()

    try:
        with PushSession(node, on_event=outage) as session:
            session.plan_scores(sample_scores)
            summary = session.transmit()
    finally:
        proxy.down()

    assert summary.rounds == [1, 2, 3]
    assert summary.retries >= 2  # the lost receipt, and the outage (at least once)
    # Found on-chain, not resent: round 1 (sent just before the outage, its receipt never
    # read), then rounds 2 and 3 (both in flight when round 2's receipt was lost).
    assert summary.recovered == 3
    assert accepted_rounds(system) == [1, 2, 3]
    assert nonce(node, system.oracle.w3) == before + 3
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)


def test_a_round_taken_by_another_transmitter_is_a_conflict_and_a_rerun_replans(
    system: System,
    node: OracleNode,
    sample_scores: list[VehicleScore],
    sender_for: Callable[[int], TransactionSender],
) -> None:
    system.register(sample_scores)
    with PushSession(node) as session:
        session.plan_scores(sample_scores)
        # Another operator's node sends its own report under round 1 first.
        theirs = build_reports(
            report_entries(sample_scores[:1], node.vin_secret),
            first_round=1,
            model_version=sample_scores[0].model_version,
            observed_at=1,
            batch_size=1,
            chain_id=node.contracts.chain_id,
            oracle=node.contracts.oracle_address,
        )[0]
        signers = [sender_for(i).account for i in OPERATORS]
        signatures = [sign(theirs, account).signature for account in signers]
        sender_for(OPERATORS[1]).transact(
            system.oracle.functions.submitReport(theirs.report.as_abi(), signatures)
        )
        with pytest.raises(RoundConflict, match="round 1 holds report"):
            session.transmit()

    plan, summary = push(node, sample_scores)
    assert plan.outcome is PlanOutcome.PLANNED
    assert summary.rounds == [2]
    assert accepted_rounds(system) == [1, 2]
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)


def test_a_round_taken_during_a_push_ends_it_and_a_rerun_sends_the_rest(
    system: System,
    node: OracleNode,
    sample_scores: list[VehicleScore],
    sender_for: Callable[[int], TransactionSender],
) -> None:
    """A push reads the chain's latest round once: its later runs number their rounds after
    the journal's, so another transmitter's round sent meanwhile is a conflict, not a lost
    score."""
    system.register(sample_scores)
    first, rest = sample_scores[:3], sample_scores[3:]
    with PushSession(node) as session:
        session.plan_scores(first)
        assert session.transmit().rounds == [1]
        # Another operator's node sends round 2 while this push plans its next run.
        theirs = build_reports(
            report_entries(first[:1], node.vin_secret),
            first_round=2,
            model_version=first[0].model_version,
            observed_at=observation_time(first[0].as_of),
            batch_size=1,
            chain_id=node.contracts.chain_id,
            oracle=node.contracts.oracle_address,
        )[0]
        signatures = [sign(theirs, sender_for(i).account).signature for i in OPERATORS]
        sender_for(OPERATORS[1]).transact(
            system.oracle.functions.submitReport(theirs.report.as_abi(), signatures)
        )
        session.plan_scores(rest)
        with pytest.raises(RoundConflict, match="round 2 holds report"):
            session.transmit()

    plan, summary = push(node, rest)
    assert plan.outcome is PlanOutcome.PLANNED
    assert summary.rounds == [3]
    assert accepted_rounds(system) == [1, 2, 3]
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)
