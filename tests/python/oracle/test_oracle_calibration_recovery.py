"""`calibrate` recovers known weights: a history whose defaults are drawn from a logistic model
built from KNOWN weights is fitted back to those weights within a stated tolerance.

Tolerance (also in docs/oracle-model.md): every fitted weight within +/-250 bps of the known
one, the L1 distance over the twelve weights at most 1000 bps (of 10000), and the three
heaviest indicators the same three. On 8000 labelled vehicles the observed errors were at most
about 125 bps per weight and 570 bps L1 over six draws: the tolerance is about twice that.
"""

from __future__ import annotations

import math
import random
from datetime import date

from oracle.calibration import CalibrationHistory, LabelledVehicle, calibrate
from oracle.indicators import INDICATOR_NAMES
from oracle.model import ScoreModel

# Weights in the model's sense (bps, sum 10000, each at least the calibration floor of 100).
KNOWN_WEIGHTS = (300, 1800, 1200, 100, 100, 2000, 600, 1400, 800, 100, 1000, 600)
FLOOR_BPS = 100
SAMPLES = 8000
LOG_ODDS_SPAN = 16.0  # log-odds of default from every indicator at worst to every one at best
WEIGHT_TOLERANCE_BPS = 250
L1_TOLERANCE_BPS = 1000


def known_weights_history(seed: int) -> CalibrationHistory:
    """Vehicles with uniformly drawn normalised indicators, defaulting with probability
    sigmoid(span x (1/2 - sum_i share_i x x_i)), share_i = (weight_i - floor) / free weight:
    the model `calibrate` assumes, whose fitted weights are exactly the known ones."""
    rng = random.Random(seed)
    free = sum(KNOWN_WEIGHTS) - FLOOR_BPS * len(KNOWN_WEIGHTS)
    shares = [(weight - FLOOR_BPS) / free for weight in KNOWN_WEIGHTS]
    vehicles = []
    for _ in range(SAMPLES):
        normalised = tuple(rng.randint(0, 10_000) for _ in KNOWN_WEIGHTS)
        condition = sum(
            share * value / 10_000 for share, value in zip(shares, normalised, strict=True)
        )
        log_odds = LOG_ODDS_SPAN * (0.5 - condition)
        defaulted = rng.random() < 1 / (1 + math.exp(-log_odds))
        vehicles.append(LabelledVehicle(normalised, defaulted))
    return CalibrationHistory(date(2025, 6, 30), tuple(vehicles), (), 0)


def within_tolerance(fitted: tuple[int, ...]) -> bool:
    errors = [abs(f - k) for f, k in zip(fitted, KNOWN_WEIGHTS, strict=True)]
    return max(errors) <= WEIGHT_TOLERANCE_BPS and sum(errors) <= L1_TOLERANCE_BPS


def top_three(weights: tuple[int, ...]) -> set[str]:
    ranked = sorted(range(len(weights)), key=lambda i: -weights[i])
    return {INDICATOR_NAMES[i] for i in ranked[:3]}


def test_calibrate_recovers_known_weights_within_the_stated_tolerance(
    default_model: ScoreModel,
) -> None:
    assert sum(KNOWN_WEIGHTS) == 10_000
    # The starting point is far from the known weights: a fit that did nothing would fail.
    assert not within_tolerance(default_model.weights)

    fitted = calibrate(known_weights_history(seed=42), default_model, min_weight_bps=FLOOR_BPS)

    errors = {
        name: f - k
        for name, f, k in zip(INDICATOR_NAMES, fitted.weights, KNOWN_WEIGHTS, strict=True)
    }
    assert sum(fitted.weights) == 10_000
    assert within_tolerance(fitted.weights), errors
    assert top_three(fitted.weights) == top_three(KNOWN_WEIGHTS)
    assert fitted.version != default_model.version
