"""`simulate`: the generated fleet through a year, dynamic valuation against a static
appraisal. Deterministic for a seed; the dynamic lender warns, the static one never does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from oracle.fleet_feeds import FleetFeeds
from oracle.model import ScoreModel
from oracle.sample_fleet import FleetTruth, true_value_on
from oracle.simulation import run_simulation
from vcl_cli import app

VEHICLES = 80


@pytest.fixture(scope="module")
def results(default_model: ScoreModel) -> dict[str, Any]:
    return run_simulation(vehicles=VEHICLES, model=default_model)


def test_same_seed_same_results_and_another_seed_differs(
    results: dict[str, Any], default_model: ScoreModel
) -> None:
    again = run_simulation(vehicles=VEHICLES, model=default_model)
    assert json.dumps(again, sort_keys=True) == json.dumps(results, sort_keys=True)
    other = run_simulation(vehicles=VEHICLES, seed=results["seed"] + 1, model=default_model)
    assert other["dynamic"] != results["dynamic"]


def test_dynamic_valuation_warns_before_defaults_and_the_static_appraisal_never_does(
    results: dict[str, Any],
) -> None:
    dynamic, static = results["dynamic"], results["static"]
    defaulters = results["fleet"]["defaulters"]
    assert defaulters >= 5
    assert static["warning"] == {
        "defaulters": defaulters,
        "warned": 0,
        "not_warned": defaulters,
        "lead_days_mean": None,
        "lead_days_median": None,
        "lead_days_min": None,
        "lead_days_max": None,
        "lead_days_mean_all_defaulters": 0.0,
    }
    assert static["alerts"]["vehicles_alerted"] == 0
    warning = dynamic["warning"]
    assert 1 <= warning["warned"] <= defaulters
    assert warning["warned"] + warning["not_warned"] == defaulters
    assert 0 <= warning["lead_days_min"] <= warning["lead_days_mean"] <= warning["lead_days_max"]
    assert warning["lead_days_max"] <= 365
    assert (
        warning["lead_days_mean_all_defaulters"]
        > static["warning"]["lead_days_mean_all_defaulters"]
    )
    # Every vehicle whose true value fell below the threshold was alerted.
    assert dynamic["alerts"]["true_value_below_threshold_not_alerted"] == 0


def test_dynamic_values_are_closer_to_the_truth_and_recover_more(
    results: dict[str, Any],
) -> None:
    dynamic, static = results["dynamic"], results["static"]
    for lender in (dynamic, static):
        assert 0 <= lender["valuation_error"]["mape"] < 1
        assert 0 < lender["recovery"]["recovery_mean"] <= 1
    assert dynamic["valuation_error"]["mape"] < static["valuation_error"]["mape"]
    assert (
        dynamic["valuation_error"]["mape_degrading"] < static["valuation_error"]["mape_degrading"]
    )
    assert dynamic["recovery"]["recovery_pooled"] >= static["recovery"]["recovery_pooled"]
    assert dynamic["recovery"]["acted_at_alert"] == dynamic["warning"]["warned"]


def test_the_true_value_series_ends_at_the_generated_true_value(
    fleet: tuple[FleetFeeds, FleetTruth], default_model: ScoreModel
) -> None:
    feeds, truth = fleet
    for vehicle in truth.vehicles:
        vehicle_feeds = feeds.vehicles[vehicle.vin]
        value = true_value_on(
            vehicle_feeds.vehicle,
            vehicle,
            end=truth.end,
            day=truth.end,
            odometer_km=vehicle_feeds.telemetry[-1].odometer_km,
            params=default_model.parameters.valuation,
        )
        assert value == vehicle.true_value_minor


def test_simulate_command_writes_the_results_file(tmp_path: Path) -> None:
    out = tmp_path / "sim.json"
    result = CliRunner().invoke(
        app, ["oracle", "simulate", "--vehicles", "30", "--seed", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written == run_simulation(vehicles=30, seed=3)
    assert "generated data" in result.output
    assert written["fleet"]["vehicles"] == 30
