"""The composite score: bounds, contributions that add up, explainability, fleet scoring."""

from __future__ import annotations

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
