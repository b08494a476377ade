"""One vehicle's feed rows in the compact, column form the indicators read.

Validated rows (`oracle.fleet_feeds.VehicleFeeds`) are turned into plain integers and strings
once: days as proleptic ordinals (`date.toordinal`), telemetry as columns, every feed in date
order (stable: source order), and the odometer readings of all sources merged in the order
the indicators define. Window sums then come from a bisection and a sum over a slice of C
ints instead of a walk over a year of objects; and this is the form the feed store keeps
(`oracle.feed_store`), so a daily push reads histories validated when their rows arrived
instead of a year of files.

`extended` adds a delivery's rows: each feed stays in date order with the new rows after the
older rows of the same day, exactly as if the delivery had been appended to the original
files and everything loaded at once (tests/python/oracle/test_feed_store.py holds the two
equal).

`stored` is the form the feed store keeps, read back by `from_stored` for every vehicle of
every push: the integer columns as one little-endian int32 array (days are ordinals, and
every stored integer but the amounts is bounded by the feed formats), the fault codes and
amounts as short text, enum values as indices, behind a format tag and a CRC-32, so that a
push reads 5,000 histories with a few C calls each and a damaged blob is an error, not a
wrong score.
"""

from __future__ import annotations

import heapq
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate, compress, pairwise
from operator import gt, itemgetter
from typing import Any

from oracle.errors import FeedError
from oracle.feed_formats import (
    InspectionResult,
    InspectionRow,
    InsuranceEventKind,
    InsuranceRow,
    MaintenanceKind,
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

# The stored form (see the module docstring). A new layout takes a new format tag.
_FORMAT = b"VCH1"
_HEAD = struct.Struct("<4sI")  # format tag, CRC-32 of the body
# Rows of telemetry, telemetry rows with fault codes, maintenance, claims, inspections, and
# odometer readings; then `first_drop`.
_COUNTS = struct.Struct("<7I")
# The int32 columns, in order, as the index of their length in `_COUNTS`: telemetry days, km,
# harsh events, GPS anomalies; coded rows' index and number of codes; maintenance day, km,
# kind; claim day, kind; inspection day, km, result, minor and major defects; odometer
# reading days and km.
_COLUMN_COUNTS = (0, 0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 4, 4, 4, 5, 5)
_INT32 = "i"
if array(_INT32).itemsize != 4:  # pragma: no cover - every platform CPython supports
    raise ImportError("the feed store needs a 4-byte C int")
_SWAP = sys.byteorder == "big"  # stored little-endian on every machine
# Enum values are stored as their index in these tuples: the enums' order is part of the format.
_MAINTENANCE_KINDS = tuple(str(kind) for kind in MaintenanceKind)
_CLAIM_KINDS = tuple(str(kind) for kind in InsuranceEventKind)
_RESULTS = tuple(str(result) for result in InspectionResult)
_MAINTENANCE_INDEX = {kind: index for index, kind in enumerate(_MAINTENANCE_KINDS)}
_CLAIM_INDEX = {kind: index for index, kind in enumerate(_CLAIM_KINDS)}
_RESULT_INDEX = {result: index for index, result in enumerate(_RESULTS)}


def _ints(values: Iterable[int] = ()) -> array[int]:
    """An integer column: C ints, which the garbage collector never has to walk (a fleet's
    histories hold about a million)."""
    return array(_INT32, values)


@dataclass(frozen=True, slots=True)
class TelemetryColumns:
    """Telemetry rows as columns; fault codes only for the rows that report some."""

    days: Sequence[int] = field(default_factory=_ints)
    km: Sequence[int] = field(default_factory=_ints)
    harsh: Sequence[int] = field(default_factory=_ints)
    gps: Sequence[int] = field(default_factory=_ints)
    codes: Sequence[tuple[int, tuple[str, ...]]] = ()  # (row index, codes)

    @classmethod
    def of(cls, rows: Sequence[Telemetry]) -> TelemetryColumns:
        return cls(
            _ints([row[0] for row in rows]),
            _ints([row[1] for row in rows]),
            _ints([row[3] for row in rows]),
            _ints([row[4] for row in rows]),
            [(i, row[2]) for i, row in enumerate(rows) if row[2]],
        )

    def appended(self, rows: Sequence[Telemetry]) -> TelemetryColumns:
        """These columns with `rows` after the last."""
        offset = len(self.days)
        return TelemetryColumns(
            _ints([*self.days, *(row[0] for row in rows)]),
            _ints([*self.km, *(row[1] for row in rows)]),
            _ints([*self.harsh, *(row[3] for row in rows)]),
            _ints([*self.gps, *(row[4] for row in rows)]),
            [*self.codes, *((offset + i, row[2]) for i, row in enumerate(rows) if row[2])],
        )

    def rows(self) -> list[Telemetry]:
        codes = dict(self.codes)
        return [
            (day, km, codes.get(i, ()), harsh, gps)
            for i, (day, km, harsh, gps) in enumerate(
                zip(self.days, self.km, self.harsh, self.gps, strict=True)
            )
        ]


@dataclass(frozen=True, slots=True)
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
    # Derived: the index of the first reading lower than the one before it (the number of
    # readings when none is: the usual case, which the indicators read without a walk), kept
    # in the stored form (-1: compute it); and the days with fault codes.
    first_drop: int = field(default=-1, repr=False, compare=False)
    coded: list[tuple[int, tuple[str, ...]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tel = self.telemetry
        if self.first_drop < 0:
            km = self.reading_km
            drops = compress(range(1, len(km)), map(gt, km, km[1:]))
            object.__setattr__(self, "first_drop", next(drops, len(km)))
        object.__setattr__(self, "coded", [(tel.days[i], codes) for i, codes in tel.codes])

    @property
    def vin(self) -> str:
        return self.vehicle.vin

    @property
    def latest_date(self) -> date:
        """The most recent date any feed reports for this vehicle."""
        return date.fromordinal(self.latest_day)

    @property
    def latest_day(self) -> int:
        """`latest_date` as an ordinal: the last odometer reading's day (the readings hold the
        appraisal, telemetry, maintenance and inspections, sorted), or a later claim's."""
        if self.insurance:
            return max(self.reading_days[-1], self.insurance[-1][0])
        return self.reading_days[-1]

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
            [appraisal, *_readings(telemetry), *_readings(maintenance), *_readings(inspections)],
            key=_day,
        )
        return cls(
            vehicle,
            TelemetryColumns.of(telemetry),
            tuple(maintenance),
            tuple(insurance),
            tuple(inspections),
            _ints([day for day, _ in readings]),
            _ints([km for _, km in readings]),
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
        new = sorted([*_readings(tel), *_readings(mnt), *_readings(insp)], key=_day)
        if not new or new[0][0] > self.reading_days[-1]:
            # The usual daily delivery: every new odometer reading is after every stored
            # one, so each feed and the readings extend at their end (what `of` would sort
            # them into: the stored readings, then the new ones sorted stably by day).
            return VehicleHistory(
                self.vehicle,
                self.telemetry.appended(tel),
                (*self.maintenance, *mnt),
                tuple(_merged(self.insurance, ins)),
                (*self.inspections, *insp),
                _ints([*self.reading_days, *(day for day, _ in new)]),
                _ints([*self.reading_km, *(km for _, km in new)]),
            )
        return VehicleHistory.of(
            self.vehicle,
            _merged(self.telemetry.rows(), tel),
            _merged(self.maintenance, mnt),
            _merged(self.insurance, ins),
            _merged(self.inspections, insp),
        )

    # ------------------------------------------------------------- stored form

    def stored(self) -> bytes:
        """Everything but the master data, in the store's binary form (`from_stored`)."""
        t = self.telemetry
        mnt, ins, insp = self.maintenance, self.insurance, self.inspections
        ints = array(
            _INT32,
            [
                *t.days,
                *t.km,
                *t.harsh,
                *t.gps,
                *(index for index, _ in t.codes),
                *(len(codes) for _, codes in t.codes),
                *(row[0] for row in mnt),
                *(row[1] for row in mnt),
                *(_MAINTENANCE_INDEX[row[2]] for row in mnt),
                *(row[0] for row in ins),
                *(_CLAIM_INDEX[row[1]] for row in ins),
                *(row[0] for row in insp),
                *(row[1] for row in insp),
                *(_RESULT_INDEX[row[2]] for row in insp),
                *(row[3] for row in insp),
                *(row[4] for row in insp),
                *self.reading_days,
                *self.reading_km,
            ],
        )
        if _SWAP:
            ints.byteswap()
        # Amounts have no upper bound: decimal text, like the fault codes.
        text = "|".join(
            (
                ",".join(code for _, codes in t.codes for code in codes),
                ",".join(str(row[3]) for row in mnt),
                ",".join(str(row[2]) for row in ins),
            )
        )
        counts = (len(t.days), len(t.codes), len(mnt), len(ins), len(insp), len(self.reading_days))
        body = _COUNTS.pack(*counts, self.first_drop) + ints.tobytes() + text.encode("ascii")
        return _HEAD.pack(_FORMAT, zlib.crc32(body)) + body

    @classmethod
    def from_stored(cls, vehicle: VehicleRow, blob: bytes) -> VehicleHistory:
        """The history `stored` wrote; `FeedError` when the bytes are not such a history."""
        try:
            return cls._from_stored(vehicle, blob)
        except (ValueError, IndexError, struct.error) as exc:  # a CRC collision, or a bug
            raise FeedError(f"stored feeds are not readable ({exc})") from None

    @classmethod
    def _from_stored(cls, vehicle: VehicleRow, blob: bytes) -> VehicleHistory:
        if not isinstance(blob, bytes):
            raise FeedError(f"stored feeds are {type(blob).__name__}, not bytes")
        if len(blob) < _HEAD.size + _COUNTS.size:
            raise FeedError(f"stored feeds are cut short ({len(blob)} bytes)")
        tag, crc = _HEAD.unpack_from(blob)
        if tag != _FORMAT:
            raise FeedError(f"stored feeds are not in format {_FORMAT!r} (found {tag!r})")
        body = memoryview(blob)[_HEAD.size :]
        if zlib.crc32(body) != crc:
            raise FeedError("stored feeds are corrupted (CRC-32 mismatch)")
        counts = _COUNTS.unpack_from(body)
        first_drop = counts[-1]
        bounds = [0, *accumulate(map(counts.__getitem__, _COLUMN_COUNTS))]
        ints_end = _COUNTS.size + 4 * bounds[-1]
        ints = _ints()
        ints.frombytes(body[_COUNTS.size : ints_end])
        if len(ints) != bounds[-1]:
            raise FeedError("stored feeds are cut short")
        if _SWAP:
            ints.byteswap()
        (
            days, km, harsh, gps, coded_rows, coded_counts,
            mnt_day, mnt_km, mnt_kind, ins_day, ins_kind,
            insp_day, insp_km, insp_result, insp_minor, insp_major,
            reading_days, reading_km,
        ) = [ints[low:high] for low, high in pairwise(bounds)]  # fmt: skip
        code_text, cost_text, claim_text = bytes(body[ints_end:]).decode("ascii").split("|")
        all_codes = code_text.split(",") if code_text else []
        codes = []
        at = 0
        for row, count in zip(coded_rows, coded_counts, strict=True):
            codes.append((row, tuple(all_codes[at : at + count])))
            at += count
        if at != len(all_codes):
            raise FeedError("stored feeds hold fault codes of no telemetry row")
        # Most vehicles have no claim and few other rows: empty feeds skip the zips.
        maintenance: tuple[Maintenance, ...] = ()
        if counts[2] or cost_text:
            maintenance = tuple(
                zip(
                    mnt_day,
                    mnt_km,
                    map(_MAINTENANCE_KINDS.__getitem__, mnt_kind),
                    _amounts(cost_text),
                    strict=True,
                )
            )
        claims: tuple[Claim, ...] = ()
        if counts[3] or claim_text:
            claims = tuple(
                zip(
                    ins_day,
                    map(_CLAIM_KINDS.__getitem__, ins_kind),
                    _amounts(claim_text),
                    strict=True,
                )
            )
        inspections: tuple[Inspection, ...] = ()
        if counts[4]:
            inspections = tuple(
                zip(
                    insp_day,
                    insp_km,
                    map(_RESULTS.__getitem__, insp_result),
                    insp_minor,
                    insp_major,
                    strict=True,
                )
            )
        return cls(
            vehicle,
            TelemetryColumns(days, km, harsh, gps, codes),
            maintenance,
            claims,
            inspections,
            reading_days,
            reading_km,
            first_drop,
        )  # fmt: skip


def _readings(rows: Iterable[Telemetry | Maintenance | Inspection]) -> list[tuple[int, int]]:
    return [(row[0], row[1]) for row in rows]


def _amounts(text: str) -> list[int]:
    return [int(amount) for amount in text.split(",")] if text else []


def _merged(older: Sequence[Any], newer: Sequence[Any]) -> list[Any]:
    if not newer:
        return list(older)
    if not older or older[-1][0] <= newer[0][0]:
        # The usual daily delivery: every new row is on or after the last older one, so
        # appending is the stable merge (on the same day the older row comes first).
        return [*older, *newer]
    # heapq.merge is stable: on the same day the older delivery's row comes first.
    return list(heapq.merge(older, newer, key=_day))


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
