"""The pipelined push (`oracle.pipelined_push`) against a real anvil: runs are planned while
earlier ones are sent, every score lands once, and a failure on either side stops the push
without losing or repeating a round."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from oracle_chain import System, expected

from oracle.config import OracleSettings
from oracle.errors import ReportRejected, ScoringError
from oracle.feed_store import FeedStore
from oracle.fleet_feeds import FleetFeeds
from oracle.journal import Journal, RoundStatus, RunStatus
from oracle.model import ScoreModel
from oracle.operations import OracleNode, PlanOutcome, PushSession
from oracle.pipelined_push import push_pipelined, scored_from_store, scored_in_chunks
from oracle.scoring import VehicleScore, score_fleet
from oracle.transmission import Event
from vcl.config import Settings

SAMPLE_DIR = Path(__file__).parents[2] / "data" / "oracle" / "sample"
WAIT_S = 30  # far beyond a push of six vehicles: only a deadlock would reach it


def small_batches(settings: Settings, tmp_path: Path) -> OracleNode:
    """A transmitter that sends one vehicle per round: the sample's six are six rounds."""
    return OracleNode.connect(
        settings,
        OracleSettings(journal_path=tmp_path / "journal.sqlite", max_batch_vehicles=1),
    )


def accepted_rounds(system: System) -> list[int]:
    logs = system.oracle.events.ReportAccepted().get_logs(from_block=0)
    return [log["args"]["roundId"] for log in logs]


def test_the_next_run_is_planned_while_the_first_is_sent(
    system: System, settings: Settings, tmp_path: Path, sample_scores: list[VehicleScore]
) -> None:
    system.register(sample_scores)
    first_confirmed = threading.Event()

    def on_event(event: Event, round_id: int) -> None:
        if event is Event.CONFIRMED and round_id == 1:
            first_confirmed.set()

    def chunks() -> Iterator[list[VehicleScore]]:
        yield sample_scores[:2]
        # The second run is planned only once the first run's first round is on-chain: a push
        # that sent nothing before planning everything would never get here.
        assert first_confirmed.wait(WAIT_S), "nothing was sent while planning"
        yield sample_scores[2:]

    with PushSession(small_batches(settings, tmp_path), on_event=on_event) as session:
        pushed = push_pipelined(session, chunks())

    assert [plan.outcome for plan in pushed.plans] == [PlanOutcome.PLANNED] * 2
    assert pushed.summary.rounds == [1, 2, 3, 4, 5, 6]
    assert accepted_rounds(system) == [1, 2, 3, 4, 5, 6]
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)


def test_the_same_push_again_finds_every_run_done(
    system: System,
    settings: Settings,
    tmp_path: Path,
    sample_feeds: FleetFeeds,
    default_model: ScoreModel,
    sample_scores: list[VehicleScore],
) -> None:
    system.register(sample_scores)
    node = small_batches(settings, tmp_path)
    for expected_outcome in (PlanOutcome.PLANNED, PlanOutcome.ALREADY_DONE):
        with PushSession(node) as session:
            chunks = scored_in_chunks(sample_feeds, default_model, size=4)
            pushed = push_pipelined(session, chunks)
        assert [plan.outcome for plan in pushed.plans] == [expected_outcome] * 2
    assert accepted_rounds(system) == [1, 2, 3, 4, 5, 6]  # nothing sent the second time
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)


def test_a_planner_failure_stops_the_push_after_what_was_journaled_is_sent(
    system: System, settings: Settings, tmp_path: Path, sample_scores: list[VehicleScore]
) -> None:
    system.register(sample_scores)

    def chunks() -> Iterator[list[VehicleScore]]:
        yield sample_scores[:2]
        raise ScoringError("the feeds of the second run are unreadable")

    with (
        PushSession(small_batches(settings, tmp_path)) as session,
        pytest.raises(ScoringError, match="second run"),
    ):
        push_pipelined(session, chunks())
    assert accepted_rounds(system) == [1, 2]
    assert system.scores_on_chain(sample_scores[:2]) == expected(sample_scores[:2])
    with Journal(tmp_path / "journal.sqlite", exclusive=False) as journal:
        [run] = journal.runs(system.oracle.w3.eth.chain_id, system.oracle.address)
        assert {row.status for row in journal.rounds_of(run.id)} == {RoundStatus.CONFIRMED}


def test_a_rejected_round_ends_the_push_and_every_run_planned_after_it(
    system: System, settings: Settings, tmp_path: Path, sample_scores: list[VehicleScore]
) -> None:
    system.register(sample_scores[:2])  # the later vehicles are unknown to the registry

    def chunks() -> Iterator[list[VehicleScore]]:
        yield sample_scores[:2]
        yield sample_scores[2:4]
        yield sample_scores[4:]

    with (
        PushSession(small_batches(settings, tmp_path)) as session,
        pytest.raises(ReportRejected, match="OracleUnknownVehicle") as rejected,
    ):
        push_pipelined(session, chunks())
    assert rejected.value.round_id == 3
    assert accepted_rounds(system) == [1, 2]
    address = session.node.account.address
    w3 = system.oracle.w3
    assert w3.eth.get_transaction_count(address, "pending") == w3.eth.get_transaction_count(address)
    with Journal(tmp_path / "journal.sqlite", exclusive=False) as journal:
        runs = journal.runs(w3.eth.chain_id, system.oracle.address)
        # Nothing of this push is left for the next one to send.
        assert journal.unfinished_rounds(w3.eth.chain_id, system.oracle.address) == []
        statuses = {run.id: run.status for run in runs}
    assert sorted(statuses.values()) == sorted(
        [RunStatus.DONE] + [RunStatus.FAILED] * (len(runs) - 1)
    )


def test_a_vehicle_that_cannot_be_scored_fails_before_anything_is_planned(
    sample_feeds: FleetFeeds, default_model: ScoreModel
) -> None:
    first_appraisal = min(v.vehicle.appraisal_date for v in sample_feeds.vehicles.values())
    with pytest.raises(ScoringError, match="not yet appraised"):
        scored_in_chunks(sample_feeds, default_model, size=2, as_of=first_appraisal.replace(day=1))


def test_the_store_streams_the_scores_of_its_whole_fleet(
    sample_feeds: FleetFeeds, default_model: ScoreModel, tmp_path: Path
) -> None:
    delivery = tmp_path / "delivery"
    shutil.copytree(SAMPLE_DIR, delivery, ignore=shutil.ignore_patterns("outcomes.csv", "*.json"))
    store = tmp_path / "feeds.sqlite"
    with FeedStore(store) as opened:
        opened.ingest(delivery)
    count, chunks = scored_from_store(store, default_model, size=4)
    streamed = [score for chunk in chunks for score in chunk]
    assert count == len(streamed) == 6
    assert streamed == score_fleet(sample_feeds, default_model)
    first_appraisal = min(v.vehicle.appraisal_date for v in sample_feeds.vehicles.values())
    with pytest.raises(ScoringError, match="not yet appraised"):
        scored_from_store(store, default_model, size=4, as_of=first_appraisal.replace(day=1))
