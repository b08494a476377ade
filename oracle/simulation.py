"""The article's claims, simulated on the generated fleet: dynamic valuation against a static
appraisal, over one year, in one run.

Both lenders hold the same loans (every vehicle of the fleet is pledged from its appraisal) and
see the same defaults. Every `interval_days` (weekly by default, the telemetry cadence):

* the **dynamic** lender scores each vehicle with the oracle's model and values it; an alert
  is raised the first time the estimated value falls below `threshold_bps` of the appraisal
  (the governed threshold; 7000 at genesis);
* the **static** lender keeps the appraisal as the value and never looks again: it has no
  alert, and learns of trouble at the default.

Measured for each, against the generator's ground truth:

* **warning lead time**: for every defaulter, the days from the first alert on or before the
  default date to the default; defaulters with no such alert are counted as not warned;
* **valuation error**: mean absolute percentage error of the lender's value against the true
  value (`oracle.sample_fleet.true_value_on`) over every vehicle and observation date;
* **recovery at disposal**: for every defaulter, disposal proceeds / appraisal. The lender
  secures the vehicle on its action date and sells it at the true value on that date times the
  vehicle's forced-sale discount (the generator's disposal price over its true year-end value).
  Assumption: the dynamic lender acts at the first alert (on or before the default), the static
  lender at the default. Acting at an alert is an upper bound: in practice it means a call for
  more collateral, a restructuring or an early repossession, which may not always be possible.

A result on generated data, not a validation of the article's pilot figures. Deterministic: the
same seed, fleet size, interval, threshold and model give the same numbers.
"""

from __future__ import annotations

import bisect
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from oracle.fleet_feeds import FleetFeeds, VehicleFeeds, load_fleet_feeds
from oracle.model import ScoreModel, ValuationParams, load_model
from oracle.sample_fleet import (
    DEFAULT_SEED,
    FleetTruth,
    VehicleTruth,
    generate_fleet,
    true_value_on,
)
from oracle.scoring import score_vehicle
from oracle.valuation import BPS

FORMAT = "vcl-oracle-simulation/1"
DEFAULT_VEHICLES = 200
DEFAULT_INTERVAL_DAYS = 7
DEFAULT_THRESHOLD_BPS = 7000
DIGITS = 4


@dataclass(frozen=True)
class Observation:
    """One vehicle on one observation date."""

    day: date
    estimated_value_minor: int
    true_value_minor: int


@dataclass(frozen=True)
class VehiclePath:
    """A vehicle's year as both lenders see it."""

    truth: VehicleTruth
    appraisal_minor: int
    observations: tuple[Observation, ...]
    first_alert: date | None  # the dynamic lender's; the static lender never alerts
    true_breach: date | None  # first observation with the true value below the threshold


def observation_dates(truth: FleetTruth, interval_days: int) -> list[date]:
    """Every `interval_days` from the start of the year, up to its end."""
    if interval_days < 1:
        raise ValueError("the observation interval is at least one day")
    days = (truth.end - truth.start).days
    return [truth.start + timedelta(days=d) for d in range(interval_days, days + 1, interval_days)]


def simulate_fleet(
    feeds: FleetFeeds,
    truth: FleetTruth,
    model: ScoreModel,
    *,
    threshold_bps: int = DEFAULT_THRESHOLD_BPS,
    interval_days: int = DEFAULT_INTERVAL_DAYS,
    truth_params: ValuationParams | None = None,
) -> list[VehiclePath]:
    """Score and value every vehicle at every observation date. `truth_params` are the
    valuation parameters the generator drew its true values with (the default model's)."""
    if not 0 < threshold_bps <= BPS:
        raise ValueError(f"the alert threshold lies in 1..{BPS} bps, not {threshold_bps}")
    params = truth_params or load_model().parameters.valuation
    dates = observation_dates(truth, interval_days)
    paths = []
    for vehicle_truth in truth.vehicles:
        vehicle_feeds = feeds.vehicles[vehicle_truth.vin]
        observations = []
        first_alert = true_breach = None
        appraisal = vehicle_feeds.vehicle.appraisal_value_minor
        for day in dates:
            if day < vehicle_feeds.vehicle.appraisal_date:
                continue
            score = score_vehicle(vehicle_feeds.history, model, day)
            true_value = true_value_on(
                vehicle_feeds.vehicle,
                vehicle_truth,
                end=truth.end,
                day=day,
                odometer_km=_odometer_on(vehicle_feeds, day),
                params=params,
            )
            observations.append(Observation(day, score.estimated_value_minor, true_value))
            if first_alert is None and score.below(threshold_bps):
                first_alert = day
            if true_breach is None and true_value * BPS < appraisal * threshold_bps:
                true_breach = day
        paths.append(
            VehiclePath(vehicle_truth, appraisal, tuple(observations), first_alert, true_breach)
        )
    return paths


def summarise(
    paths: Sequence[VehiclePath], *, threshold_bps: int, interval_days: int
) -> dict[str, Any]:
    """The figures of both lenders, as the results file holds them."""
    defaulters = [p for p in paths if p.truth.defaults]
    dynamic = {
        "warning": _warning(defaulters, dynamic=True),
        "alerts": _alerts(paths),
        "valuation_error": _valuation_error(paths, dynamic=True),
        "recovery": _recovery(defaulters, dynamic=True),
    }
    static = {
        "warning": _warning(defaulters, dynamic=False),
        "alerts": {"vehicles_alerted": 0},
        "valuation_error": _valuation_error(paths, dynamic=False),
        "recovery": _recovery(defaulters, dynamic=False),
    }
    return {
        "threshold_bps": threshold_bps,
        "interval_days": interval_days,
        "observation_dates": len(paths[0].observations) if paths else 0,
        "fleet": {
            "vehicles": len(paths),
            "defaulters": len(defaulters),
            "degrading": sum(p.truth.degrading for p in paths),
            "distressed": sum(p.truth.distressed for p in paths),
            "true_value_below_threshold": sum(p.true_breach is not None for p in paths),
            # The generator's own disposals (after the year, at the year-end value) / appraisal.
            "recovery_as_generated_mean": _round(
                statistics.fmean(
                    p.truth.disposal_value_minor / p.appraisal_minor
                    for p in defaulters
                    if p.truth.disposal_value_minor is not None
                )
            )
            if defaulters
            else None,
        },
        "dynamic": dynamic,
        "static": static,
    }


def run_simulation(
    *,
    seed: int = DEFAULT_SEED,
    vehicles: int = DEFAULT_VEHICLES,
    threshold_bps: int = DEFAULT_THRESHOLD_BPS,
    interval_days: int = DEFAULT_INTERVAL_DAYS,
    model: ScoreModel | None = None,
) -> dict[str, Any]:
    """Generate the sample fleet for `seed`, run both lenders through its year, and return the
    results document (no timestamps or paths in it: the same inputs give the same bytes)."""
    model = model or load_model()
    with tempfile.TemporaryDirectory(prefix="vcl-simulation-") as directory:
        truth = generate_fleet(Path(directory), seed=seed, vehicles=vehicles)
        feeds = load_fleet_feeds(Path(directory))
    paths = simulate_fleet(
        feeds, truth, model, threshold_bps=threshold_bps, interval_days=interval_days
    )
    return {
        "format": FORMAT,
        "note": "a result on generated data (oracle.sample_fleet), not a validation of the"
        " article's pilot figures",
        "seed": seed,
        "start": truth.start.isoformat(),
        "end": truth.end.isoformat(),
        "model_version": model.version_hex,
        "assumptions": {
            "dynamic_action": "the lender secures the vehicle at the first alert on or before"
            " the default (at the default if there was none)",
            "static_action": "the lender secures the vehicle at the default",
            "disposal_price": "true value on the action date x the vehicle's forced-sale"
            " discount (generated disposal price / generated true year-end value)",
            "recovery": "disposal price / appraisal",
            "true_value": "oracle.sample_fleet.true_value_on: appraisal x age factor x"
            " mileage factor x (1 - 0.45 severity - 0.08 distress)",
        },
        **summarise(paths, threshold_bps=threshold_bps, interval_days=interval_days),
    }


# ------------------------------------------------------------------------------ figures


def _odometer_on(feeds: VehicleFeeds, day: date) -> int:
    """The latest telemetry reading on or before `day` (the appraisal's before any)."""
    days = [row.recorded_on for row in feeds.telemetry]
    index = bisect.bisect_right(days, day)
    if index == 0:
        return feeds.vehicle.appraisal_odometer_km
    return feeds.telemetry[index - 1].odometer_km


def _warned(path: VehiclePath, *, dynamic: bool) -> date | None:
    default = path.truth.default_date
    if not dynamic or path.first_alert is None or default is None or path.first_alert > default:
        return None
    return path.first_alert


def _warning(defaulters: Sequence[VehiclePath], *, dynamic: bool) -> dict[str, Any]:
    leads = []
    for path in defaulters:
        alert = _warned(path, dynamic=dynamic)
        if alert is not None and path.truth.default_date is not None:
            leads.append((path.truth.default_date - alert).days)
    return {
        "defaulters": len(defaulters),
        "warned": len(leads),
        "not_warned": len(defaulters) - len(leads),
        "lead_days_mean": _round(statistics.fmean(leads)) if leads else None,
        "lead_days_median": _round(statistics.median(leads)) if leads else None,
        "lead_days_min": min(leads, default=None),
        "lead_days_max": max(leads, default=None),
        # Unwarned defaulters count as 0 days: the lender's average warning per default.
        "lead_days_mean_all_defaulters": _round(sum(leads) / len(defaulters))
        if defaulters
        else None,
    }


def _alerts(paths: Sequence[VehiclePath]) -> dict[str, Any]:
    alerted = [p for p in paths if p.first_alert is not None]
    breached = [p for p in paths if p.true_breach is not None]
    both = [p for p in alerted if p.true_breach is not None]
    lags = [
        (p.first_alert - p.true_breach).days
        for p in both
        if p.first_alert is not None and p.true_breach is not None
    ]
    return {
        "vehicles_alerted": len(alerted),
        "alerted_defaulters": sum(p.truth.defaults for p in alerted),
        "alerted_non_defaulters": sum(not p.truth.defaults for p in alerted),
        "alerted_with_true_value_below_threshold": len(both),
        "true_value_below_threshold_not_alerted": len(breached) - len(both),
        # Positive: the alert came after the true value crossed; negative: before it.
        "alert_minus_true_crossing_days_mean": _round(statistics.fmean(lags)) if lags else None,
    }


def _valuation_error(paths: Sequence[VehiclePath], *, dynamic: bool) -> dict[str, Any]:
    def errors(selected: Sequence[VehiclePath], last_only: bool = False) -> list[float]:
        found = []
        for path in selected:
            observations = path.observations[-1:] if last_only else path.observations
            for o in observations:
                value = o.estimated_value_minor if dynamic else path.appraisal_minor
                found.append(abs(value - o.true_value_minor) / o.true_value_minor)
        return found

    def mape(values: list[float]) -> float | None:
        return _round(statistics.fmean(values)) if values else None

    degrading = [p for p in paths if p.truth.degrading]
    defaulters = [p for p in paths if p.truth.defaults]
    return {
        "mape": mape(errors(paths)),
        "mape_at_year_end": mape(errors(paths, last_only=True)),
        "mape_degrading": mape(errors(degrading)),
        "mape_defaulters": mape(errors(defaulters)),
        "observations": len(errors(paths)),
    }


def _recovery(defaulters: Sequence[VehiclePath], *, dynamic: bool) -> dict[str, Any]:
    ratios: list[float] = []
    proceeds = appraisals = 0
    acted_early = 0
    for path in defaulters:
        truth = path.truth
        if truth.default_date is None or truth.disposal_value_minor is None:
            continue
        alert = _warned(path, dynamic=dynamic)
        action = alert or truth.default_date
        acted_early += alert is not None
        discount = truth.disposal_value_minor / truth.true_value_minor
        price = int(_true_value_at(path, action) * discount)
        ratios.append(price / path.appraisal_minor)
        proceeds += price
        appraisals += path.appraisal_minor
    return {
        "defaulters": len(ratios),
        "acted_at_alert": acted_early,
        "recovery_mean": _round(statistics.fmean(ratios)) if ratios else None,
        "recovery_pooled": _round(proceeds / appraisals) if appraisals else None,
    }


def _true_value_at(path: VehiclePath, day: date) -> int:
    """The true value at the last observation on or before `day` (the first if none)."""
    chosen = path.observations[0]
    for observation in path.observations:
        if observation.day > day:
            break
        chosen = observation
    return chosen.true_value_minor


def _round(value: float) -> float:
    return round(value, DIGITS)
