"""The pipelined push (`oracle.pipelined_push`) against a real anvil: runs are planned while
earlier ones are sent, every score lands once, and a failure on either side stops the push
without losing or repeating a round."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from deliveries import sample_delivery
from eth_account.signers.local import LocalAccount
from oracle_chain import System, expected

from oracle import operations
from oracle.config import OracleSettings
from oracle.errors import FeedRejected, ReportOutOfBounds, ReportRejected, ScoringError
from oracle.feed_split import split_feeds
from oracle.feed_store import FeedStore
from oracle.fleet_feeds import FleetFeeds
from oracle.journal import Journal, RoundStatus, RunStatus
from oracle.model import ScoreModel
from oracle.operations import OracleNode, PlanOutcome, PushSession
from oracle.pipelined_push import (
    push_pipelined,
    scored_from_store,
    scored_in_chunks,
    scored_with_delivery,
)
from oracle.report_files import OracleReport, SignatureFile
from oracle.scoring import VehicleScore, score_fleet
from oracle.transmission import Event
from vcl.config import Settings

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


def test_a_push_longer_than_the_round_gap_waits_for_the_chain_and_never_signs_past_it(
    system: System,
    settings: Settings,
    tmp_path: Path,
    sample_scores: list[VehicleScore],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With MAX_ROUND_GAP = 2 the keys sign no round more than 2 past the chain's latest: the
    planner waits while the transmitter sends the rounds before; a single run of six rounds
    is refused before anything is signed or journaled."""
    system.register(sample_scores)
    system.set_parameter("MAX_ROUND_GAP", 2)
    node = small_batches(settings, tmp_path)
    with (
        PushSession(node) as session,
        pytest.raises(ReportOutOfBounds, match="6 reports would be signed at once"),
    ):
        session.plan_scores(sample_scores)
    assert accepted_rounds(system) == []

    signed: list[tuple[int, int]] = []  # (round signed, the chain's latest round then)
    sign_all = operations.sign_all

    def watched(
        report: OracleReport, accounts: list[LocalAccount]
    ) -> list[tuple[str, SignatureFile]]:
        signed.append((report.round_id, system.oracle.functions.latestRound().call()))
        return sign_all(report, accounts)

    monkeypatch.setattr(operations, "sign_all", watched)
    with PushSession(node) as session:
        pushed = push_pipelined(session, ([score] for score in sample_scores))
    assert pushed.summary.rounds == [1, 2, 3, 4, 5, 6]
    assert [round_id for round_id, _ in signed] == [1, 2, 3, 4, 5, 6]
    assert all(round_id <= latest + 2 for round_id, latest in signed), signed
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
    sample_delivery(delivery)
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


# ------------------------------------------------- a delivery pushed with the store

CUT = date(2025, 8, 26)  # the sample's last rows: two of its six vehicles report after it


@pytest.fixture
def store_and_day(tmp_path: Path) -> tuple[Path, Path]:
    """A feed store holding the sample before `CUT`, and the delivery of the rest."""
    sample = tmp_path / "sample"
    sample_delivery(sample)
    split_feeds(sample, CUT, tmp_path / "history", tmp_path / "day")
    store = tmp_path / "feeds.sqlite"
    with FeedStore(store) as opened:
        opened.ingest(tmp_path / "history")
    return store, tmp_path / "day"


def deliveries_in(store: Path) -> int:
    with FeedStore(store) as opened:
        return len(opened.deliveries())


def test_a_delivery_pushed_with_the_store_scores_in_the_chunks_of_a_rerun(
    store_and_day: tuple[Path, Path],
    sample_feeds: FleetFeeds,
    default_model: ScoreModel,
    tmp_path: Path,
) -> None:
    store, day = store_and_day
    ingested_first = tmp_path / "ingested-first.sqlite"
    shutil.copy(store, ingested_first)
    with scored_with_delivery(store, day, default_model, size=4) as scored:
        assert not scored.ingested.already
        assert scored.vehicles == 6
        chunks = list(scored.chunks)
    # A rerun after a crash finds the delivery in and scores the store: the same chunks, so
    # the journal recognises every run.
    with FeedStore(ingested_first) as opened:
        opened.ingest(day)
    count, rerun = scored_from_store(ingested_first, default_model, size=4)
    assert count == 6
    assert chunks == list(rerun)
    # The vehicles the delivery changed come last; the scores are the whole year's.
    pushed = [score for chunk in chunks for score in chunk]
    changed = {vin for vin, h in sample_feeds.vehicles.items() if h.latest_date >= CUT}
    assert 0 < len(changed) < 6
    assert {score.vin for score in pushed[-len(changed) :]} == changed
    by_vin = {score.vin: score for score in score_fleet(sample_feeds, default_model)}
    assert {score.vin: score for score in pushed} == by_vin


def test_the_vehicles_a_delivery_leaves_alone_are_scored_before_it_is_written(
    store_and_day: tuple[Path, Path], sample_feeds: FleetFeeds, default_model: ScoreModel
) -> None:
    store, day = store_and_day
    changed = {vin for vin, h in sample_feeds.vehicles.items() if h.latest_date >= CUT}
    with scored_with_delivery(store, day, default_model, size=1) as scored:
        first = next(scored.chunks)
        assert first[0].vin not in changed
        assert deliveries_in(store) == 1  # seen from another connection: not written yet
        rest = list(scored.chunks)
        assert deliveries_in(store) == 2
    assert {score.vin for chunk in rest[-len(changed) :] for score in chunk} == changed


def test_a_validated_delivery_is_written_even_when_the_push_stops_early(
    store_and_day: tuple[Path, Path], default_model: ScoreModel
) -> None:
    store, day = store_and_day
    with scored_with_delivery(store, day, default_model, size=1) as scored:
        next(scored.chunks)  # the push stopped after its first run
    assert deliveries_in(store) == 2
    with scored_with_delivery(store, day, default_model, size=1) as again:
        assert again.ingested.already


def test_a_delivery_that_fails_validation_is_neither_written_nor_scored(
    store_and_day: tuple[Path, Path], default_model: ScoreModel
) -> None:
    store, day = store_and_day
    telemetry = day / "telemetry.jsonl"
    telemetry.write_text(telemetry.read_text() + '{"vin": "not a vin"}\n')
    with (
        pytest.raises(FeedRejected),
        scored_with_delivery(store, day, default_model, size=1),
    ):
        pytest.fail("nothing is scored for a rejected delivery")
    assert deliveries_in(store) == 1


def test_a_new_vehicle_that_cannot_be_scored_fails_before_any_chunk(
    default_model: ScoreModel, sample_feeds: FleetFeeds, tmp_path: Path
) -> None:
    delivery = tmp_path / "delivery"
    sample_delivery(delivery)
    first_appraisal = min(v.vehicle.appraisal_date for v in sample_feeds.vehicles.values())
    store = tmp_path / "feeds.sqlite"
    with (
        pytest.raises(ScoringError, match="not yet appraised"),
        scored_with_delivery(
            store, delivery, default_model, size=4, as_of=first_appraisal.replace(day=1)
        ),
    ):
        pytest.fail("no chunk for a fleet that cannot be scored")
    assert deliveries_in(store) == 1  # validated, so kept: as `ingest` then `push --store`
