"""The estimated current value of a vehicle, in integer minor units.

    value = floor(appraisal x age_factor x mileage_factor x condition_factor)

Exact rational arithmetic throughout (no floats), so every operator gets the same integer.
The formula and a worked example are in docs/oracle-model.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from oracle.errors import ScoringError
from oracle.feed_formats import VehicleRow
from oracle.model import ValuationParams

DAYS_PER_YEAR = 365
BPS = 10_000


@dataclass(frozen=True, eq=False)
class Valuation:
    """The value and the three factors behind it, for explanation.

    The factors are kept as the integer numerators and denominators the value was computed
    from, and become `Fraction`s only when read: reducing three fractions cost more than the
    rest of the estimate, and a push reads only the value.
    """

    value_minor: int
    # (numerator, denominator) of the age, mileage and condition factors, not reduced.
    terms: tuple[int, int, int, int, int, int]

    @property
    def age_factor(self) -> Fraction:
        return Fraction(self.terms[0], self.terms[1])

    @property
    def mileage_factor(self) -> Fraction:
        return Fraction(self.terms[2], self.terms[3])

    @property
    def condition_factor(self) -> Fraction:
        return Fraction(self.terms[4], self.terms[5])

    def _key(self) -> tuple[int, Fraction, Fraction, Fraction]:
        return (self.value_minor, self.age_factor, self.mileage_factor, self.condition_factor)

    def __eq__(self, other: object) -> bool:  # equal values, however the terms are scaled
        if not isinstance(other, Valuation):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Valuation(value_minor={self.value_minor}, age_factor={self.age_factor!r},"
            f" mileage_factor={self.mileage_factor!r},"
            f" condition_factor={self.condition_factor!r})"
        )

    def ratio_bps(self, appraisal_minor: int) -> int:
        """Value as a share of the appraisal, in bps (rounded down), as the alert compares it."""
        return self.value_minor * BPS // appraisal_minor


def age_factor(
    first_registration: date, appraised: date, as_of: date, rates_bps: tuple[int, ...]
) -> Fraction:
    """Depreciation by age from the appraisal to `as_of`: within each year of the vehicle's age
    the year's rate applies linearly, and the years compound at each anniversary (365 days)."""
    return Fraction(
        *_age_terms(
            first_registration.toordinal(), appraised.toordinal(), as_of.toordinal(), rates_bps
        )
    )


def _age_terms(
    registered: int, appraised: int, as_of: int, rates_bps: tuple[int, ...]
) -> tuple[int, int]:
    """`age_factor` as an integer numerator and denominator, over day ordinals."""
    # Multiplying integers and dividing once at the end: the same exact value as multiplying
    # Fractions, without normalising each step.
    numerator, denominator = 1, 1
    day = appraised
    while day < as_of:
        year = (day - registered) // DAYS_PER_YEAR
        end = min(registered + DAYS_PER_YEAR * (year + 1), as_of)  # the next anniversary
        rate = rates_bps[min(year, len(rates_bps) - 1)]
        numerator *= BPS * DAYS_PER_YEAR - rate * (end - day)
        denominator *= BPS * DAYS_PER_YEAR
        day = end
    return numerator, denominator


def mileage_factor(km_driven: int, days: int, params: ValuationParams) -> Fraction:
    """Extra depreciation for distance beyond the expected yearly mileage (age already prices
    normal use); never a bonus for driving less, never below the floor."""
    return Fraction(*_mileage_terms(km_driven, days, params))


def _mileage_terms(km_driven: int, days: int, params: ValuationParams) -> tuple[int, int]:
    # 1 - rate x max(km - expected x days / 365, 0) / (10000 x 10000), over one denominator.
    scale = BPS * 10_000 * DAYS_PER_YEAR
    excess = max(km_driven * DAYS_PER_YEAR - params.expected_km_per_year * days, 0)
    factor = scale - params.mileage_rate_bps_per_10000km * excess
    return max(factor, params.mileage_floor_bps * 10_000 * DAYS_PER_YEAR), scale


def condition_factor(score: int, params: ValuationParams) -> Fraction:
    """The appraisal assumed a vehicle in reference condition: each score point below the
    reference costs `condition_slope_bps / 10000` of a point of value; no bonus above it."""
    return Fraction(*_condition_terms(score, params))


def _condition_terms(score: int, params: ValuationParams) -> tuple[int, int]:
    shortfall = max(params.condition_reference_score - score, 0)
    factor = BPS * BPS - params.condition_slope_bps * shortfall
    return max(factor, params.condition_floor_bps * BPS), BPS * BPS


def estimate_value(
    vehicle: VehicleRow, *, as_of: date, km_driven: int, score: int, params: ValuationParams
) -> Valuation:
    if as_of < vehicle.appraisal_date:
        raise ScoringError(f"as of {as_of} the vehicle was not yet appraised")
    if not 0 <= score <= BPS:
        raise ScoringError(f"a condition score lies in 0..{BPS}, not {score}")
    today = as_of.toordinal()
    appraised = vehicle.appraisal_date.toordinal()
    age_n, age_d = _age_terms(
        vehicle.first_registration.toordinal(), appraised, today, params.age_rate_bps_by_year
    )
    mileage_n, mileage_d = _mileage_terms(km_driven, today - appraised, params)
    condition_n, condition_d = _condition_terms(score, params)
    # floor(appraisal x age x mileage x condition), in integers (denominators are positive):
    # the same integer whether or not the fractions were reduced first.
    value = (vehicle.appraisal_value_minor * age_n * mileage_n * condition_n) // (
        age_d * mileage_d * condition_d
    )
    return Valuation(value, (age_n, age_d, mileage_n, mileage_d, condition_n, condition_d))
