"""A fast path for whole telemetry files in the form this project writes them.

A year of telemetry is hundreds of thousands of lines; validating each one through pydantic
costs seconds. A file whose every line has exactly the layout `write_feed` produces (keys in
field order, no spaces, canonical VINs and fault codes, plain integers) is instead matched by
one regular expression; each distinct VIN and date is checked once by the same validators the
row model uses, and the ranges by comparisons. The fast path only ever says "all valid, here
are the rows" or "not sure": any file with anything unusual (a bad value, a blank line, a CR,
another key order) returns None and goes through the row-by-row path, which finds and names
every problem exactly as before. So a file can only be accepted here if the slow path accepts
it with the same values (tests/python/oracle/test_feed_fastpath.py compares both).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from oracle.feed_formats import FeedRow, TelemetryRow, trusted_row
from vcl.vin import InvalidVin, normalize_vin

R = TypeVar("R", bound=FeedRow)

_CODE = r'"[PCBU][0-3][0-9A-F]{3}"'  # already canonical: what `_valid_codes` returns
# One line exactly as `write_feed` writes a TelemetryRow. No class can match "\n", so with
# re.MULTILINE every match is one whole line, and a file is all canonical lines exactly
# when it has as many matches as lines.
_TELEMETRY_LINE = re.compile(
    r'^\{"vin":"([0-9A-HJ-NPR-Z]{17})",'
    r'"recorded_on":"([0-9]{4}-[0-9]{2}-[0-9]{2})",'
    r'"odometer_km":(0|[1-9][0-9]{0,6}),'
    rf'"fault_codes":\[((?:{_CODE}(?:,{_CODE})*)?)\],'
    r'"harsh_events":(0|[1-9][0-9]{0,5}),'
    r'"gps_anomalies":(0|[1-9][0-9]{0,5})\}$',
    re.MULTILINE,
)
_DATE = TypeAdapter(date)  # the core schema of a plain `date` field


class _NotCanonical(Exception):
    """A value the fast path cannot vouch for: the file takes the row-by-row path."""


def _bounds(model: type[FeedRow], field: str) -> tuple[int, int]:
    """The ge/le bounds of an integer field, read from the model (one definition)."""
    low, high = 0, 0
    for meta in model.model_fields[field].metadata:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return low, high


def fast_rows(text: str, row_model: type[R]) -> list[R] | None:
    """Every row of a whole JSON Lines file, line N at index N-1, when the fast path can vouch
    for all of them; otherwise None."""
    if row_model is not TelemetryRow or "\r" in text:
        return None
    lines = text.count("\n") + (not text.endswith("\n"))
    matches = _TELEMETRY_LINE.findall(text)
    if len(matches) != lines:
        return None  # some line is not canonical: blank, reordered, or not valid at all
    try:
        rows: list[Any] = _telemetry(matches)
    except _NotCanonical:
        return None
    return rows


def _telemetry(matches: list[tuple[str, str, str, str, str, str]]) -> list[TelemetryRow]:
    km_low, km_high = _bounds(TelemetryRow, "odometer_km")
    count_low, count_high = _bounds(TelemetryRow, "harsh_events")
    if _bounds(TelemetryRow, "gps_anomalies") != (count_low, count_high):
        raise _NotCanonical  # the two counts are checked with one pair of bounds below
    # Each distinct text converted once: a fleet repeats its VINs, dates and codes.
    vins: dict[str, str] = {}
    days: dict[str, date] = {}
    codes: dict[str, tuple[str, ...]] = {}
    fields_set = set(TelemetryRow.model_fields)
    rows = []
    for vin, day, km, fault_codes, harsh, gps in matches:
        odometer, harsh_events, gps_anomalies = int(km), int(harsh), int(gps)
        if not (
            km_low <= odometer <= km_high
            and count_low <= harsh_events <= count_high
            and count_low <= gps_anomalies <= count_high
        ):
            raise _NotCanonical
        if (vin_value := vins.get(vin)) is None:
            vin_value = vins[vin] = _vin(vin)
        if (day_value := days.get(day)) is None:
            day_value = days[day] = _day(day)
        if (codes_value := codes.get(fault_codes)) is None:
            codes_value = codes[fault_codes] = _codes(fault_codes)
        fields = {
            "vin": vin_value,
            "recorded_on": day_value,
            "odometer_km": odometer,
            "fault_codes": codes_value,
            "harsh_events": harsh_events,
            "gps_anomalies": gps_anomalies,
        }
        rows.append(trusted_row(TelemetryRow, fields, fields_set))
    return rows


def _vin(text: str) -> str:
    try:
        vin = normalize_vin(text)  # the row model's own check (check digit)
    except InvalidVin:
        raise _NotCanonical from None
    if vin != text:
        raise _NotCanonical
    return vin


def _day(text: str) -> date:
    try:
        return _DATE.validate_json(f'"{text}"')
    except ValidationError:
        raise _NotCanonical from None


def _codes(text: str) -> tuple[str, ...]:
    return tuple(text[1:-1].split('","')) if text else ()
