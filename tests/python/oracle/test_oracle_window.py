"""Several rounds in flight at once (`VCL_ORACLE_ROUNDS_IN_FLIGHT`), against a real anvil:
every round once and in order, a revert inside the window, an RPC outage inside it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flaky_proxy import FlakyProxy
from oracle_chain import OPERATORS, System, expected
from web3 import Web3
from web3.types import RPCEndpoint

from oracle.config import OracleSettings
from oracle.errors import ReportRejected, RoundConflict
from oracle.journal import Journal, RoundStatus, RunStatus
from oracle.operations import OracleNode, PlanOutcome, PushSession
from oracle.scoring import VehicleScore
from oracle.signing import build_reports, observation_time, report_entries, sign
from oracle.transmission import Event, PushSummary
from vcl.config import Settings
from vcl.localchain import LocalChain
from vcl.sender import TransactionSender


def window_node(settings: Settings, tmp_path: Path, rounds_in_flight: int) -> OracleNode:
    """A transmitter that sends one vehicle per round (the sample's six: six rounds)."""
    return OracleNode.connect(
        settings,
        OracleSettings(
            journal_path=tmp_path / "journal.sqlite",
            max_batch_vehicles=1,
            rounds_in_flight=rounds_in_flight,
            rpc_attempts=8,
            rpc_backoff_s=0.1,
            rpc_backoff_max_s=0.4,
        ),
    )


def push(
    node: OracleNode, scores: list[VehicleScore], events: list[tuple[Event, int]] | None = None
) -> PushSummary:
    hook = None if events is None else lambda event, round_id: events.append((event, round_id))
    with PushSession(node, on_event=hook) as session:
        session.plan_scores(scores)
        return session.transmit()


def accepted_rounds(system: System) -> list[int]:
    logs = system.oracle.events.ReportAccepted().get_logs(from_block=0)
    return [log["args"]["roundId"] for log in logs]


def nonce(w3: Web3, address: str, block: str = "latest") -> int:
    return w3.eth.get_transaction_count(address, block)  # type: ignore[arg-type]


def most_in_flight(events: list[tuple[Event, int]]) -> int:
    """The most rounds sent at once whose receipts had not been read yet."""
    sent: set[int] = set()
    most = 0
    for event, round_id in events:
        if event is Event.SENDING:
            sent.add(round_id)
            most = max(most, len(sent))
        elif event is Event.MINED:
            sent.discard(round_id)
    return most


@pytest.mark.parametrize("rounds_in_flight", [1, 4])
def test_a_push_sends_every_round_once_with_at_most_the_window_in_flight(
    rounds_in_flight: int,
    system: System,
    settings: Settings,
    tmp_path: Path,
    sample_scores: list[VehicleScore],
) -> None:
    system.register(sample_scores)
    node = window_node(settings, tmp_path, rounds_in_flight)
    before = nonce(node.w3, node.account.address)
    events: list[tuple[Event, int]] = []

    summary = push(node, sample_scores, events)

    rounds = list(range(1, len(sample_scores) + 1))
    assert summary.rounds == rounds
    assert most_in_flight(events) == rounds_in_flight
    assert [r for e, r in events if e is Event.CONFIRMED] == rounds  # each once, in order
    assert accepted_rounds(system) == rounds
    assert nonce(node.w3, node.account.address) == before + len(rounds)
    hashes = {outcome.tx_hash for outcome in summary.outcomes}
    assert len(hashes) == len(rounds)
    for tx_hash in hashes:
        assert node.w3.eth.get_transaction_receipt(tx_hash)["status"] == 1  # type: ignore[arg-type]
    with Journal(node.oracle_settings.journal_path) as journal:
        (run,) = journal.runs(node.contracts.chain_id, node.contracts.oracle_address)
        assert run.status is RunStatus.DONE
        assert {row.tx_hash for row in journal.rounds_of(run.id)} == hashes
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)


@contextmanager
def interval_mining(rpc_url: str) -> Iterator[None]:
    """Blocks every second, as on a QBFT network, instead of one per transaction."""
    provider = Web3.HTTPProvider(rpc_url)
    provider.make_request(RPCEndpoint("evm_setAutomine"), [False])
    provider.make_request(RPCEndpoint("evm_setIntervalMining"), [1])
    try:
        yield
    finally:
        provider.make_request(RPCEndpoint("evm_setIntervalMining"), [0])
        provider.make_request(RPCEndpoint("evm_setAutomine"), [True])


def test_rounds_in_flight_are_mined_in_the_same_block(
    system: System, settings: Settings, tmp_path: Path, sample_scores: list[VehicleScore]
) -> None:
    scores = sample_scores[:4]
    system.register(scores)  # on the automining chain: fast
    node = window_node(settings, tmp_path, rounds_in_flight=4)

    with interval_mining(settings.rpc_url):
        summary = push(node, scores)

    assert summary.rounds == [1, 2, 3, 4]
    blocks = [outcome.block_number for outcome in summary.outcomes]
    assert blocks == sorted(blocks)
    # Each report is sent with half a block's gas as its limit: two fit a block.
    assert len(set(blocks)) < len(blocks)
    assert system.scores_on_chain(scores) == expected(scores)


def test_a_revert_inside_the_window_waits_for_the_rest_and_rejects_that_round(
    system: System, settings: Settings, tmp_path: Path, sample_scores: list[VehicleScore]
) -> None:
    unknown = sample_scores[1]  # round 2's vehicle is not in the registry
    system.register([s for s in sample_scores if s is not unknown])
    node = window_node(settings, tmp_path, rounds_in_flight=3)
    address = node.account.address
    before = nonce(node.w3, address)

    with pytest.raises(ReportRejected) as caught:
        push(node, sample_scores)

    assert caught.value.round_id == 2
    assert caught.value.error_name == "OracleUnknownVehicle"
    # Rounds 3 and 4 were in flight when round 2 reverted; the oracle takes any higher
    # round, so they landed, and the error says so. Nothing of this key is left pending.
    assert "round(s) 3, 4, already sent, were accepted" in str(caught.value)
    assert accepted_rounds(system) == [1, 3, 4]
    assert nonce(node.w3, address, "pending") == nonce(node.w3, address) == before + 4
    with Journal(node.oracle_settings.journal_path) as journal:
        (run,) = journal.runs(node.contracts.chain_id, node.contracts.oracle_address)
        assert run.status is RunStatus.FAILED
        assert run.error is not None
        assert run.error.startswith("round 2: ")
        assert "OracleUnknownVehicle" in run.error
        done, rejected, abandoned = (
            RoundStatus.CONFIRMED,
            RoundStatus.REJECTED,
            RoundStatus.ABANDONED,
        )
        assert [r.status for r in journal.rounds_of(run.id)] == [
            *(done, rejected, done, done),
            *(abandoned, abandoned),
        ]

    # Once the vehicle is registered, the same scores go through under new rounds.
    system.register([unknown])
    with PushSession(node) as session:
        plan = session.plan_scores(sample_scores)
        summary = session.transmit()
    assert plan.outcome is PlanOutcome.PLANNED
    assert summary.rounds == list(range(5, 11))
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)


OUTAGE_S = 2.5  # longer than the provider's own retries of read calls (about 1.9 s)


def test_an_rpc_outage_inside_the_window_is_retried_and_sends_each_round_once(
    system: System,
    anvil: LocalChain,
    settings: Settings,
    tmp_path: Path,
    sample_scores: list[VehicleScore],
) -> None:
    scores = sample_scores[:4]
    system.register(scores)
    proxy = FlakyProxy(anvil.config.port)
    proxy.up()
    node = window_node(settings.model_copy(update={"rpc_url": proxy.url}), tmp_path, 4)
    address = node.account.address
    before = nonce(system.oracle.w3, address)
    events: list[tuple[Event, int]] = []

    def outage(event: Event, round_id: int) -> None:
        events.append((event, round_id))
        if event is Event.MINED and round_id == 1:
            # All four rounds are sent; reading round 2's receipt meets a dead endpoint.
            proxy.down()
            threading.Timer(OUTAGE_S, proxy.up).start()

    try:
        with PushSession(node, on_event=outage) as session:
            session.plan_scores(scores)
            summary = session.transmit()
    finally:
        proxy.down()

    assert summary.rounds == [1, 2, 3, 4]
    assert summary.retries >= 1
    assert (Event.RETRYING, 2) in events
    # Rounds 2-4 were on-chain when the endpoint came back: found, not resent.
    assert [r for e, r in events if e is Event.FOUND] == [2, 3, 4]
    assert [e for e, _ in events].count(Event.SENDING) == 4
    assert accepted_rounds(system) == [1, 2, 3, 4]
    assert nonce(system.oracle.w3, address) == before + 4
    assert system.scores_on_chain(scores) == expected(scores)


def test_a_round_taken_inside_the_window_is_a_conflict_found_by_reconciling(
    system: System,
    settings: Settings,
    tmp_path: Path,
    sample_scores: list[VehicleScore],
    sender_for: Callable[[int], TransactionSender],
) -> None:
    scores = sample_scores[:4]
    system.register(scores)
    node = window_node(settings, tmp_path, rounds_in_flight=4)
    # Another operator's node sends its own report under round 2 just after our round 1.
    (theirs,) = build_reports(
        report_entries(scores[:1], node.vin_secret),
        first_round=2,
        model_version=scores[0].model_version,
        observed_at=observation_time(scores[0].as_of),
        batch_size=1,
        chain_id=node.contracts.chain_id,
        oracle=node.contracts.oracle_address,
    )
    signatures = [sign(theirs, sender_for(i).account).signature for i in OPERATORS]
    other = sender_for(OPERATORS[1])

    def race(event: Event, round_id: int) -> None:
        if event is Event.SENDING and round_id == 2:
            other.transact(system.oracle.functions.submitReport(theirs.report.as_abi(), signatures))

    with PushSession(node, on_event=race) as session:
        session.plan_scores(scores)
        with pytest.raises(RoundConflict, match="round 2 holds report"):
            session.transmit()

    # Our round 2 reverted (OracleStaleRound), so the chain was asked: round 2 is theirs,
    # our rounds 1, 3 and 4 are on-chain and confirmed, and nothing of ours is pending.
    address = node.account.address
    assert nonce(node.w3, address, "pending") == nonce(node.w3, address)
    assert accepted_rounds(system) == [1, 2, 3, 4]
    with Journal(node.oracle_settings.journal_path) as journal:
        (run,) = journal.runs(node.contracts.chain_id, node.contracts.oracle_address)
        statuses = [r.status for r in journal.rounds_of(run.id)]
    done, rejected = RoundStatus.CONFIRMED, RoundStatus.REJECTED
    assert statuses == [done, rejected, done, done]
