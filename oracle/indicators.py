"""The twelve condition indicators: what each measures, and its raw value for one vehicle.

Raw values are computed with IEEE-754 double additions, multiplications and divisions only,
in a fixed order (no transcendental functions), so every operator computing the same feeds
gets the same bits, and so the same report to sign. Normalisation to 0..10000 and weights
live in the model (`oracle.model`); the table is in docs/oracle-model.md.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import accumulate
from operator import sub
from typing import TYPE_CHECKING

from oracle.errors import ScoringError
from oracle.feed_formats import InspectionResult, InsuranceEventKind, MaintenanceKind

if TYPE_CHECKING:
    from oracle.model import IndicatorParams, ModelParameters, ScoringParams
    from oracle.vehicle_history import VehicleHistory

DAYS_PER_YEAR = 365
DAYS_PER_MONTH = 30.4375  # 365.25 / 12
MAX_NORMALISED = 10_000
# The enum values histories hold, as plain strings: an enum member's lookup costs more than
# the comparison, and this runs for every row of every vehicle.
_ACCIDENT = str(InsuranceEventKind.ACCIDENT)
_FAIL = str(InspectionResult.FAIL)
_SCHEDULED_SERVICE = str(MaintenanceKind.SCHEDULED_SERVICE)


@dataclass(frozen=True)
class IndicatorDefinition:
    """What an indicator means; its bounds and weight are the model's."""

    name: str
    unit: str
    source: str
    higher_is_better: bool


INDICATORS: tuple[IndicatorDefinition, ...] = (
    IndicatorDefinition("depreciation_rate", "bps of value per year", "vehicles, odometer", False),
    IndicatorDefinition("maintenance_cost", "bps of appraisal per year", "maintenance", False),
    IndicatorDefinition("accident_rate", "accidents per 100 vehicle-years", "insurance", False),
    IndicatorDefinition("mileage_intensity", "km per year", "odometer readings", False),
    IndicatorDefinition("vehicle_age", "months since first registration", "vehicles", False),
    IndicatorDefinition("obd_fault_severity", "severity points", "telemetry", False),
    IndicatorDefinition("claim_severity", "bps of appraisal per year", "insurance", False),
    IndicatorDefinition("inspection_result", "points 0..100", "inspections", True),
    IndicatorDefinition("gps_anomalies", "anomalies per 100 days", "telemetry", False),
    IndicatorDefinition("harsh_driving", "harsh events per 1,000 km", "telemetry", False),
    IndicatorDefinition("service_overdue", "% of service interval used", "maintenance", False),
    IndicatorDefinition("odometer_rollback", "km", "odometer readings", False),
)
INDICATOR_NAMES: tuple[str, ...] = tuple(definition.name for definition in INDICATORS)


@dataclass(frozen=True)
class Readout:
    """The raw indicator values of a vehicle as of a date (in `INDICATOR_NAMES` order), and
    the distance driven since the appraisal, which the valuation uses."""

    raw: tuple[float, ...]
    km_since_appraisal: int


def normalise(raw: float, spec: IndicatorParams) -> int:
    """Linear from `worst` (0) to `best` (10000), clamped: higher is always better."""
    return normalised_values((raw,), ((spec.worst, spec.best - spec.worst),))[0]


_SCALE = float(MAX_NORMALISED)  # the product is the same float: an int operand is converted


def normalised_values(raw: Sequence[float], bounds: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """`normalise` of each value, given each indicator's (worst, best - worst) once per model:
    it runs twelve times for every vehicle of every push. The clamp is `min(max(f, 0.0),
    1.0)` written out (same result for every float, NaN included), without two calls."""
    return tuple(
        [
            round((0.0 if (f := (v - low) / span) < 0.0 else 1.0 if f > 1.0 else f) * _SCALE)
            for v, (low, span) in zip(raw, bounds, strict=True)
        ]
    )


def read_indicators(history: VehicleHistory, as_of: date, params: ModelParameters) -> Readout:
    """Compute the twelve raw values from the feed rows dated on or before `as_of`."""
    vehicle = history.vehicle
    s = params.scoring
    if as_of < vehicle.appraisal_date:
        raise ScoringError(
            f"as of {as_of} the vehicle was not yet appraised ({vehicle.appraisal_date})"
        )
    today = as_of.toordinal()
    start = today - s.window_days
    appraised = vehicle.appraisal_date.toordinal()
    # Data coverage starts at the appraisal (the loan); rates are per day of coverage.
    exposure_days = float(min(max(today - appraised, s.min_span_days), s.window_days))
    age_days = today - vehicle.first_registration.toordinal()
    appraisal = float(vehicle.appraisal_value_minor)

    readings = _Readings(history, today, s.odometer_tolerance_km)
    since_appraisal, _, _ = readings.driven_km(appraised)
    window_km, annual_km = _mileage(readings, start, age_days, s)

    maintenance = [row for row in history.maintenance if start < row[0] <= today]
    claims = [row for row in history.insurance if start < row[0] <= today]
    # Telemetry: rows first..last-1 are the window's (days are sorted).
    first = bisect_right(history.telemetry.days, start)
    last = bisect_right(history.telemetry.days, today)

    rates = params.valuation.age_rate_bps_by_year
    age_rate = rates[min(age_days // DAYS_PER_YEAR, len(rates) - 1)]
    excess_km = max(annual_km - params.valuation.expected_km_per_year, 0.0)
    depreciation = age_rate + params.valuation.mileage_rate_bps_per_10000km * excess_km / 10_000

    cost = float(sum(row[3] for row in maintenance))
    accidents = [row[1] for row in claims].count(_ACCIDENT)
    claimed = float(sum(row[2] for row in claims))
    codes = {code for day, day_codes in history.coded if start < day <= today for code in day_codes}
    harsh = float(sum(history.telemetry.harsh[first:last]))  # C ints: a slice and sum in C
    anomalies = float(sum(history.telemetry.gps[first:last]))

    raw = (
        depreciation,
        cost * DAYS_PER_YEAR / exposure_days / appraisal * 10_000,
        accidents * DAYS_PER_YEAR / exposure_days * 100,
        annual_km,
        age_days / DAYS_PER_MONTH,
        float(_severity_points(codes, s)),
        claimed * DAYS_PER_YEAR / exposure_days / appraisal * 10_000,
        float(_inspection_points(history, today, s)),
        anomalies * 100 / exposure_days,
        harsh * 1_000 / max(window_km, float(s.min_distance_km)),
        _service_used_percent(history, today, appraised, readings, s),
        float(readings.largest_rollback()),
    )
    return Readout(raw, since_appraisal)


def normalised_indicators(readout: Readout, params: ModelParameters) -> tuple[int, ...]:
    return normalised_values(readout.raw, indicator_bounds(params))


def indicator_bounds(params: ModelParameters) -> tuple[tuple[int, int], ...]:
    """Each indicator's (worst, best - worst), as `normalised_values` takes them."""
    return tuple((spec.worst, spec.best - spec.worst) for spec in params.indicators)


class _Readings:
    """The odometer readings of all sources up to a day (see `VehicleHistory`)."""

    def __init__(self, history: VehicleHistory, today: int, tolerance_km: int) -> None:
        self.days = days = history.reading_days
        self.km = history.reading_km
        self.end = end = bisect_right(days, today)  # readings 0..end-1 are on or before today
        self.tolerance_km = tolerance_km
        # Almost every odometer only ever reads higher; then the distance driven since any
        # reading is the last reading minus it, and there is no rollback: no walk over the
        # readings.
        self.rising = history.first_drop >= end

    def driven_km(self, since: int) -> tuple[int, int, int]:
        """Distance driven from the last reading on or before `since` (or the first after it)
        to the last reading, and those two days. A drop beyond the tolerance is a rollback:
        counting restarts from the lower reading, so a rolled-back odometer hides no distance;
        a smaller drop is noise between sources and is ignored."""
        km, end = self.km, self.end
        base = max(bisect_right(self.days, since, 0, end) - 1, 0)
        if self.rising:  # the walk below would add up exactly this
            return km[end - 1] - km[base], self.days[base], self.days[end - 1]
        high = km[base]
        driven = 0
        for reading in km[base + 1 : end]:
            if reading >= high:
                driven += reading - high
                high = reading
            elif high - reading > self.tolerance_km:
                high = reading
        return driven, self.days[base], self.days[end - 1]

    def highest(self) -> int:
        return self.km[self.end - 1] if self.rising else max(self.km[: self.end])

    def largest_rollback(self) -> int:
        """The largest drop below an earlier reading, beyond the tolerance for clock and
        source differences; 0 when the odometer never went backwards."""
        if self.rising:
            return 0
        km = self.km[: self.end]
        # The highest reading before each one (0 before the first): a running max, in C.
        before = [0, *accumulate(km, max)]
        largest = max(map(sub, before, km))  # zip-like: stops at the shorter, `km`
        return largest if largest > self.tolerance_km else 0


def _mileage(
    readings: _Readings, start: int, age_days: int, s: ScoringParams
) -> tuple[float, float]:
    """Km driven in the window and its annualised rate; with too short a span to annualise,
    the lifetime average."""
    km, first_day, last_day = readings.driven_km(start)
    span = last_day - first_day
    if span >= s.min_span_days:
        return float(km), km * DAYS_PER_YEAR / span
    lifetime = float(readings.highest()) * DAYS_PER_YEAR / max(age_days, s.min_span_days)
    return float(km), lifetime


def _severity(code: str, s: ScoringParams) -> int:
    for length in range(len(code), 0, -1):
        points = s.dtc_severity.get(code[:length])
        if points is not None:
            return points
    return s.dtc_default_severity


# Each code's severity under a model's scoring parameters (held, so the id stays theirs):
# a fleet's vehicles report the same few hundred codes, each looked up prefix by prefix.
_SEVERITIES: dict[int, tuple[ScoringParams, dict[str, int]]] = {}


def _severity_points(codes: Iterable[str], s: ScoringParams) -> int:
    known = _SEVERITIES.get(id(s))
    if known is None or known[0] is not s:
        if len(_SEVERITIES) >= 16:  # models come and go only in calibration and tests
            _SEVERITIES.clear()
        known = _SEVERITIES[id(s)] = (s, {})
    memo = known[1]
    total = 0
    for code in codes:  # integers: the sum is the same in any order
        points = memo.get(code)
        if points is None:
            points = memo[code] = _severity(code, s)
        total += points
    return total


def _inspection_points(history: VehicleHistory, today: int, s: ScoringParams) -> int:
    done = [row for row in history.inspections if row[0] <= today]
    if not done:
        return s.inspection_missing_points
    _, _, result, minor, major = done[-1]
    if result == _FAIL:
        return s.inspection_fail_points
    lost = minor * s.inspection_minor_defect_points + major * s.inspection_major_defect_points
    return max(100 - lost, s.inspection_fail_points)


def _service_used_percent(
    history: VehicleHistory, today: int, appraised: int, readings: _Readings, s: ScoringParams
) -> float:
    """How much of the service interval (days or km, whichever is further) has been used
    since the last scheduled service, or since the appraisal when none is on record."""
    services = [
        row[0] for row in history.maintenance if row[2] == _SCHEDULED_SERVICE and row[0] <= today
    ]
    since_day = services[-1] if services else appraised
    km, _, _ = readings.driven_km(since_day)
    by_days = (today - since_day) / s.service_interval_days
    by_km = km / s.service_interval_km
    return max(by_days, by_km) * 100
