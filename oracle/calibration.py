"""Fitting a new model version from a labelled history (quarterly recalibration).

Weights: a ridge-penalised logistic regression of "defaulted after the observation date" on
the twelve normalised indicators (scaled to 0..1). An indicator's weight is proportional to
how much going from its worst to its best value lowers the log-odds of default; indicators
that do not protect get the floor weight only. Because the score is then an increasing affine
function of the fitted log-odds (up to the floor), ranking vehicles by score ranks them by
estimated default risk.

Condition slope of the valuation: a least-squares line through the disposals, of disposal
price over the age-and-mileage value against the score shortfall below the reference.

Deterministic: the same history and base model give the same parameters, so the same version.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from oracle.errors import CalibrationError
from oracle.fleet_feeds import FleetFeeds
from oracle.indicators import INDICATOR_NAMES, normalised_indicators, read_indicators
from oracle.model import TOTAL_WEIGHT, IndicatorParams, ScoreModel
from oracle.scoring import composite
from oracle.valuation import BPS, age_factor, mileage_factor

MIN_SAMPLES = 30
MIN_DEFAULTS = 5
MIN_DISPOSALS = 5
MAX_NEWTON_STEPS = 100
MAX_CONDITION_SLOPE_BPS = 50_000

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LabelledVehicle:
    """Indicators observed at the history's date, and what happened afterwards."""

    normalised: tuple[int, ...]
    defaulted: bool


@dataclass(frozen=True)
class Disposal:
    """A repossessed vehicle: the oracle's last indicators before disposal, the value that age
    and mileage alone explain, and the price it fetched."""

    normalised: tuple[int, ...]
    age_mileage_value: Fraction
    disposal_value_minor: int


@dataclass(frozen=True)
class CalibrationHistory:
    observed_on: date
    vehicles: tuple[LabelledVehicle, ...]
    disposals: tuple[Disposal, ...]
    already_defaulted: int  # left out: in default before the observation date


def build_history(feeds: FleetFeeds, model: ScoreModel, observed_on: date) -> CalibrationHistory:
    """Label every vehicle with an outcome: indicators as of `observed_on` (feeds after it are
    not looked at), and whether it defaulted later."""
    if not feeds.outcomes:
        raise CalibrationError("the feeds have no outcomes file: nothing to learn from")
    params = model.parameters
    vehicles: list[LabelledVehicle] = []
    disposals: list[Disposal] = []
    already = 0
    for vin, outcome in feeds.outcomes.items():
        vehicle_feeds = feeds.vehicles[vin]
        if outcome.default_date is not None and outcome.default_date <= observed_on:
            already += 1
            continue
        if observed_on >= vehicle_feeds.vehicle.appraisal_date:
            readout = read_indicators(vehicle_feeds.history, observed_on, params)
            vehicles.append(
                LabelledVehicle(normalised_indicators(readout, params), outcome.defaulted)
            )
        if outcome.disposal_date is None or outcome.disposal_value_minor is None:
            continue
        last = min(outcome.disposal_date, vehicle_feeds.latest_date)
        readout = read_indicators(vehicle_feeds.history, last, params)
        vehicle = vehicle_feeds.vehicle
        age = age_factor(
            vehicle.first_registration,
            vehicle.appraisal_date,
            outcome.disposal_date,
            params.valuation.age_rate_bps_by_year,
        )
        mileage = mileage_factor(
            readout.km_since_appraisal,
            (outcome.disposal_date - vehicle.appraisal_date).days,
            params.valuation,
        )
        disposals.append(
            Disposal(
                normalised_indicators(readout, params),
                vehicle.appraisal_value_minor * age * mileage,
                outcome.disposal_value_minor,
            )
        )
    return CalibrationHistory(observed_on, tuple(vehicles), tuple(disposals), already)


def calibrate(
    history: CalibrationHistory,
    base: ScoreModel,
    *,
    ridge: float = 1.0,
    min_weight_bps: int = 100,
) -> ScoreModel:
    """A new model: `base` with weights (and, given enough disposals, the valuation's
    condition slope) fitted to `history`. Save it with `oracle.model.save_model`."""
    samples = history.vehicles
    defaults = sum(sample.defaulted for sample in samples)
    if (
        len(samples) < MIN_SAMPLES
        or defaults < MIN_DEFAULTS
        or len(samples) - defaults < MIN_DEFAULTS
    ):
        raise CalibrationError(
            f"{len(samples)} vehicles with {defaults} defaults: calibration needs at least"
            f" {MIN_SAMPLES} vehicles and {MIN_DEFAULTS} of each outcome"
        )
    if not 0 <= min_weight_bps * len(INDICATOR_NAMES) < TOTAL_WEIGHT:
        raise CalibrationError(f"a floor of {min_weight_bps} bps leaves no weight to fit")
    x = np.array([sample.normalised for sample in samples], dtype=np.float64) / BPS
    y = np.array([sample.defaulted for sample in samples], dtype=np.float64)
    coefficients = _logistic_ridge(x, y, ridge)
    protective = np.maximum(-coefficients[1:], 0.0)
    if not protective.sum() > 0:
        raise CalibrationError("no indicator separates defaulters from the others")
    free = TOTAL_WEIGHT - min_weight_bps * len(INDICATOR_NAMES)
    weights = [min_weight_bps + share for share in _apportion(protective / protective.sum(), free)]

    params = base.parameters
    indicators = tuple(
        IndicatorParams(name=spec.name, weight=weight, best=spec.best, worst=spec.worst)
        for spec, weight in zip(params.indicators, weights, strict=True)
    )
    valuation = params.valuation
    slope_fit: dict[str, float | int] = {"disposals": len(history.disposals)}
    if len(history.disposals) >= MIN_DISPOSALS:
        slope, discount = _condition_slope(
            history.disposals, weights, valuation.condition_reference_score
        )
        if slope is not None:
            valuation = valuation.model_copy(update={"condition_slope_bps": slope})
            slope_fit["market_discount_bps"] = discount
    new_params = params.model_copy(update={"indicators": indicators, "valuation": valuation})
    new_params = type(params).model_validate(new_params.model_dump())
    scores = [composite(sample.normalised, weights)[0] for sample in samples]
    base_scores = [composite(sample.normalised, base.weights)[0] for sample in samples]
    labels = [sample.defaulted for sample in samples]
    return base.with_parameters(
        new_params,
        origin="calibrate",
        observed_on=history.observed_on.isoformat(),
        vehicles=len(samples),
        defaults=defaults,
        already_defaulted=history.already_defaulted,
        ridge=ridge,
        min_weight_bps=min_weight_bps,
        auc=round(auc(scores, labels), 4),
        parent_auc=round(auc(base_scores, labels), 4),
        coefficients={
            name: round(float(value), 6)
            for name, value in zip(("intercept", *INDICATOR_NAMES), coefficients, strict=True)
        },
        valuation_fit=slope_fit,
    )


def auc(scores: Sequence[int], defaulted: Sequence[bool]) -> float:
    """Probability that a random non-defaulter scores above a random defaulter (ties count
    half): 0.5 is no separation, 1.0 perfect. The Mann-Whitney statistic."""
    good = [score for score, bad in zip(scores, defaulted, strict=True) if not bad]
    bad = [score for score, was_bad in zip(scores, defaulted, strict=True) if was_bad]
    if not good or not bad:
        raise CalibrationError("AUC needs both defaulters and non-defaulters")
    wins = sum(1.0 if g > b else 0.5 if g == b else 0.0 for g in good for b in bad)
    return wins / (len(good) * len(bad))


def _logistic_ridge(x: FloatArray, y: FloatArray, ridge: float) -> FloatArray:
    """Newton's method on the L2-penalised log-likelihood (intercept not penalised)."""
    design = np.hstack([np.ones((x.shape[0], 1)), x])
    penalty = np.eye(design.shape[1]) * ridge
    penalty[0, 0] = 0.0
    beta = np.zeros(design.shape[1])
    for _ in range(MAX_NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (y - p) - penalty @ beta
        hessian = (design.T * (p * (1.0 - p))) @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    if not np.all(np.isfinite(beta)):
        raise CalibrationError("the regression did not converge; raise the ridge penalty")
    result: FloatArray = beta
    return result


def _apportion(shares: FloatArray, total: int) -> list[int]:
    """Integers proportional to `shares` summing exactly to `total` (largest remainder)."""
    exact = [float(share) * total for share in shares]
    whole = [math.floor(value) for value in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - whole[i]), i))
    for i in order[: total - sum(whole)]:
        whole[i] += 1
    return whole


def _condition_slope(
    disposals: Sequence[Disposal], weights: Sequence[int], reference: int
) -> tuple[int | None, int]:
    """Fit price / age-and-mileage value = a - k x shortfall; return k and the market discount
    1 - a, both in bps. None when the scores of the disposals do not vary."""
    shortfall = np.array(
        [max(reference - composite(d.normalised, weights)[0], 0) / BPS for d in disposals]
    )
    ratio = np.array([float(d.disposal_value_minor / d.age_mileage_value) for d in disposals])
    spread = float(np.var(shortfall))
    if spread <= 0:
        return None, 0
    k = -float(np.mean((shortfall - shortfall.mean()) * (ratio - ratio.mean()))) / spread
    a = float(ratio.mean()) + k * float(shortfall.mean())
    slope = min(max(round(k * BPS), 0), MAX_CONDITION_SLOPE_BPS)
    return slope, round((1 - a) * BPS)
