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
)
from oracle.fleet_feeds import FeedParser, feed_file, listed_once, redact_vin
from oracle.gc_pause import gc_paused
from oracle.vehicle_history import VehicleHistory

_EMPTY = "the feed store has no vehicles: ingest a delivery with vehicles.csv"
# 2: master data in typed columns, feeds in `VehicleHistory.stored` form; 3: `latest_day`
SCHEMA_VERSION = 3
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
    feeds BLOB NOT NULL            -- VehicleHistory.stored()
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
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        found = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if found is None:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif found[0] != str(SCHEMA_VERSION):
            db.close()
            raise FeedError(
                f"{self.path}: feed store schema {found[0]}, this version reads {SCHEMA_VERSION}"
            )
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
        """Every vehicle's history."""
        histories = (history for chunk in self.histories_in_chunks() for history in chunk)
        return StoredFleet({history.vin: history for history in histories})

    def histories_in_chunks(self, size: int = 1000) -> Iterator[list[VehicleHistory]]:
        """Every vehicle's history in order of arrival, `size` at a time, read as asked for:
        a push scores and sends the first vehicles while later ones are still being read."""
        cursor = self.db.execute(_READ_VEHICLES + " ORDER BY position")
        while rows := cursor.fetchmany(size):
            with gc_paused():  # thousands of arrays and tuples, no cycles
                yield [self._history(row) for row in rows]

    def vehicle_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM vehicles").fetchone()[0])

    def latest_date(self) -> date:
        """The most recent date in any feed: the default observation date for scoring."""
        latest = self.db.execute("SELECT MAX(latest_day) FROM vehicles").fetchone()[0]
        if latest is None:
            raise FeedError(_EMPTY)
        return date.fromordinal(int(latest))

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
        paths = _delivery_files(directory)
        digest = _digest(paths.values())
        if self._ingested(digest):
            return Ingested(digest, already=True, added={}, skipped=())
        db = self.db
        # The write lock is taken before the store is read: another process's ingest cannot
        # add a vehicle or a delivery between the checks below and the write.
        db.execute("BEGIN IMMEDIATE")
        try:
            if self._ingested(digest):
                db.execute("ROLLBACK")
                return Ingested(digest, already=True, added={}, skipped=())
            with gc_paused():
                masters = _StoredMasters(self)
                delivery = _Delivery.read(paths, masters, on_error)
                histories = self._stored(delivery.vins(), masters)
                changed = delivery.apply(histories)
            self._write(changed, histories, delivery, digest, str(directory))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return Ingested(digest, already=False, added=delivery.added, skipped=delivery.skipped)

    def _ingested(self, digest: str) -> bool:
        found = self.db.execute("SELECT 1 FROM deliveries WHERE digest = ?", (digest,))
        return found.fetchone() is not None

    def _write(
        self,
        changed: Sequence[str],
        fleet: Mapping[str, VehicleHistory],
        delivery: _Delivery,
        digest: str,
        source: str,
    ) -> None:
        db = self.db
        new = set(delivery.vehicles)
        db.executemany(
            _INSERT_VEHICLE,
            [
                (*_master_columns(fleet[vin].vehicle), fleet[vin].latest_day, fleet[vin].stored())
                for vin in delivery.vehicles
            ],
        )
        db.executemany(
            "UPDATE vehicles SET latest_day = ?, feeds = ? WHERE vin = ?",
            [
                (fleet[vin].latest_day, fleet[vin].stored(), vin)
                for vin in changed
                if vin not in new
            ],
        )
        db.execute(
            "INSERT INTO deliveries (digest, source, ingested_at, added, skipped)"
            " VALUES (?, ?, ?, ?, ?)",
            (digest, source, time.time(), json.dumps(delivery.added), len(delivery.skipped)),
        )


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


# The vehicles table's master data columns, as `_master_columns` orders them.
_MASTER_FIELDS = (
    "vin",
    "make",
    "model",
    "model_year",
    "powertrain",
    "first_registration",
    "appraisal_date",
    "appraisal_value_minor",
    "currency",
    "appraisal_odometer_km",
)
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
                      latest_day, feeds)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
        "powertrain": Powertrain(_text(powertrain)),
        "first_registration": date.fromordinal(_integer(registered)),
        "appraisal_date": date.fromordinal(_integer(appraised)),
        "appraisal_value_minor": int(_text(value)),
        "currency": _text(currency),
        "appraisal_odometer_km": _integer(km),
    }
    return VehicleRow.model_construct(set(_MASTER_FIELDS), **fields)


def _text(value: object) -> str:
    if type(value) is not str:
        raise ValueError(f"stored master data holds {type(value).__name__} for text")
    return value


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
