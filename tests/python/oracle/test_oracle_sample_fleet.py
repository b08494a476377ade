"""The sample fleet generator: same seed, same bytes; valid VINs; the ground truth holds
(degrading vehicles end below 70% of appraisal, healthy ones do not; defaults come after the
observation date)."""

from __future__ import annotations

import json
from pathlib import Path

from oracle.fleet_feeds import FleetFeeds
from oracle.model import ScoreModel
from oracle.sample_fleet import FleetTruth, generate_fleet
from oracle.scoring import score_fleet
from vcl.vin import normalize_vin

THRESHOLD_BPS = 7_000


def files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_same_seed_same_files(fleet_dir: tuple[Path, FleetTruth], tmp_path: Path) -> None:
    directory, truth = fleet_dir
    again = generate_fleet(tmp_path / "again", seed=truth.seed)
    assert files(tmp_path / "again") == files(directory)
    assert again == truth
    other = generate_fleet(tmp_path / "other", seed=truth.seed + 1)
    assert files(tmp_path / "other")["telemetry.jsonl"] != files(directory)["telemetry.jsonl"]
    assert other != truth


def test_fleet_is_realistic_and_loads_cleanly(
    fleet_dir: tuple[Path, FleetTruth], fleet: tuple[FleetFeeds, FleetTruth]
) -> None:
    feeds, truth = fleet
    assert len(feeds.vehicles) == 200 == len(truth.vehicles)
    assert feeds.skipped == ()
    assert all(normalize_vin(vin) == vin for vin in feeds.vehicles)
    assert 15 <= len(truth.degrading()) <= 50
    assert 15 <= len(truth.defaulters()) <= 50
    for vehicle in feeds.vehicles.values():
        assert len(vehicle.telemetry) >= 52  # a year of weekly reports, or more
    for v in truth.vehicles:
        assert v.defaults == (v.default_date is not None)
        if v.default_date is not None:
            assert truth.observation_date < v.default_date <= truth.end
    truth_file = json.loads((fleet_dir[0] / "ground_truth.json").read_text())
    assert truth_file["seed"] == truth.seed
    assert sorted(v["vin"] for v in truth_file["vehicles"] if v["degrading"]) == sorted(
        truth.degrading()
    )


def test_degrading_vehicles_cross_the_threshold_and_healthy_ones_do_not(
    fleet: tuple[FleetFeeds, FleetTruth], default_model: ScoreModel
) -> None:
    feeds, truth = fleet
    scores = {s.vin: s for s in score_fleet(feeds, default_model, as_of=truth.end)}
    alerted = {vin for vin, s in scores.items() if s.below(THRESHOLD_BPS)}
    assert truth.degrading() <= alerted
    healthy = {v.vin for v in truth.vehicles if not v.degrading and not v.distressed}
    assert not healthy & alerted
    # At the start of their degradation they were still above it: the alert is news.
    for vin in truth.degrading():
        onset = next(v.degradation_onset for v in truth.vehicles if v.vin == vin)
        assert onset is not None
        early = score_fleet(FleetFeeds({vin: feeds.vehicles[vin]}), default_model, as_of=onset)[0]
        assert not early.below(THRESHOLD_BPS)
