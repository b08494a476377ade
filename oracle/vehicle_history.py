"""One vehicle's feed rows in the compact, column form the indicators read.

Validated rows (`oracle.fleet_feeds.VehicleFeeds`) are turned into plain integers and strings
once: days as proleptic ordinals (`date.toordinal`), telemetry as columns, every feed in date
order (stable: source order), and the odometer readings of all sources merged in the order
the indicators define. Window sums then come from prefix sums and a bisection instead of a
walk over a year of objects; and this is the form the feed store keeps (`oracle.feed_store`),
so a daily push reads histories validated when their rows arrived instead of a year of files.

`extended` adds a delivery's rows: each feed stays in date order with the new rows after the
older rows of the same day, exactly as if the delivery had been appended to the original
files and everything loaded at once (tests/python/oracle/test_feed_store.py holds the two
equal).
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from operator import itemgetter
from typing import Any

from oracle.feed_formats import (
    InspectionRow,
    InsuranceRow,
    MaintenanceRow,
    TelemetryRow,
    VehicleRow,
)

# One row of each feed, as plain values (days are ordinals).
Telemetry = tuple[int, int, tuple[str, ...], int, int]  # day, km, fault codes, harsh, gps
Maintenance = tuple[int, int, str, int]  # day, km, kind, cost (minor units)
Claim = tuple[int, str, int]  # day, kind, claim (minor units)
Inspection = tuple[int, int, str, int, int]  # day, km, result, minor defects, major defects

_day = itemgetter(0)


@dataclass(frozen=True)
class TelemetryColumns:
    """Telemetry rows as columns; fault codes only for the rows that report some."""

    days: Sequence[int] = ()
    km: Sequence[int] = ()
    harsh: Sequence[int] = ()
    gps: Sequence[int] = ()
    codes: Sequence[tuple[int, tuple[str, ...]]] = ()  # (row index, codes)

    @classmethod
    def of(cls, rows: Sequence[Telemetry]) -> TelemetryColumns:
        return cls(
            [row[0] for row in rows],
            [row[1] for row in rows],
            [row[3] for row in rows],
            [row[4] for row in rows],
            [(i, row[2]) for i, row in enumerate(rows) if row[2]],
        )

    def rows(self) -> list[Telemetry]:
        codes = dict(self.codes)
        return [
            (day, km, codes.get(i, ()), harsh, gps)
            for i, (day, km, harsh, gps) in enumerate(
                zip(self.days, self.km, self.harsh, self.gps, strict=True)
            )
        ]


@dataclass(frozen=True)
class VehicleHistory:
    """A vehicle's master data and feeds, each in date order (stable: source order)."""

    vehicle: VehicleRow
    telemetry: TelemetryColumns
    maintenance: Sequence[Maintenance]
    insurance: Sequence[Claim]
    inspections: Sequence[Inspection]
    # Every odometer reading: the appraisal's, then telemetry, maintenance and inspections,
    # sorted by day with a stable sort, so same-day readings keep that source order.
    reading_days: Sequence[int]
    reading_km: Sequence[int]
    # Derived: prefix sums (rows i..j-1 hold sums[j] - sums[i]) and the days with fault codes.
    harsh_sums: list[int] = field(init=False, repr=False, compare=False)
    gps_sums: list[int] = field(init=False, repr=False, compare=False)
    coded: list[tuple[int, tuple[str, ...]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tel = self.telemetry
        object.__setattr__(self, "harsh_sums", [0, *accumulate(tel.harsh)])
        object.__setattr__(self, "gps_sums", [0, *accumulate(tel.gps)])
        object.__setattr__(self, "coded", [(tel.days[i], codes) for i, codes in tel.codes])

    @property
    def vin(self) -> str:
        return self.vehicle.vin

    @property
    def latest_date(self) -> date:
        """The most recent date any feed reports for this vehicle."""
        days = [self.vehicle.appraisal_date.toordinal(), *self.telemetry.days[-1:]]
        days += [
            rows[-1][0] for rows in (self.maintenance, self.insurance, self.inspections) if rows
        ]
        return date.fromordinal(max(days))

    @classmethod
    def of(
        cls,
        vehicle: VehicleRow,
        telemetry: Sequence[Telemetry],
        maintenance: Sequence[Maintenance],
        insurance: Sequence[Claim],
        inspections: Sequence[Inspection],
    ) -> VehicleHistory:
        """From plain rows, each feed already in date order."""
        appraisal = (vehicle.appraisal_date.toordinal(), vehicle.appraisal_odometer_km)
        readings = sorted(
            [
                appraisal,
                *((row[0], row[1]) for row in telemetry),
                *((row[0], row[1]) for row in maintenance),
                *((row[0], row[1]) for row in inspections),
            ],
            key=_day,
        )
        return cls(
            vehicle,
            TelemetryColumns.of(telemetry),
            tuple(maintenance),
            tuple(insurance),
            tuple(inspections),
            [day for day, _ in readings],
            [km for _, km in readings],
        )

    @classmethod
    def from_rows(
        cls,
        vehicle: VehicleRow,
        telemetry: Iterable[TelemetryRow] = (),
        maintenance: Iterable[MaintenanceRow] = (),
        insurance: Iterable[InsuranceRow] = (),
        inspections: Iterable[InspectionRow] = (),
    ) -> VehicleHistory:
        """From validated rows, each feed already in date order (as `oracle.fleet_feeds`
        groups them)."""
        return cls.of(vehicle, *plain_rows(telemetry, maintenance, insurance, inspections))

    def extended(
        self,
        telemetry: Iterable[TelemetryRow] = (),
        maintenance: Iterable[MaintenanceRow] = (),
        insurance: Iterable[InsuranceRow] = (),
        inspections: Iterable[InspectionRow] = (),
    ) -> VehicleHistory:
        """This history with a later delivery's rows (each feed in date order) merged in."""
        tel, mnt, ins, insp = plain_rows(telemetry, maintenance, insurance, inspections)
        return VehicleHistory.of(
            self.vehicle,
            _merged(self.telemetry.rows(), tel),
            _merged(self.maintenance, mnt),
            _merged(self.insurance, ins),
            _merged(self.inspections, insp),
        )

    # ------------------------------------------------------------- stored form

    def feeds_json(self) -> str:
        """Everything but the master data, as compact JSON (`from_json` reads it back)."""
        t = self.telemetry
        return json.dumps(
            [
                [t.days, t.km, t.harsh, t.gps, t.codes],
                self.maintenance,
                self.insurance,
                self.inspections,
                [self.reading_days, self.reading_km],
            ],
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, vehicle: VehicleRow, text: str) -> VehicleHistory:
        (days, km, harsh, gps, codes), mnt, ins, insp, (reading_days, reading_km) = json.loads(text)
        return cls(
            vehicle,
            TelemetryColumns(days, km, harsh, gps, [(i, tuple(c)) for i, c in codes]),
            [_tuple(row) for row in mnt],
            [_tuple(row) for row in ins],
            [_tuple(row) for row in insp],
            reading_days,
            reading_km,
        )


def _merged(older: Sequence[Any], newer: Sequence[Any]) -> list[Any]:
    # heapq.merge is stable: on the same day the older delivery's row comes first.
    return list(heapq.merge(older, newer, key=_day))


def _tuple(values: list[Any]) -> Any:
    return tuple(values)


def plain_rows(
    telemetry: Iterable[TelemetryRow],
    maintenance: Iterable[MaintenanceRow],
    insurance: Iterable[InsuranceRow],
    inspections: Iterable[InspectionRow],
) -> tuple[list[Telemetry], list[Maintenance], list[Claim], list[Inspection]]:
    """Validated rows as the plain tuples a history keeps."""
    return (
        [
            (
                t.recorded_on.toordinal(),
                t.odometer_km,
                t.fault_codes,
                t.harsh_events,
                t.gps_anomalies,
            )
            for t in telemetry
        ],
        [
            (m.service_date.toordinal(), m.odometer_km, str(m.kind), m.cost_minor)
            for m in maintenance
        ],
        [(c.event_date.toordinal(), str(c.kind), c.claim_minor) for c in insurance],
        [
            (
                i.inspection_date.toordinal(),
                i.odometer_km,
                str(i.result),
                i.minor_defects,
                i.major_defects,
            )
            for i in inspections
        ],
    )
