"""Composite condition score, per-indicator contributions, and the value estimate.

    score = round(sum(weight_i x normalised_i) / 10000)       (weights sum to 10000)

Each indicator's contribution is its share `weight_i x normalised_i / 10000`, rounded so that
the twelve contributions add up to the score exactly (largest remainder): the score explains
itself to the last basis point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import repeat
from operator import floordiv, mod, mul, neg
from typing import NamedTuple

from oracle.feed_store import StoredFleet
from oracle.fleet_feeds import FleetFeeds, redact_vin
from oracle.gc_pause import gc_paused
from oracle.indicators import INDICATOR_NAMES, normalised_values, read_indicators
from oracle.model import TOTAL_WEIGHT, ScoreModel
from oracle.valuation import Valuation, estimate_value
from oracle.vehicle_history import VehicleHistory


class IndicatorValue(NamedTuple):  # a tuple: twelve of them for every vehicle scored
    name: str
    raw: float
    normalised: int  # 0..10000, higher = better condition
    weight: int  # bps of the score
    contribution: int  # bps of the score this indicator earned


@dataclass(frozen=True)
class VehicleScore:
    """One vehicle's score, as the report carries it, with its explanation.

    `vin` is kept for mapping to the on-chain vehicle id (`vcl.vin.vehicle_id`) and hidden
    from `repr`: a full VIN never reaches a log. The explanation is kept as four tuples and
    made into `IndicatorValue`s only when read: a push reads only the normalised values.
    """

    vin: str = field(repr=False)
    as_of: date
    score: int
    raw: tuple[float, ...]  # the twelve raw values, in `INDICATOR_NAMES` order
    indicator_values: tuple[int, ...]  # normalised, in on-chain order (`uint16[12]`)
    weights: tuple[int, ...]
    contributions: tuple[int, ...]
    valuation: Valuation
    appraisal_value_minor: int
    currency: str
    model_version: bytes

    @property
    def indicators(self) -> tuple[IndicatorValue, ...]:
        return tuple(
            map(
                IndicatorValue,
                INDICATOR_NAMES,
                self.raw,
                self.indicator_values,
                self.weights,
                self.contributions,
            )
        )

    @property
    def redacted_vin(self) -> str:
        return redact_vin(self.vin)

    @property
    def estimated_value_minor(self) -> int:
        return self.valuation.value_minor

    @property
    def value_ratio_bps(self) -> int:
        return self.valuation.ratio_bps(self.appraisal_value_minor)

    def below(self, threshold_bps: int) -> bool:
        """Would the contract alert at this (governed) threshold, e.g. 7000 for 70%."""
        return self.value_ratio_bps < threshold_bps


def composite(normalised: Sequence[int], weights: Sequence[int]) -> tuple[int, tuple[int, ...]]:
    """The score (rounded half up) and the contributions that sum to it exactly."""
    if len(normalised) != len(weights):
        raise ValueError(f"{len(normalised)} values for {len(weights)} weights")
    # Element-wise steps as `map`s of operators: C loops, for every vehicle of every push.
    products = list(map(mul, weights, normalised))
    score = (sum(products) + TOTAL_WEIGHT // 2) // TOTAL_WEIGHT
    shares = list(map(floordiv, products, repeat(TOTAL_WEIGHT)))
    missing = score - sum(shares)
    if missing:
        # Hand out the rounding to the largest remainders (ties: indicator order): sorting
        # (-remainder, index) pairs.
        remainders = map(neg, map(mod, products, repeat(TOTAL_WEIGHT)))
        for _, i in sorted(zip(remainders, range(len(products)), strict=True))[:missing]:
            shares[i] += 1
    return score, tuple(shares)


def score_vehicle(history: VehicleHistory, model: ScoreModel, as_of: date) -> VehicleScore:
    """One vehicle's score."""
    params = model.parameters
    readout = read_indicators(history, as_of, params)
    normalised = normalised_values(readout.raw, model.bounds)
    weights = model.weights
    score, shares = composite(normalised, weights)
    vehicle = history.vehicle
    valuation = estimate_value(
        vehicle,
        as_of=as_of,
        km_driven=readout.km_since_appraisal,
        score=score,
        params=params.valuation,
    )
    return VehicleScore(
        vin=vehicle.vin,
        as_of=as_of,
        score=score,
        raw=readout.raw,
        indicator_values=normalised,
        weights=weights,
        contributions=shares,
        valuation=valuation,
        appraisal_value_minor=vehicle.appraisal_value_minor,
        currency=vehicle.currency,
        model_version=model.version,
    )


def score_fleet(
    fleet: FleetFeeds | StoredFleet, model: ScoreModel, *, as_of: date | None = None
) -> list[VehicleScore]:
    """Score every vehicle as of `as_of` (default: the latest date in the feeds), in the order
    of the vehicle master file (or of the feed store)."""
    when = fleet.latest_date if as_of is None else as_of
    with gc_paused():  # tens of thousands of long-lived objects, no cycles among them
        return [score_vehicle(history, model, when) for history in fleet.histories()]
