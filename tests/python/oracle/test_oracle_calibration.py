"""Calibration on generated history: weights move to the indicators that carry the signal,
defaulters score lower out of sample, the result is deterministic, too little data refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from oracle.calibration import auc, build_history, calibrate
from oracle.errors import CalibrationError
from oracle.fleet_feeds import FleetFeeds, load_fleet_feeds
from oracle.model import ScoreModel, load_model, save_model
from oracle.sample_fleet import FleetTruth, generate_fleet
from oracle.scoring import composite

# By construction of the generator: distress shows in GPS anomalies and odometer rollbacks,
# degradation in trouble codes; vehicle age is drawn independently of default.
INFORMATIVE = ("gps_anomalies", "odometer_rollback", "obd_fault_severity")
NOISE = "vehicle_age"


@pytest.fixture(scope="module")
def calibrated(fleet: tuple[FleetFeeds, FleetTruth], default_model: ScoreModel) -> ScoreModel:
    feeds, truth = fleet
    return calibrate(build_history(feeds, default_model, truth.observation_date), default_model)


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[FleetFeeds, FleetTruth]:
    directory = tmp_path_factory.mktemp("held_out")
    truth = generate_fleet(directory, seed=7)
    return load_fleet_feeds(directory), truth


def weight(model: ScoreModel, name: str) -> int:
    return next(spec.weight for spec in model.parameters.indicators if spec.name == name)


def test_weights_move_toward_informative_indicators(
    calibrated: ScoreModel, default_model: ScoreModel
) -> None:
    before = sum(weight(default_model, name) for name in INFORMATIVE)
    after = sum(weight(calibrated, name) for name in INFORMATIVE)
    assert after >= before + 2_000
    assert weight(calibrated, NOISE) < weight(default_model, NOISE)
    assert sum(calibrated.weights) == 10_000
    assert min(calibrated.weights) >= 100  # the floor keeps every indicator visible


def test_defaulters_score_lower_out_of_sample(
    calibrated: ScoreModel, default_model: ScoreModel, held_out: tuple[FleetFeeds, FleetTruth]
) -> None:
    feeds, truth = held_out
    history = build_history(feeds, default_model, truth.observation_date)
    labels = [v.defaulted for v in history.vehicles]
    assert sum(labels) >= 10
    new = auc([composite(v.normalised, calibrated.weights)[0] for v in history.vehicles], labels)
    old = auc([composite(v.normalised, default_model.weights)[0] for v in history.vehicles], labels)
    assert new > 0.7
    assert new > old


def test_calibration_is_deterministic_and_versioned(
    fleet: tuple[FleetFeeds, FleetTruth],
    default_model: ScoreModel,
    calibrated: ScoreModel,
    tmp_path: Path,
) -> None:
    feeds, truth = fleet
    again = calibrate(build_history(feeds, default_model, truth.observation_date), default_model)
    assert again == calibrated
    assert calibrated.version != default_model.version
    assert calibrated.metadata["parent"] == default_model.version_hex
    first = save_model(calibrated, tmp_path / "a")
    second = save_model(again, tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert load_model(first).version == calibrated.version


def test_condition_slope_is_fitted_from_disposals(
    calibrated: ScoreModel, default_model: ScoreModel
) -> None:
    fit = calibrated.metadata["valuation_fit"]
    assert fit["disposals"] >= 5
    slope = calibrated.parameters.valuation.condition_slope_bps
    assert 0 < slope != default_model.parameters.valuation.condition_slope_bps


def test_too_little_history_is_refused(
    fleet: tuple[FleetFeeds, FleetTruth], default_model: ScoreModel
) -> None:
    feeds, truth = fleet
    history = build_history(feeds, default_model, truth.observation_date)
    small = dataclasses.replace(history, vehicles=history.vehicles[:20])
    with pytest.raises(CalibrationError, match="at least"):
        calibrate(small, default_model)
    no_defaults = dataclasses.replace(
        history, vehicles=tuple(v for v in history.vehicles if not v.defaulted)
    )
    with pytest.raises(CalibrationError):
        calibrate(no_defaults, default_model)


def test_auc() -> None:
    assert auc([9, 8, 2, 1], [False, False, True, True]) == 1.0
    assert auc([1, 2, 8, 9], [False, False, True, True]) == 0.0
    assert auc([5, 5], [False, True]) == 0.5
