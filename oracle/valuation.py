"""The estimated current value of a vehicle, in integer minor units.

    value = floor(appraisal x age_factor x mileage_factor x condition_factor)

Exact rational arithmetic throughout (no floats), so every operator gets the same integer.
The formula and a worked example are in docs/oracle-model.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from oracle.errors import ScoringError
from oracle.feed_formats import VehicleRow
from oracle.model import ValuationParams

DAYS_PER_YEAR = 365
BPS = 10_000


@dataclass(frozen=True)
class Valuation:
    """The value and the three factors behind it, for explanation."""

    value_minor: int
    age_factor: Fraction
    mileage_factor: Fraction
    condition_factor: Fraction

    def ratio_bps(self, appraisal_minor: int) -> int:
        """Value as a share of the appraisal, in bps (rounded down), as the alert compares it."""
        return self.value_minor * BPS // appraisal_minor


def age_factor(
    first_registration: date, appraised: date, as_of: date, rates_bps: tuple[int, ...]
) -> Fraction:
    """Depreciation by age from the appraisal to `as_of`: within each year of the vehicle's age
    the year's rate applies linearly, and the years compound at each anniversary (365 days)."""
    # Integer numerator and denominator, one Fraction at the end: the same exact value as
    # multiplying Fractions, without normalising each step.
    numerator, denominator = 1, 1
    day = appraised
    while day < as_of:
        year = (day - first_registration).days // DAYS_PER_YEAR
        anniversary = first_registration + timedelta(days=DAYS_PER_YEAR * (year + 1))
        end = min(anniversary, as_of)
        rate = rates_bps[min(year, len(rates_bps) - 1)]
        numerator *= BPS * DAYS_PER_YEAR - rate * (end - day).days
        denominator *= BPS * DAYS_PER_YEAR
        day = end
    return Fraction(numerator, denominator)


def mileage_factor(km_driven: int, days: int, params: ValuationParams) -> Fraction:
    """Extra depreciation for distance beyond the expected yearly mileage (age already prices
    normal use); never a bonus for driving less, never below the floor."""
    # 1 - rate x max(km - expected x days / 365, 0) / (10000 x 10000), over one denominator.
    scale = BPS * 10_000 * DAYS_PER_YEAR
    excess = max(km_driven * DAYS_PER_YEAR - params.expected_km_per_year * days, 0)
    factor = scale - params.mileage_rate_bps_per_10000km * excess
    return Fraction(max(factor, params.mileage_floor_bps * 10_000 * DAYS_PER_YEAR), scale)


def condition_factor(score: int, params: ValuationParams) -> Fraction:
    """The appraisal assumed a vehicle in reference condition: each score point below the
    reference costs `condition_slope_bps / 10000` of a point of value; no bonus above it."""
    shortfall = max(params.condition_reference_score - score, 0)
    factor = BPS * BPS - params.condition_slope_bps * shortfall
    return Fraction(max(factor, params.condition_floor_bps * BPS), BPS * BPS)


def estimate_value(
    vehicle: VehicleRow, *, as_of: date, km_driven: int, score: int, params: ValuationParams
) -> Valuation:
    if as_of < vehicle.appraisal_date:
        raise ScoringError(f"as of {as_of} the vehicle was not yet appraised")
    if not 0 <= score <= BPS:
        raise ScoringError(f"a condition score lies in 0..{BPS}, not {score}")
    days = (as_of - vehicle.appraisal_date).days
    age = age_factor(
        vehicle.first_registration, vehicle.appraisal_date, as_of, params.age_rate_bps_by_year
    )
    mileage = mileage_factor(km_driven, days, params)
    condition = condition_factor(score, params)
    # floor(appraisal x age x mileage x condition), in integers (denominators are positive).
    value = (
        vehicle.appraisal_value_minor * age.numerator * mileage.numerator * condition.numerator
    ) // (age.denominator * mileage.denominator * condition.denominator)
    return Valuation(value, age, mileage, condition)
