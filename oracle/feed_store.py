"""The feed store: feed deliveries validated once, as they arrive, and kept per vehicle.

An operator's data comes in deliveries: a directory with any of the feed files (`vehicles`
for vehicles new to the store, `telemetry`, `maintenance`, `insurance`, `inspections`), in
the formats of docs/oracle-feeds.md. `ingest` validates every row as `load_fleet_feeds` does
(same errors, same `OnError` policy) and checks it against the store's vehicles and the
delivery's own; it then merges the rows into each vehicle's history. A push scores the whole
fleet from the store, so a daily push reads one day of files, not a year.

SQLite in `synchronous=FULL` mode: a delivery goes in as one transaction, all its rows or
none. Its digest (SHA-256 over its files' names and bytes) is kept, so the same delivery is
never counted twice: ingesting it again changes nothing and says so. The histories of a
store equal those of one `load_fleet_feeds` over the deliveries' files concatenated in the
order they were ingested (tests/python/oracle/test_feed_store.py).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any

from oracle.errors import FeedError, RowProblem
from oracle.feed_files import OnError, apply_policy
from oracle.feed_formats import (
    FeedKind,
    InspectionRow,
    InsuranceRow,
    MaintenanceRow,
    Powertrain,
    TelemetryRow,
    VehicleRow,
    trusted_row,
)
from oracle.fleet_feeds import FeedParser, feed_file, listed_once, redact_vin
from oracle.gc_pause import gc_paused
from oracle.sqlite_transaction import immediate_transaction
from oracle.vehicle_history import VehicleHistory

_EMPTY = "the feed store has no vehicles: ingest a delivery with vehicles.csv"
# 2: master data in typed columns, feeds in `VehicleHistory.stored` form; 3: `latest_day`;
# 4: `changed_by` (a store of schema 3 is brought to 4 when opened: its vehicles get 0)
SCHEMA_VERSION = 4
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vehicles (
    position INTEGER PRIMARY KEY,  -- order of arrival: the order of scores and reports
    vin TEXT NOT NULL UNIQUE,
    -- the VehicleRow's other fields; dates as proleptic ordinals, the value as decimal text
    make TEXT NOT NULL,
    model TEXT NOT NULL,
    model_year INTEGER NOT NULL,
    powertrain TEXT NOT NULL,
    first_registration INTEGER NOT NULL,
    appraisal_date INTEGER NOT NULL,
    appraisal_value_minor TEXT NOT NULL,
    currency TEXT NOT NULL,
    appraisal_odometer_km INTEGER NOT NULL,
    latest_day INTEGER NOT NULL,   -- the last day any feed reports (ordinal)
    feeds BLOB NOT NULL,           -- VehicleHistory.stored()
    -- the delivery that last added the vehicle or rows of it (0: before schema 4)
    changed_by INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    ingested_at REAL NOT NULL,
    added TEXT NOT NULL,           -- rows added per feed, JSON
    skipped INTEGER NOT NULL
);
"""
_READ_AT_A_TIME = 250  # rows fetched per SQLite call while histories are read
DELIVERY_FEEDS = (
    FeedKind.VEHICLES,
    FeedKind.TELEMETRY,
    FeedKind.MAINTENANCE,
    FeedKind.INSURANCE,
    FeedKind.INSPECTIONS,
)


@dataclass(frozen=True)
class StoredFleet:
    """Every vehicle's history, in the order the vehicles arrived."""

    vehicles: Mapping[str, VehicleHistory]

    @property
    def latest_date(self) -> date:
        """The most recent date in any feed: the default observation date for scoring."""
        if not self.vehicles:
            raise FeedError(_EMPTY)
        return date.fromordinal(max(history.latest_day for history in self.vehicles.values()))

    def histories(self) -> list[VehicleHistory]:
        return list(self.vehicles.values())


@dataclass(frozen=True)
class Ingested:
    """What a delivery added to the store."""

    digest: str
    already: bool  # the same delivery was ingested before: nothing was added
    added: Mapping[str, int]  # rows per feed (new vehicles under "vehicles")
    skipped: tuple[RowProblem, ...]  # bad rows left out (`OnError.SKIP` only)


class FeedStore:
    """A feed store file; open it with `with FeedStore(path) as store:`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def __enter__(self) -> FeedStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Not bound to this thread: a push writes the delivery it validated here in its
        # planner thread (`PendingIngest`), never while this thread uses the connection.
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        found = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if found is None:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif found[0] == "3":
            with immediate_transaction(db):
                db.execute("ALTER TABLE vehicles ADD COLUMN changed_by INTEGER NOT NULL DEFAULT 0")
                db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
        elif found[0] != str(SCHEMA_VERSION):
            db.close()
            raise FeedError(
                f"{self.path}: feed store schema {found[0]}, this version reads {SCHEMA_VERSION}"
            )
        db.execute("CREATE INDEX IF NOT EXISTS vehicles_by_change ON vehicles (changed_by)")
        self._db = db
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise FeedError("the feed store is not open")
        return self._db

    # ------------------------------------------------------------------ reading

    def fleet(self) -> StoredFleet:
        """Every vehicle's history, by arrival."""
        with gc_paused():  # thousands of arrays and tuples, no cycles
            rows = self.db.execute(_READ_VEHICLES + " ORDER BY position")
            return StoredFleet({history.vin: history for history in map(self._history, rows)})

    def histories_to_push(
        self, *, skipping: AbstractSet[str] = frozenset()
    ) -> Iterator[VehicleHistory]:
        """Every vehicle's history (but those of `skipping`) in the order a push sends them,
        read as asked for: by the delivery that last changed them, then by arrival. The
        vehicles of the latest delivery come last, so that a push of a delivery can send the
        others while it is written (`oracle.pipelined_push`), in the order a rerun finds."""
        cursor = self.db.execute(_READ_VEHICLES + " ORDER BY changed_by, position")
        while rows := cursor.fetchmany(_READ_AT_A_TIME):
            for row in rows:
                if row[0] not in skipping:
                    yield self._history(row)

    def vehicle_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM vehicles").fetchone()[0])

    def latest_date(self) -> date:
        """The most recent date in any feed: the default observation date for scoring."""
        latest = self.latest_date_if_any()
        if latest is None:
            raise FeedError(_EMPTY)
        return latest

    def latest_date_if_any(self) -> date | None:
        latest = self.db.execute("SELECT MAX(latest_day) FROM vehicles").fetchone()[0]
        return None if latest is None else date.fromordinal(int(latest))

    def first_appraised_after(self, day: date) -> VehicleHistory | None:
        """The first vehicle (in order of arrival) appraised after `day`, if any: it has no
        score on that day."""
        row = self.db.execute(
            _READ_VEHICLES + " WHERE appraisal_date > ? ORDER BY position LIMIT 1",
            (day.toordinal(),),
        ).fetchone()
        return None if row is None else self._history(row)

    def deliveries(self) -> list[tuple[str, str, float, dict[str, int]]]:
        """(digest, source, time, rows added per feed) of every delivery, oldest first."""
        rows = self.db.execute(
            "SELECT digest, source, ingested_at, added FROM deliveries ORDER BY id"
        ).fetchall()
        return [(digest, source, at, json.loads(added)) for digest, source, at, added in rows]

    def _history(self, row: Sequence[Any], vehicle: VehicleRow | None = None) -> VehicleHistory:
        try:
            return VehicleHistory.from_stored(vehicle or _stored_vehicle(row), row[-1])
        except (FeedError, ValueError, TypeError, OverflowError) as exc:
            raise FeedError(f"{self.path}: vehicle {redact_vin(str(row[0]))}: {exc}") from None

    def _stored(
        self, vins: Iterable[str], masters: _StoredMasters | None = None
    ) -> dict[str, VehicleHistory]:
        """The histories of those of `vins` that the store holds (with the master data
        `masters` has read already)."""
        found: dict[str, VehicleHistory] = {}
        for vin in vins:
            row = self.db.execute(_READ_VEHICLES + " WHERE vin = ?", (vin,)).fetchone()
            if row is not None:
                found[vin] = self._history(row, masters.read(vin) if masters else None)
        return found

    # ------------------------------------------------------------------ ingest

    def ingest(self, directory: Path, *, on_error: OnError = OnError.REJECT) -> Ingested:
        """Validate a delivery and add its rows (see the module docstring). Only the
        vehicles the delivery names are read and written."""
        return self.validate(directory, on_error=on_error).commit()

    def validate(self, directory: Path, *, on_error: OnError = OnError.REJECT) -> PendingIngest:
        """The first half of `ingest`: the delivery validated under the store's write lock,
        to be written by its `commit`. A push of the delivery scores the vehicles it does not
        change while it is written."""
        paths = _delivery_files(directory)
        digest = _digest(paths.values())
        if self._ingested(digest):
            return PendingIngest(self, digest, str(directory), None)
        db = self.db
        # The write lock is taken before the store is read: another process's ingest cannot
        # add a vehicle or a delivery between the checks below and the write.
        db.execute("BEGIN IMMEDIATE")
        try:
            if self._ingested(digest):
                db.execute("ROLLBACK")
                return PendingIngest(self, digest, str(directory), None)
            with gc_paused():
                masters = _StoredMasters(self)
                delivery = _Delivery.read(paths, masters, on_error)
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return PendingIngest(self, digest, str(directory), delivery, masters)

    def _ingested(self, digest: str) -> bool:
        found = self.db.execute("SELECT 1 FROM deliveries WHERE digest = ?", (digest,))
        return found.fetchone() is not None

    def write(
        self, delivery: _Delivery, masters: _StoredMasters, outcome: Ingested, source: str
    ) -> tuple[int, dict[str, VehicleHistory]]:
        """For `PendingIngest.commit`: the delivery's rows merged into the histories of the
        vehicles it names, and the delivery recorded, inside the transaction `validate` began;
        the delivery's id, and the histories it wrote."""
        histories = self._stored(delivery.vins(), masters)
        changed = delivery.apply(histories)
        db = self.db
        added = db.execute(
            "INSERT INTO deliveries (digest, source, ingested_at, added, skipped)"
            " VALUES (?, ?, ?, ?, ?)",
            (outcome.digest, source, time.time(), json.dumps(outcome.added), len(outcome.skipped)),
        )
        delivery_id = int(added.lastrowid or 0)
        new = set(delivery.vehicles)
        db.executemany(
            _INSERT_VEHICLE,
            [
                (
                    *_master_columns(histories[vin].vehicle),
                    histories[vin].latest_day,
                    histories[vin].stored(),
                    delivery_id,
                )
                for vin in delivery.vehicles
            ],
        )
        db.executemany(
            "UPDATE vehicles SET latest_day = ?, feeds = ?, changed_by = ? WHERE vin = ?",
            [
                (histories[vin].latest_day, histories[vin].stored(), delivery_id, vin)
                for vin in changed
                if vin not in new
            ],
        )
        return delivery_id, histories


class PendingIngest:
    """A delivery validated by `FeedStore.validate`, written by `commit` (once; a failed
    write rolls the validation's transaction back). Until then the store's write lock is held:
    another process's ingest waits. `commit` may run in another thread than the validation,
    but never while anything else uses the store."""

    def __init__(
        self,
        store: FeedStore,
        digest: str,
        source: str,
        delivery: _Delivery | None,  # None: ingested before
        masters: _StoredMasters | None = None,
    ) -> None:
        self._store = store
        self._source = source
        self._delivery = delivery
        self._unwritten = (
            (delivery, masters) if delivery is not None and masters is not None else None
        )
        self.delivery_id: int | None = None  # once written
        self._written: Mapping[str, VehicleHistory] = {}
        self.outcome = (
            Ingested(digest, already=True, added={}, skipped=())
            if delivery is None
            else Ingested(digest, already=False, added=delivery.added, skipped=delivery.skipped)
        )

    @property
    def vins(self) -> frozenset[str]:
        """The vehicles the delivery adds or adds rows to."""
        return frozenset(self._delivery.vins()) if self._delivery is not None else frozenset()

    @property
    def new_vehicles(self) -> Mapping[str, VehicleRow]:
        return self._delivery.vehicles if self._delivery is not None else {}

    @property
    def latest_date(self) -> date | None:
        """The last day the delivery's rows report (or a new vehicle's appraisal): once it is
        written, the store's `latest_date` is the later of this and the one before."""
        return self._delivery.latest_date() if self._delivery is not None else None

    def commit(self) -> Ingested:
        """Write the delivery (in the transaction of its validation); what it added."""
        if self._unwritten is not None:
            delivery, masters = self._unwritten
            self._unwritten = None
            db = self._store.db
            try:
                with gc_paused():
                    self.delivery_id, self._written = self._store.write(
                        delivery, masters, self.outcome, self._source
                    )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return self.outcome

    def histories_written(self) -> list[VehicleHistory]:
        """Once committed: the histories it wrote, by arrival (the end of the store's
        `histories_to_push`), as they were merged rather than read back."""
        rows = self._store.db.execute(
            "SELECT vin FROM vehicles WHERE changed_by = ? ORDER BY position", (self.delivery_id,)
        )
        return [self._written[vin] for (vin,) in rows]


@dataclass(frozen=True)
class _Delivery:
    """A delivery's valid rows, grouped by vehicle and sorted by date."""

    vehicles: Mapping[str, VehicleRow]  # new to the store
    telemetry: Mapping[str, tuple[TelemetryRow, ...]]
    maintenance: Mapping[str, tuple[MaintenanceRow, ...]]
    insurance: Mapping[str, tuple[InsuranceRow, ...]]
    inspections: Mapping[str, tuple[InspectionRow, ...]]
    added: Mapping[str, int]
    skipped: tuple[RowProblem, ...]

    @classmethod
    def read(
        cls,
        paths: Mapping[FeedKind, Path],
        stored: Mapping[str, VehicleRow],
        on_error: OnError,
    ) -> _Delivery:
        parser = FeedParser(paths)
        new: dict[str, VehicleRow] = {}
        for sourced in listed_once(parser.rows(FeedKind.VEHICLES, VehicleRow), parser.problems):
            vehicle = sourced.row
            held = stored.get(vehicle.vin)
            if held is None:
                new[vehicle.vin] = vehicle
            elif held != vehicle:
                message = (
                    f"vehicle {redact_vin(vehicle.vin)} is in the feed store with other master"
                    " data; master data is not changed by a delivery"
                )
                parser.problems.append(RowProblem(sourced.file, sourced.line, "vin", message))
            # The same master data again is no change: nothing to add, nothing lost.
        dated = parser.dated(_Known(stored, new))
        skipped = apply_policy(parser.problems, on_error)
        added = {str(FeedKind.VEHICLES): len(new), **dated.counts}
        return cls(
            new,
            dated.telemetry,
            dated.maintenance,
            dated.insurance,
            dated.inspections,
            added,
            skipped,
        )

    def latest_date(self) -> date | None:
        """The last day its rows report, or a new vehicle's appraisal (none: no rows)."""
        days = [
            *(vehicle.appraisal_date for vehicle in self.vehicles.values()),
            *(row.recorded_on for rows in self.telemetry.values() for row in rows),
            *(row.service_date for rows in self.maintenance.values() for row in rows),
            *(row.event_date for rows in self.insurance.values() for row in rows),
            *(row.inspection_date for rows in self.inspections.values() for row in rows),
        ]
        return max(days, default=None)

    def vins(self) -> set[str]:
        """Every vehicle the delivery adds or adds rows to."""
        feeds = (self.vehicles, self.telemetry, self.maintenance, self.insurance, self.inspections)
        return set().union(*feeds)

    def apply(self, fleet: dict[str, VehicleHistory]) -> list[str]:
        """Add the delivery to `fleet` (the stored histories of `vins()`, and the new
        vehicles, added at the end); the VINs it changed."""
        for vin, vehicle in self.vehicles.items():
            fleet[vin] = VehicleHistory.from_rows(vehicle)
        changed = self.vins()
        for vin in changed:
            fleet[vin] = fleet[vin].extended(
                self.telemetry.get(vin, ()),
                self.maintenance.get(vin, ()),
                self.insurance.get(vin, ()),
                self.inspections.get(vin, ()),
            )
        return sorted(changed)


class _StoredMasters(Mapping[str, VehicleRow]):
    """The store's vehicle master data, read by VIN as validation asks for it."""

    def __init__(self, store: FeedStore) -> None:
        self._store = store
        self._read: dict[str, VehicleRow | None] = {}

    def __getitem__(self, vin: str) -> VehicleRow:
        if vin not in self._read:
            row = self._store.db.execute(_READ_MASTER + " WHERE vin = ?", (vin,)).fetchone()
            self._read[vin] = None if row is None else _stored_vehicle(row)
        found = self._read[vin]
        if found is None:
            raise KeyError(vin)
        return found

    def read(self, vin: str) -> VehicleRow | None:
        """The master data of `vin` if it was asked for already."""
        return self._read.get(vin)

    def __iter__(self) -> Iterator[str]:
        for (vin,) in self._store.db.execute("SELECT vin FROM vehicles ORDER BY position"):
            yield vin

    def __len__(self) -> int:
        return self._store.vehicle_count()


class _Known(Mapping[str, VehicleRow]):
    """The vehicle master data a delivery's rows may refer to: the store's and its own."""

    def __init__(self, stored: Mapping[str, VehicleRow], new: Mapping[str, VehicleRow]):
        self._stored = stored
        self._new = new

    def __getitem__(self, vin: str) -> VehicleRow:
        held = self._stored.get(vin)
        return held if held is not None else self._new[vin]

    def __iter__(self) -> Iterator[str]:
        yield from self._stored
        yield from self._new

    def __len__(self) -> int:
        return len(self._stored) + len(self._new)


_MASTER_FIELDS = set(VehicleRow.model_fields)  # a stored row sets every field
_POWERTRAINS = {str(powertrain): powertrain for powertrain in Powertrain}
_READ_MASTER = """
SELECT vin, make, model, model_year, powertrain, first_registration, appraisal_date,
       appraisal_value_minor, currency, appraisal_odometer_km
FROM vehicles"""
_READ_VEHICLES = """
SELECT vin, make, model, model_year, powertrain, first_registration, appraisal_date,
       appraisal_value_minor, currency, appraisal_odometer_km, feeds
FROM vehicles"""
_INSERT_VEHICLE = """
INSERT INTO vehicles (vin, make, model, model_year, powertrain, first_registration,
                      appraisal_date, appraisal_value_minor, currency, appraisal_odometer_km,
                      latest_day, feeds, changed_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def _master_columns(vehicle: VehicleRow) -> tuple[object, ...]:
    """A vehicle's master data as the vehicles table's typed columns."""
    return (
        vehicle.vin,
        vehicle.make,
        vehicle.model,
        vehicle.model_year,
        str(vehicle.powertrain),
        vehicle.first_registration.toordinal(),
        vehicle.appraisal_date.toordinal(),
        str(vehicle.appraisal_value_minor),  # up to 2**128: beyond SQLite's integers
        vehicle.currency,
        vehicle.appraisal_odometer_km,
    )


def _stored_vehicle(columns: Sequence[object]) -> VehicleRow:
    """The master data `_master_columns` stored (the first columns of a row), without
    validating it again.

    Safe: `ingest`, the only writer, stores a `VehicleRow` validated when its delivery arrived,
    so the VIN check digit and the field bounds held then; running them again for every vehicle
    of every push would cost more than reading its whole history. The conversions below still
    refuse values of the wrong kind (an enum, dates, integers) with a `ValueError`.
    """
    vin, make, model, year, powertrain, registered, appraised, value, currency, km = columns[:10]
    fields = {
        "vin": _text(vin),
        "make": _text(make),
        "model": _text(model),
        "model_year": _integer(year),
        "powertrain": _powertrain(_text(powertrain)),
        "first_registration": date.fromordinal(_integer(registered)),
        "appraisal_date": date.fromordinal(_integer(appraised)),
        "appraisal_value_minor": int(_text(value)),
        "currency": _text(currency),
        "appraisal_odometer_km": _integer(km),
    }
    return trusted_row(VehicleRow, fields, _MASTER_FIELDS)


def _text(value: object) -> str:
    if type(value) is not str:
        raise ValueError(f"stored master data holds {type(value).__name__} for text")
    return value


def _powertrain(value: str) -> Powertrain:
    found = _POWERTRAINS.get(value)
    if found is None:
        raise ValueError(f"stored master data holds an unknown powertrain {value!r}")
    return found


def _integer(value: object) -> int:
    if type(value) is not int:
        raise ValueError(f"stored master data holds {type(value).__name__} for an integer")
    return value


def _delivery_files(directory: Path) -> dict[FeedKind, Path]:
    if not directory.is_dir():
        raise FeedError(f"{directory}: a delivery is a directory of feed files")
    outcomes = feed_file(directory, FeedKind.OUTCOMES)
    if outcomes is not None:
        raise FeedError(
            f"{outcomes}: outcomes are labelled history for `calibrate`, not scoring data;"
            " keep them out of deliveries"
        )
    paths = {kind: path for kind in DELIVERY_FEEDS if (path := feed_file(directory, kind))}
    if not paths:
        raise FeedError(f"{directory}: no feed files (vehicles, telemetry, maintenance, ...)")
    return paths


def _digest(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()
