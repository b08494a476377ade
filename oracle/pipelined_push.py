"""A push that plans while it sends: scoring and signing overlap the chain's work.

A fleet is scored and planned in chunks of a few batches, each chunk its own run: its own
input key, its reports signed and journaled in one transaction (rule 1 of
`oracle.transmission`). A planner thread does that, chunk after chunk, with its own
connection to the journal; this thread transmits each run's rounds as soon as they are
journaled, keeping its window of rounds in flight. The chain then mines one chunk while the
next is scored and signed, instead of waiting for the whole fleet to be planned.

Crash safety is the journal's, unchanged: nothing is sent before it is journaled, and a
rerun after a crash scores the same chunks in the same order, finds each one's run by its key
(done, or to resume) and plans only what is missing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path

from oracle.errors import ReportRejected, RoundConflict
from oracle.feed_files import OnError
from oracle.feed_store import FeedStore, Ingested, PendingIngest, StoredFleet
from oracle.fleet_feeds import FleetFeeds
from oracle.gc_pause import gc_paused
from oracle.journal import Journal
from oracle.model import ScoreModel
from oracle.operations import Plan, PushSession
from oracle.scoring import VehicleScore, score_vehicle
from oracle.transmission import PushSummary
from oracle.vehicle_history import VehicleHistory

# Batches a run holds: few enough that the chain starts early, enough that a run's fixed
# costs (reads of the chain, one journal transaction) stay small. The first run holds one
# batch, so that the first report goes out sooner.
BATCHES_PER_RUN = 2


@dataclass
class PipelinedPush:
    """What a pipelined push did: a plan per chunk, and what the transmitter sent."""

    plans: list[Plan] = field(default_factory=list)
    summary: PushSummary = field(default_factory=PushSummary)
    planning_s: float = 0.0  # the planner's time, from its start to its last run journaled


def scored_in_chunks(
    fleet: FleetFeeds | StoredFleet, model: ScoreModel, *, size: int, as_of: date | None = None
) -> Iterator[list[VehicleScore]]:
    """The fleet's scores as of `as_of` (default: its latest data), `size` vehicles at a time,
    computed as they are asked for. A vehicle that cannot be scored on that day fails here,
    before any chunk: a push does not stop half-way for it."""
    histories = fleet.histories()
    when = fleet.latest_date if as_of is None else as_of
    for history in histories:
        if when < history.vehicle.appraisal_date:
            score_vehicle(history, model, when)  # raises the ScoringError that names the case
    return _scored(_chunked(histories, size), model, when)


def scored_from_store(
    store_path: Path, model: ScoreModel, *, size: int, as_of: date | None = None
) -> tuple[int, Iterator[list[VehicleScore]]]:
    """The feed store's vehicle count, and its fleet's scores as of `as_of` (default: its
    latest data), `size` at a time, in the store's push order: each chunk read from the store
    and scored as it is asked for, so that the first reports go out while the rest of the
    store is still unread. (Not in another process: the chain needs the second core, and
    measured slower.) As `scored_in_chunks`, a vehicle with no score on the day fails here,
    before any chunk."""
    with FeedStore(store_path) as store:
        return _store_scores(store, None, model, size=size, as_of=as_of)


@contextmanager
def scored_with_delivery(
    store_path: Path,
    delivery: Path,
    model: ScoreModel,
    *,
    size: int,
    on_error: OnError = OnError.REJECT,
    as_of: date | None = None,
) -> Iterator[DeliveryScores]:
    """`vcl oracle push --store DELIVERY`: the delivery validated into the feed store, and
    the store's fleet scored as `scored_from_store` scores it once the delivery is in, in the
    same chunks. The vehicles the delivery does not change come first in that order, and they
    are read and scored before it is written: the first reports go out while the delivery is
    still being merged. The chunks write it when they reach its vehicles; leaving the block
    writes it if they did not get there (a validated delivery is kept, whatever the push
    did)."""
    with FeedStore(store_path) as writer:
        pending = writer.validate(delivery, on_error=on_error)
        try:
            count, chunks = _store_scores(writer, pending, model, size=size, as_of=as_of)
            yield DeliveryScores(pending.outcome, count, chunks)
        finally:
            pending.commit()


@dataclass(frozen=True)
class DeliveryScores:
    """A delivery (validated; in the store once the block of `scored_with_delivery` is left),
    and the store's scores with it."""

    ingested: Ingested
    vehicles: int
    chunks: Iterator[list[VehicleScore]]


def _store_scores(
    store: FeedStore,
    pending: PendingIngest | None,
    model: ScoreModel,
    *,
    size: int,
    as_of: date | None,
) -> tuple[int, Iterator[list[VehicleScore]]]:
    """The vehicle count and the scores of `store` with the `pending` delivery in. Before the
    chunks are asked for, only the count, the day and the first unappraised vehicle are read."""
    skipping = pending.vins if pending is not None else frozenset()
    new = pending.new_vehicles if pending is not None else {}
    vehicles = store.vehicle_count() + len(new)
    when = as_of
    if when is None:
        latest = [store.latest_date_if_any(), pending.latest_date if pending else None]
        found = [day for day in latest if day is not None]
        when = max(found) if found else store.latest_date()  # the latter says it is empty
    unappraised = store.first_appraised_after(when)
    if unappraised is None:
        later = [vehicle for vehicle in new.values() if vehicle.appraisal_date > when]
        unappraised = VehicleHistory.from_rows(later[0]) if later else None
    if unappraised is not None:
        score_vehicle(unappraised, model, when)  # raises the ScoringError that names it
    path = store.path

    def histories() -> Iterator[VehicleHistory]:
        # Opened here, in the thread that asks for the chunks. What the delivery does not
        # change is read before it is written (and reads the same after); then the delivery
        # is written (in this thread too), and its vehicles follow as they were merged.
        with FeedStore(path) as reader:
            yield from reader.histories_to_push(skipping=skipping)
            if pending is not None:
                pending.commit()
                yield from pending.histories_written()

    return vehicles, _scored(_chunked(histories(), size), model, when)


def _chunked(items: Iterable[VehicleHistory], size: int) -> Iterator[list[VehicleHistory]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _scored(
    chunks: Iterable[Sequence[VehicleHistory]], model: ScoreModel, when: date
) -> Iterator[list[VehicleScore]]:
    """Each chunk of histories scored as it is asked for (inside `push_pipelined`, which
    holds cycle collection off for the whole push)."""
    for histories in chunks:
        yield [score_vehicle(history, model, when) for history in histories]


def push_pipelined(
    session: PushSession,
    chunks: Iterable[Sequence[VehicleScore]],
    *,
    observed_at: int | None = None,
) -> PipelinedPush:
    """Plan `chunks` (joined into runs, `_runs`) in a planner thread while this thread
    transmits every unfinished round; then raise what stopped the planner, if anything did."""
    # No cycle collection during the push: it would stop both threads, again and again, to
    # walk the fleet's scores and histories, none of which form cycles (`gc_paused`).
    with gc_paused():
        return _push(session, chunks, observed_at)


def _push(
    session: PushSession, chunks: Iterable[Sequence[VehicleScore]], observed_at: int | None
) -> PipelinedPush:
    planner = _Planner(session, chunks, observed_at)
    planner.start()
    try:
        summary = session.transmit(incoming=planner)
    except (ReportRejected, RoundConflict) as exc:
        planner.stop()
        planner.join()
        # As for one run: a rejected round ends the push. The runs planned after it would
        # land out of order, or revert with it; they are abandoned, not left for the next push.
        for plan in planner.plans:
            if plan.run is not None:
                session.journal.abandon_run(plan.run.id, f"a round of the same push failed: {exc}")
        raise
    except BaseException:
        planner.stop()
        raise
    finally:
        planner.join()
    if planner.error is not None:
        raise planner.error
    return PipelinedPush(planner.plans, summary, planner.ended - planner.started)


def chunk_size(session: PushSession) -> int:
    """Vehicles scored at a time: one batch (`_runs` makes runs of them)."""
    return session.batch_size()


def _runs(chunks: Iterable[Sequence[VehicleScore]]) -> Iterator[list[VehicleScore]]:
    """Chunks joined into runs: the first alone, then `BATCHES_PER_RUN` at a time. The same
    chunks always make the same runs, so a rerun finds them by their keys."""
    run: list[VehicleScore] = []
    limit = 1
    for chunk in chunks:
        run.extend(chunk)
        limit -= 1
        if limit == 0:
            yield run
            run, limit = [], BATCHES_PER_RUN
    if run:
        yield run


class _Planner(threading.Thread):
    """Scores (the chunks are computed lazily), signs and journals run after run."""

    def __init__(
        self,
        session: PushSession,
        chunks: Iterable[Sequence[VehicleScore]],
        observed_at: int | None,
    ) -> None:
        super().__init__(name="push-planner", daemon=True)
        self.session = session
        self.chunks = chunks
        self.observed_at = observed_at
        self.plans: list[Plan] = []
        self.error: BaseException | None = None
        self._planned = threading.Event()
        self._finished = threading.Event()
        self._stopping = threading.Event()
        self.started = self.ended = time.perf_counter()

    def run(self) -> None:
        self.started = time.perf_counter()
        try:
            # SQLite connections belong to their thread: the planner journals through its own.
            path = self.session.node.oracle_settings.journal_path
            with Journal(path, exclusive=False) as journal:
                for run in _runs(self.chunks):
                    if self._stopping.is_set():
                        break
                    plan = self.session.plan_scores(
                        run, observed_at=self.observed_at, journal=journal, stopping=self._stopping
                    )
                    self.plans.append(plan)
                    self._planned.set()
        except BaseException as exc:  # noqa: BLE001 - handed to the transmitting thread, which raises it
            self.error = exc
        finally:
            self.ended = time.perf_counter()
            self._finished.set()
            self._planned.set()

    def stop(self) -> None:
        self._stopping.set()

    # The transmitter's side (`oracle.transmission.Incoming`).

    def finished(self) -> bool:
        return self._finished.is_set()

    def wait(self, timeout: float) -> None:
        self._planned.wait(timeout)
        self._planned.clear()
