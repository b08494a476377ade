"""The composite score: bounds, contributions that add up, explainability, fleet scoring."""

from __future__ import annotations

import random
from datetime import date

import pytest

from oracle.fleet_feeds import FleetFeeds
from oracle.model import ScoreModel
from oracle.sample_fleet import FleetTruth
from oracle.scoring import composite, score_fleet


@pytest.mark.parametrize(
    ("normalised", "weights"),
    [
        ((10_000,) * 12, (834,) * 4 + (833,) * 8),
        ((0,) * 12, (834,) * 4 + (833,) * 8),
        (
            (9_999, 1, 5_001, 4_999, 3_333, 6_667, 7_777, 2_222, 1_234, 8_765, 4_321, 5_678),
            (900, 1200, 900, 500, 500, 1400, 700, 1200, 700, 500, 900, 600),
        ),
        ((1,) * 12, (1, 9_989) + (1,) * 10),
    ],
)
def test_contributions_sum_to_the_score(
    normalised: tuple[int, ...], weights: tuple[int, ...]
) -> None:
    score, shares = composite(normalised, weights)
    exact = sum(w * n for w, n in zip(weights, normalised, strict=True)) / 10_000
    assert abs(score - exact) <= 0.5
    assert sum(shares) == score
    for share, weight, value in zip(shares, weights, normalised, strict=True):
        assert abs(share - weight * value / 10_000) < 1  # each share is its own, rounded


def test_fleet_scores_are_complete_and_explained(
    sample_feeds: FleetFeeds, default_model: ScoreModel
) -> None:
    scores = score_fleet(sample_feeds, default_model)
    assert [s.vin for s in scores] == list(sample_feeds.vehicles)
    for s in scores:
        assert 0 <= s.score <= 10_000
        assert len(s.indicator_values) == 12
        assert all(0 <= v <= 10_000 for v in s.indicator_values)
        assert sum(i.contribution for i in s.indicators) == s.score
        assert s.model_version == default_model.version
        assert s.as_of == sample_feeds.latest_date
        assert 0 < s.estimated_value_minor < 2**128
        assert s.vin not in repr(s)  # never a full VIN in a log line


def test_degraded_vehicles_score_lower(
    fleet: tuple[FleetFeeds, FleetTruth], default_model: ScoreModel
) -> None:
    feeds, truth = fleet
    scores = {s.vin: s.score for s in score_fleet(feeds, default_model, as_of=truth.end)}
    degrading = [scores[vin] for vin in truth.degrading()]
    others = [scores[v.vin] for v in truth.vehicles if not v.degrading and not v.distressed]
    assert max(degrading) < min(others)


def test_scores_move_with_time(sample_feeds: FleetFeeds, default_model: ScoreModel) -> None:
    early = score_fleet(sample_feeds, default_model, as_of=date(2025, 3, 1))
    late = score_fleet(sample_feeds, default_model)
    assert [s.as_of for s in early] == [date(2025, 3, 1)] * 6
    assert [s.score for s in early] != [s.score for s in late]


def _composite_by_sorting(
    normalised: tuple[int, ...], weights: tuple[int, ...]
) -> tuple[int, tuple[int, ...]]:
    """The composite as first written: a full sort with a key function."""
    products = [weight * value for weight, value in zip(weights, normalised, strict=True)]
    score = (sum(products) + 5_000) // 10_000
    shares = [product // 10_000 for product in products]
    order = sorted(range(len(products)), key=lambda i: (-(products[i] % 10_000), i))
    for i in order[: score - sum(shares)]:
        shares[i] += 1
    return score, tuple(shares)


def test_contributions_are_those_of_the_largest_remainder_rule_with_ties_in_order() -> None:
    rng = random.Random(12)
    cases = [((5_000,) * 12, (834,) * 4 + (833,) * 8), ((1,) * 12, (833,) * 11 + (837,))]
    for _ in range(2_000):
        weights = [rng.randrange(0, 900) for _ in range(11)]
        weights.append(10_000 - sum(weights))  # the weights of a model sum to 10000
        # Few distinct values: many equal remainders, so the tie-break decides.
        normalised = tuple(rng.choice((0, 1, 5_000, 9_999, 10_000, 3_333)) for _ in range(12))
        cases.append((normalised, tuple(weights)))
    assert len(cases) > 100
    for normalised, weights in cases:
        assert composite(normalised, weights) == _composite_by_sorting(normalised, weights)
    with pytest.raises(ValueError, match="11 values for 12 weights"):
        composite((1,) * 11, (834,) * 4 + (833,) * 8)
