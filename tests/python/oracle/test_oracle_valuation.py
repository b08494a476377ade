"""The valuation formula on worked examples (docs/oracle-model.md), computed by hand."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from oracle.errors import ScoringError
from oracle.feed_formats import Powertrain, VehicleRow
from oracle.model import ValuationParams
from oracle.valuation import (
    Valuation,
    age_factor,
    condition_factor,
    estimate_value,
    mileage_factor,
)

PARAMS = ValuationParams(
    age_rate_bps_by_year=(1500, 1200, 1000, 900, 800),
    mileage_rate_bps_per_10000km=300,
    expected_km_per_year=20_000,
    mileage_floor_bps=5_000,
    condition_reference_score=8_000,
    condition_slope_bps=12_000,
    condition_floor_bps=4_000,
)
# Registered 2022-01-01, appraised 730 days later: in its third year of age (rate 10%).
CAR = VehicleRow(
    vin="LSVAU218XN2183294",
    make="Volkswagen",
    model="Lavida",
    model_year=2022,
    powertrain=Powertrain.ICE,
    first_registration=date(2022, 1, 1),
    appraisal_date=date(2024, 1, 1),
    appraisal_value_minor=10_000_000,  # CNY 100,000.00
    currency="CNY",
    appraisal_odometer_km=40_000,
)


def value(as_of: date, km: int, score: int) -> int:
    return estimate_value(CAR, as_of=as_of, km_driven=km, score=score, params=PARAMS).value_minor


@pytest.mark.parametrize(
    ("as_of", "km", "score", "expected"),
    [
        # On the appraisal day, at the reference condition: the appraisal itself.
        (date(2024, 1, 1), 0, 8_000, 10_000_000),
        # Better than the reference earns no bonus.
        (date(2024, 1, 1), 0, 10_000, 10_000_000),
        # One year (365 days) at 10%, expected mileage: x 0.90.
        (date(2024, 12, 31), 20_000, 8_000, 9_000_000),
        # 10,000 km over the expected 20,000: x (1 - 3%) = 0.97.
        (date(2024, 12, 31), 30_000, 8_000, 8_730_000),
        # Score 5000: 3000 short of the reference, x (1 - 1.2 x 0.30) = 0.64.
        (date(2024, 12, 31), 30_000, 5_000, 5_587_200),
        # Across the anniversary: 365 days at 10%, then 181 days at 9% linearly:
        # 10,000,000 x 0.9 x (1 - 0.09 x 181/365) = 8,598,328.77 -> floor.
        (date(2025, 6, 30), 29_000, 9_000, 8_598_328),
        # Score 0: 1 - 1.2 x 0.8 = 0.04, held at the 40% floor.
        (date(2024, 1, 1), 0, 0, 4_000_000),
        # Absurd mileage: held at the 50% floor (x 0.9 age).
        (date(2024, 12, 31), 2_000_000, 8_000, 4_500_000),
    ],
)
def test_worked_examples(as_of: date, km: int, score: int, expected: int) -> None:
    assert value(as_of, km, score) == expected


def test_ratio_against_the_threshold() -> None:
    valuation = estimate_value(
        CAR, as_of=date(2024, 12, 31), km_driven=30_000, score=5_000, params=PARAMS
    )
    assert valuation.ratio_bps(CAR.appraisal_value_minor) == 5_587
    assert valuation.value_minor * 10_000 // CAR.appraisal_value_minor < 7_000


def test_value_falls_with_time_distance_and_worse_condition() -> None:
    base = value(date(2024, 12, 31), 20_000, 7_000)
    assert value(date(2025, 3, 31), 20_000, 7_000) < base
    assert value(date(2024, 12, 31), 40_000, 7_000) < base
    assert value(date(2024, 12, 31), 20_000, 6_000) < base


def test_refuses_dates_before_the_appraisal_and_scores_out_of_range() -> None:
    with pytest.raises(ScoringError):
        value(date(2023, 12, 31), 0, 8_000)
    with pytest.raises(ScoringError):
        value(date(2024, 6, 1), 0, 10_001)


def test_the_factors_are_the_exact_fractions_of_the_formula() -> None:
    as_of, km, score = date(2025, 6, 30), 29_000, 7_000
    valuation = estimate_value(CAR, as_of=as_of, km_driven=km, score=score, params=PARAMS)
    age = age_factor(CAR.first_registration, CAR.appraisal_date, as_of, PARAMS.age_rate_bps_by_year)
    mileage = mileage_factor(km, (as_of - CAR.appraisal_date).days, PARAMS)
    condition = condition_factor(score, PARAMS)
    assert (valuation.age_factor, valuation.mileage_factor, valuation.condition_factor) == (
        age,
        mileage,
        condition,
    )
    assert age == Fraction(9, 10) * (1 - Fraction(900 * 181, 10_000 * 365))
    assert valuation.value_minor == CAR.appraisal_value_minor * age * mileage * condition // 1
    # Equal values are equal valuations, however their terms were scaled.
    same = Valuation(valuation.value_minor, tuple(2 * term for term in valuation.terms))
    assert same == valuation
    assert hash(same) == hash(valuation)
    assert "age_factor=Fraction(" in repr(valuation)
