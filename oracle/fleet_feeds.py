"""A directory of feed files, validated together into per-vehicle histories.

A feed directory holds one file per kind, `<kind>.csv` or `<kind>.jsonl`: `vehicles`,
`telemetry`, `maintenance`, `insurance` and `inspections` are required, `outcomes` (labelled
history for calibration) is optional. Besides each row's own rules, rows are checked against
the vehicle master data: a row of an unknown vehicle, a duplicate vehicle or an amount in
another currency than the appraisal's is a problem of that row, under the same policy.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from pathlib import Path
from typing import TypeVar

from oracle.errors import FeedError, RowProblem
from oracle.feed_files import FEED_SUFFIXES, OnError, SourcedRow, apply_policy, parse_feed
from oracle.feed_formats import (
    DATE_FIELDS,
    FeedKind,
    FeedRow,
    InspectionRow,
    InsuranceRow,
    MaintenanceRow,
    OutcomeRow,
    TelemetryRow,
    VehicleRow,
)
from oracle.gc_pause import gc_paused
from oracle.vehicle_history import VehicleHistory

R = TypeVar("R", bound=FeedRow)

REQUIRED_FEEDS = (
    FeedKind.VEHICLES,
    FeedKind.TELEMETRY,
    FeedKind.MAINTENANCE,
    FeedKind.INSURANCE,
    FeedKind.INSPECTIONS,
)


def redact_vin(vin: str) -> str:
    """A VIN fit for logs and messages: manufacturer prefix and last four characters only."""
    return f"{vin[:3]}{'*' * max(len(vin) - 7, 0)}{vin[-4:]}"


@dataclass(frozen=True)
class VehicleFeeds:
    """Everything known about one vehicle, each feed sorted by date (stable: file order)."""

    vehicle: VehicleRow
    telemetry: tuple[TelemetryRow, ...] = ()
    maintenance: tuple[MaintenanceRow, ...] = ()
    insurance: tuple[InsuranceRow, ...] = ()
    inspections: tuple[InspectionRow, ...] = ()

    @property
    def vin(self) -> str:
        return self.vehicle.vin

    @functools.cached_property
    def latest_date(self) -> date:
        """The most recent date any feed reports for this vehicle."""
        dates = [self.vehicle.appraisal_date]
        dates += [row.recorded_on for row in self.telemetry[-1:]]
        dates += [row.service_date for row in self.maintenance[-1:]]
        dates += [row.event_date for row in self.insurance[-1:]]
        dates += [row.inspection_date for row in self.inspections[-1:]]
        return max(dates)

    @functools.cached_property
    def history(self) -> VehicleHistory:
        """The compact form the indicators read."""
        return VehicleHistory.from_rows(
            self.vehicle, self.telemetry, self.maintenance, self.insurance, self.inspections
        )


@dataclass(frozen=True)
class FleetFeeds:
    """The validated feeds of a fleet, in the order of the vehicle master file."""

    vehicles: Mapping[str, VehicleFeeds]
    outcomes: Mapping[str, OutcomeRow] = field(default_factory=dict)
    skipped: tuple[RowProblem, ...] = ()

    @property
    def latest_date(self) -> date:
        """The most recent date in any feed: the default observation date for scoring."""
        if not self.vehicles:
            raise FeedError("the fleet has no vehicles")
        return max(feeds.latest_date for feeds in self.vehicles.values())

    def histories(self) -> list[VehicleHistory]:
        """Every vehicle's history, in the order of the vehicle master file."""
        return [feeds.history for feeds in self.vehicles.values()]


def feed_file(directory: Path, kind: FeedKind) -> Path | None:
    """The one file of `kind` in `directory`, or None; both a CSV and a JSONL is an error."""
    found = [directory / f"{kind}{suffix}" for suffix in FEED_SUFFIXES]
    found = [path for path in found if path.is_file()]
    if len(found) > 1:
        raise FeedError(f"{directory}: both {found[0].name} and {found[1].name}; keep one")
    return found[0] if found else None


def load_fleet_feeds(directory: Path, *, on_error: OnError = OnError.REJECT) -> FleetFeeds:
    """Read, validate and cross-check every feed of a directory (see the module docstring)."""
    with gc_paused():
        return _load(directory, on_error)


def _load(directory: Path, on_error: OnError) -> FleetFeeds:
    paths: dict[FeedKind, Path] = {}
    for kind in FeedKind:
        path = feed_file(directory, kind)
        if path is None and kind in REQUIRED_FEEDS:
            raise FeedError(f"{directory}: no {kind}.csv or {kind}.jsonl")
        if path is not None:
            paths[kind] = path

    parser = FeedParser(paths)
    vehicle_rows = _unique_rows(parser.rows(FeedKind.VEHICLES, VehicleRow), parser.problems)
    vehicles = {row.vin: row for row in vehicle_rows}
    dated = parser.dated(vehicles)
    outcome_rows = parser.rows(FeedKind.OUTCOMES, OutcomeRow)
    outcomes = of_known_vehicles(
        listed_once(outcome_rows, parser.problems), vehicles, parser.problems
    )
    skipped = apply_policy(parser.problems, on_error)
    fleet = {
        vin: VehicleFeeds(
            vehicle,
            dated.telemetry.get(vin, ()),
            dated.maintenance.get(vin, ()),
            dated.insurance.get(vin, ()),
            dated.inspections.get(vin, ()),
        )
        for vin, vehicle in vehicles.items()
    }
    return FleetFeeds(fleet, {row.vin: row for row in outcomes}, skipped)


@dataclass(frozen=True)
class DatedRows:
    """The valid rows of the four dated feeds, by vehicle, each group in date order."""

    telemetry: Mapping[str, tuple[TelemetryRow, ...]]
    maintenance: Mapping[str, tuple[MaintenanceRow, ...]]
    insurance: Mapping[str, tuple[InsuranceRow, ...]]
    inspections: Mapping[str, tuple[InspectionRow, ...]]
    counts: Mapping[str, int]  # valid rows per feed


class FeedParser:
    """Reads the feed files of a directory (or a delivery), collecting every row problem."""

    def __init__(self, paths: Mapping[FeedKind, Path]) -> None:
        self.paths = paths
        self.problems: list[RowProblem] = []

    def rows(self, kind: FeedKind, model: type[R]) -> tuple[SourcedRow[R], ...]:
        if kind not in self.paths:
            return ()
        rows, found = parse_feed(self.paths[kind], model)
        self.problems.extend(found)
        return rows

    def dated(self, known: Mapping[str, VehicleRow]) -> DatedRows:
        """The dated feeds' rows whose vehicle is in `known` (see `of_known_vehicles`)."""
        problems = self.problems
        telemetry = of_known_vehicles(self.rows(FeedKind.TELEMETRY, TelemetryRow), known, problems)
        maintenance = of_known_vehicles(
            self.rows(FeedKind.MAINTENANCE, MaintenanceRow), known, problems
        )
        insurance = of_known_vehicles(self.rows(FeedKind.INSURANCE, InsuranceRow), known, problems)
        inspections = of_known_vehicles(
            self.rows(FeedKind.INSPECTIONS, InspectionRow), known, problems
        )
        return DatedRows(
            by_vin(telemetry, DATE_FIELDS[FeedKind.TELEMETRY]),
            by_vin(maintenance, DATE_FIELDS[FeedKind.MAINTENANCE]),
            by_vin(insurance, DATE_FIELDS[FeedKind.INSURANCE]),
            by_vin(inspections, DATE_FIELDS[FeedKind.INSPECTIONS]),
            {
                str(FeedKind.TELEMETRY): len(telemetry),
                str(FeedKind.MAINTENANCE): len(maintenance),
                str(FeedKind.INSURANCE): len(insurance),
                str(FeedKind.INSPECTIONS): len(inspections),
            },
        )


def by_vin(rows: Sequence[R], when: str) -> dict[str, tuple[R, ...]]:
    """Rows grouped by vehicle, each group sorted by the date field `when`."""
    # Grouped in file order, then each group sorted (stable): the same order as one sort of
    # the whole feed, in many small sorts of mostly sorted rows.
    grouped: dict[str, list[R]] = {}
    for row in rows:
        grouped.setdefault(row.vin, []).append(row)
    key = attrgetter(when)
    return {vin: tuple(sorted(group, key=key)) for vin, group in grouped.items()}


def _unique_rows(rows: Sequence[SourcedRow[R]], problems: list[RowProblem]) -> list[R]:
    return [sourced.row for sourced in listed_once(rows, problems)]


def listed_once(rows: Sequence[SourcedRow[R]], problems: list[RowProblem]) -> list[SourcedRow[R]]:
    """Rows of vehicles listed once. Every copy of a repeated vehicle is a problem: which one
    is right (which appraisal, which outcome) is for a person to decide."""
    lines: dict[str, list[SourcedRow[R]]] = {}
    for sourced in rows:
        lines.setdefault(sourced.row.vin, []).append(sourced)
    kept: list[SourcedRow[R]] = []
    for vin, copies in lines.items():
        if len(copies) == 1:
            kept.append(copies[0])
            continue
        where = ", ".join(str(copy.line) for copy in copies)
        for copy in copies:
            message = f"vehicle {redact_vin(vin)} is listed more than once (lines {where})"
            problems.append(RowProblem(copy.file, copy.line, "vin", message))
    return sorted(kept, key=lambda sourced: sourced.line)


def of_known_vehicles(
    rows: Sequence[SourcedRow[R]], vehicles: Mapping[str, VehicleRow], problems: list[RowProblem]
) -> list[R]:
    """The rows whose vehicle is in the master data and whose currency matches its appraisal."""
    kept: list[R] = []
    # Asked of the row type once: a missing attribute of a pydantic model is slow to miss.
    has_currency = bool(rows) and "currency" in type(rows[0].row).model_fields
    for sourced in rows:
        row = sourced.row
        vehicle = vehicles.get(row.vin)
        if vehicle is None:
            message = f"vehicle {redact_vin(row.vin)} has no valid row in the vehicle master data"
            problems.append(RowProblem(sourced.file, sourced.line, "vin", message))
            continue
        currency = getattr(row, "currency", vehicle.currency) if has_currency else vehicle.currency
        if currency != vehicle.currency:
            message = f"{currency}, but the vehicle is appraised in {vehicle.currency}"
            problems.append(RowProblem(sourced.file, sourced.line, "currency", message))
            continue
        kept.append(row)
    return kept
