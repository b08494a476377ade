"""The twelve raw indicators as first written: straight over the validated rows, one filter
per feed. `oracle.indicators` computes the same from compact histories with sums over slices and
bisection; the tests hold the two equal, bit for bit, so this stays the readable definition."""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, timedelta

from oracle.errors import ScoringError
from oracle.feed_formats import InspectionResult, InsuranceEventKind, MaintenanceKind
from oracle.fleet_feeds import VehicleFeeds
from oracle.indicators import DAYS_PER_MONTH, DAYS_PER_YEAR, Readout
from oracle.model import ModelParameters, ScoringParams


def read_indicators(feeds: VehicleFeeds, as_of: date, params: ModelParameters) -> Readout:
    """Compute the twelve raw values from the feed rows dated on or before `as_of`."""
    vehicle = feeds.vehicle
    s = params.scoring
    if as_of < vehicle.appraisal_date:
        raise ScoringError(
            f"as of {as_of} the vehicle was not yet appraised ({vehicle.appraisal_date})"
        )
    start = as_of - timedelta(days=s.window_days)
    # Data coverage starts at the appraisal (the loan); rates are per day of coverage.
    exposure_days = float(
        min(max((as_of - vehicle.appraisal_date).days, s.min_span_days), s.window_days)
    )
    age_days = (as_of - vehicle.first_registration).days
    appraisal = float(vehicle.appraisal_value_minor)

    readings = _odometer_readings(feeds, as_of)
    since_appraisal, _, _ = driven_km(readings, vehicle.appraisal_date, s.odometer_tolerance_km)
    window_km, annual_km = _mileage(readings, start, as_of, age_days, s)

    maintenance = [row for row in feeds.maintenance if start < row.service_date <= as_of]
    claims = [row for row in feeds.insurance if start < row.event_date <= as_of]
    telemetry = [row for row in feeds.telemetry if start < row.recorded_on <= as_of]

    rates = params.valuation.age_rate_bps_by_year
    age_rate = rates[min(age_days // DAYS_PER_YEAR, len(rates) - 1)]
    excess_km = max(annual_km - params.valuation.expected_km_per_year, 0.0)
    depreciation = age_rate + params.valuation.mileage_rate_bps_per_10000km * excess_km / 10_000

    cost = float(sum(row.cost_minor for row in maintenance))
    accidents = sum(1 for row in claims if row.kind is InsuranceEventKind.ACCIDENT)
    claimed = float(sum(row.claim_minor for row in claims))
    codes = {code for row in telemetry for code in row.fault_codes}
    harsh = float(sum(row.harsh_events for row in telemetry))
    anomalies = float(sum(row.gps_anomalies for row in telemetry))

    raw = (
        depreciation,
        cost * DAYS_PER_YEAR / exposure_days / appraisal * 10_000,
        accidents * DAYS_PER_YEAR / exposure_days * 100,
        annual_km,
        age_days / DAYS_PER_MONTH,
        float(sum(_severity(code, s) for code in sorted(codes))),
        claimed * DAYS_PER_YEAR / exposure_days / appraisal * 10_000,
        float(_inspection_points(feeds, as_of, s)),
        anomalies * 100 / exposure_days,
        harsh * 1_000 / max(window_km, float(s.min_distance_km)),
        _service_used_percent(feeds, as_of, readings, s),
        float(_largest_rollback(readings, s.odometer_tolerance_km)),
    )
    return Readout(raw, since_appraisal)


def _odometer_readings(feeds: VehicleFeeds, as_of: date) -> list[tuple[date, int]]:
    vehicle = feeds.vehicle
    readings = [(vehicle.appraisal_date, vehicle.appraisal_odometer_km)]
    readings += [(r.recorded_on, r.odometer_km) for r in feeds.telemetry if r.recorded_on <= as_of]
    readings += [
        (r.service_date, r.odometer_km) for r in feeds.maintenance if r.service_date <= as_of
    ]
    readings += [
        (r.inspection_date, r.odometer_km) for r in feeds.inspections if r.inspection_date <= as_of
    ]
    readings.sort(key=lambda reading: reading[0])  # stable: same-day readings keep source order
    return readings


def _mileage(
    readings: list[tuple[date, int]], start: date, as_of: date, age_days: int, s: ScoringParams
) -> tuple[float, float]:
    """Km driven in the window and its annualised rate; with too short a span to annualise,
    the lifetime average."""
    km, first_day, last_day = driven_km(readings, start, s.odometer_tolerance_km)
    span = (last_day - first_day).days
    if span >= s.min_span_days:
        return float(km), km * DAYS_PER_YEAR / span
    lifetime = float(max(r for _, r in readings)) * DAYS_PER_YEAR / max(age_days, s.min_span_days)
    return float(km), lifetime


def driven_km(
    readings: list[tuple[date, int]], since: date, tolerance_km: int
) -> tuple[int, date, date]:
    """Distance driven from the last reading on or before `since` (or the first after it) to
    the last reading, and those two dates. A drop beyond the tolerance is a rollback: counting
    restarts from the lower reading, so a rolled-back odometer hides no distance; a smaller
    drop is noise between sources and is ignored."""
    # The readings are sorted by date: the last one on or before `since`, else the first.
    base = max(bisect_right(readings, since, key=_reading_day) - 1, 0)
    high = readings[base][1]
    km = 0
    for _, reading in readings[base + 1 :]:
        if reading >= high:
            km += reading - high
            high = reading
        elif high - reading > tolerance_km:
            high = reading
    return km, readings[base][0], readings[-1][0]


def _reading_day(reading: tuple[date, int]) -> date:
    return reading[0]


def _severity(code: str, s: ScoringParams) -> int:
    for length in range(len(code), 0, -1):
        points = s.dtc_severity.get(code[:length])
        if points is not None:
            return points
    return s.dtc_default_severity


def _inspection_points(feeds: VehicleFeeds, as_of: date, s: ScoringParams) -> int:
    done = [row for row in feeds.inspections if row.inspection_date <= as_of]
    if not done:
        return s.inspection_missing_points
    latest = done[-1]
    if latest.result is InspectionResult.FAIL:
        return s.inspection_fail_points
    lost = (
        latest.minor_defects * s.inspection_minor_defect_points
        + latest.major_defects * s.inspection_major_defect_points
    )
    return max(100 - lost, s.inspection_fail_points)


def _service_used_percent(
    feeds: VehicleFeeds, as_of: date, readings: list[tuple[date, int]], s: ScoringParams
) -> float:
    """How much of the service interval (days or km, whichever is further) has been used
    since the last scheduled service, or since the appraisal when none is on record."""
    services = [
        row
        for row in feeds.maintenance
        if row.kind is MaintenanceKind.SCHEDULED_SERVICE and row.service_date <= as_of
    ]
    since_day = services[-1].service_date if services else feeds.vehicle.appraisal_date
    km, _, _ = driven_km(readings, since_day, s.odometer_tolerance_km)
    by_days = (as_of - since_day).days / s.service_interval_days
    by_km = km / s.service_interval_km
    return max(by_days, by_km) * 100


def _largest_rollback(readings: list[tuple[date, int]], tolerance_km: int) -> int:
    """The largest drop below an earlier reading, beyond the tolerance for clock and source
    differences; 0 when the odometer never went backwards."""
    highest = 0
    largest = 0
    for _, km in readings:
        drop = highest - km
        if drop > tolerance_km:
            largest = max(largest, drop)
        highest = max(highest, km)
    return largest
