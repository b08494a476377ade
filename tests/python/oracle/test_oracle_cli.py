"""The command line as an operator uses it: `vcl oracle score|prepare|sign|push|status`..."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from deliveries import SAMPLE_DIR, sample_delivery
from oracle_chain import OPERATORS, System, expected
from typer.testing import CliRunner, Result

from oracle.config import OracleSettings, get_oracle_settings
from oracle.feed_split import split_feeds
from oracle.fleet_feeds import load_fleet_feeds
from oracle.model import load_model
from oracle.sample_fleet import FleetTruth
from oracle.scoring import VehicleScore
from vcl.config import Settings, get_settings
from vcl.localchain import REPO_ROOT
from vcl_cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, oracle_settings: OracleSettings
) -> Iterator[None]:
    """Settings through the environment, as the command line reads them."""
    monkeypatch.setenv("VCL_RPC_URL", settings.rpc_url)
    monkeypatch.setenv("VCL_BUILD_DIR", str(settings.build_dir))
    monkeypatch.setenv("VCL_DEPLOYMENT_FILE", str(settings.deployment_file))
    monkeypatch.setenv("VCL_ORACLE_JOURNAL_PATH", str(oracle_settings.journal_path))
    get_settings.cache_clear()
    get_oracle_settings.cache_clear()
    yield
    get_settings.cache_clear()
    get_oracle_settings.cache_clear()


def vcl(*args: str) -> Result:
    return runner.invoke(app, ["oracle", *args])


def test_score_shows_scores_values_and_contributions_without_vins(
    cli_env: None, sample_scores: list[VehicleScore]
) -> None:
    result = vcl("score", str(SAMPLE_DIR))
    assert result.exit_code == 0, result.output
    assert "6 vehicles scored, 1 below 70% of appraisal" in result.output
    assert "DR = depreciation_rate" in result.output
    assert "add up to the score" in result.output
    for score in sample_scores:
        assert score.vin not in result.output


def test_prepare_sign_push_status_across_operators(
    cli_env: None, system: System, sample_scores: list[VehicleScore], tmp_path: Path
) -> None:
    system.register(sample_scores)
    reports = tmp_path / "reports"
    prepared = vcl("prepare", str(SAMPLE_DIR), "--out", str(reports))
    assert prepared.exit_code == 0, prepared.output
    # An operator signs only after checking the report against its own feeds.
    blind = vcl("sign", str(reports), "--operator", str(OPERATORS[0]))
    assert blind.exit_code == 1
    assert "signs only what its own feeds show: pass --feeds DIR or --store" in blind.output
    assert not list(reports.glob("*.sig.json"))
    # Two operators sign; the quorum is 3 (of 4 operators), so a third must.
    for operator in OPERATORS[:2]:
        signed = vcl("sign", str(reports), "--operator", str(operator), "--feeds", str(SAMPLE_DIR))
        assert signed.exit_code == 0, signed.output
    short = vcl("push", str(reports))
    assert short.exit_code == 1
    assert short.output.strip().splitlines() == [
        "error: round 1: 2 valid operator signature(s), the quorum is 3"
    ]
    third = vcl("sign", str(reports), "--operator", str(OPERATORS[2]), "--feeds", str(SAMPLE_DIR))
    assert third.exit_code == 0, third.output

    pushed = vcl("push", str(reports))

    assert pushed.exit_code == 0, pushed.output
    assert "6 vehicle scores on-chain in round(s) 1; alerts triggered: 0; transactions: 1" in (
        pushed.output
    )
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)
    state = vcl("status")
    assert state.exit_code == 0, state.output
    assert "latest round 1" in state.output
    assert "run 1: done, 6 vehicles" in state.output
    assert "nothing unfinished" in state.output


def test_push_of_feeds_from_the_root_command(
    cli_env: None, system: System, sample_scores: list[VehicleScore]
) -> None:
    system.register(sample_scores)
    pushed = vcl("push", str(SAMPLE_DIR / "vehicles.csv"))
    assert pushed.exit_code == 0, pushed.output
    assert "6 vehicles scored, 6 vehicle scores on-chain in round(s) 1" in pushed.output
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)
    finished = vcl("push")
    assert "nothing to send" in finished.output


def test_an_older_day_is_refused_by_name_and_pushed_as_observed_now(
    cli_env: None, system: System, sample_scores: list[VehicleScore]
) -> None:
    """A hand-made report after the chain has a newer one: the refusal names the option,
    and `--observed-at now` reports the scores at the chain's time."""
    system.register(sample_scores)
    assert vcl("push", str(SAMPLE_DIR / "vehicles.csv")).exit_code == 0
    # The chain's clock ahead of the operator's (other tests move it): `now` is the earlier.
    provider = system.sender_for(0).w3.provider
    provider.make_request("evm_increaseTime", [30 * 86_400])
    provider.make_request("evm_mine", [])
    earlier = (load_fleet_feeds(SAMPLE_DIR).latest_date - timedelta(days=1)).isoformat()
    refused = vcl("push", str(SAMPLE_DIR / "vehicles.csv"), "--as-of", earlier)
    assert refused.exit_code == 1
    assert "is older than the chain's latest report" in refused.output
    assert "--observed-at now" in refused.output
    pushed = vcl(
        "push", str(SAMPLE_DIR / "vehicles.csv"), "--as-of", earlier, "--observed-at", "now"
    )
    assert pushed.exit_code == 0, pushed.output
    assert "6 vehicle scores on-chain in round(s) 2" in pushed.output
    bad = vcl("push", str(SAMPLE_DIR / "vehicles.csv"), "--observed-at", "yesterday")
    assert bad.exit_code == 1
    assert "neither `now` nor an ISO 8601 time" in bad.output


@pytest.fixture
def feed_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A feed store of the test's own (VCL_ORACLE_FEED_STORE_PATH)."""
    path = tmp_path / "feeds.sqlite"
    monkeypatch.setenv("VCL_ORACLE_FEED_STORE_PATH", str(path))
    get_oracle_settings.cache_clear()
    return path


def test_a_delivery_ingested_into_the_feed_store_is_pushed_from_it(
    cli_env: None,
    feed_store: Path,
    system: System,
    sample_scores: list[VehicleScore],
    tmp_path: Path,
) -> None:
    delivery = tmp_path / "delivery"
    sample_delivery(delivery)
    ingested = vcl("ingest", str(delivery))
    assert ingested.exit_code == 0, ingested.output
    assert "ingested: 6 vehicles, " in ingested.output
    assert "6 vehicles in the feed store" in ingested.output
    again = vcl("ingest", str(delivery))
    assert "in the feed store already: nothing added" in again.output
    system.register(sample_scores)
    pushed = vcl("push", "--store")
    assert pushed.exit_code == 0, pushed.output
    assert "6 vehicles scored, 6 vehicle scores on-chain in round(s) 1" in pushed.output
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)
    # The outcomes are calibration data, not a delivery: named, and nothing is added.
    refused = vcl("ingest", str(SAMPLE_DIR))
    assert refused.exit_code == 1
    assert "outcomes are labelled history for `calibrate`" in refused.output


def test_the_daily_push_ingests_its_delivery_while_it_sends(
    cli_env: None,
    feed_store: Path,
    system: System,
    sample_scores: list[VehicleScore],
    tmp_path: Path,
) -> None:
    sample = tmp_path / "sample"
    sample_delivery(sample)
    split_feeds(sample, date(2025, 8, 26), tmp_path / "history", tmp_path / "day")
    assert vcl("ingest", str(tmp_path / "history")).exit_code == 0
    system.register(sample_scores)
    pushed = vcl("push", "--store", str(tmp_path / "day"))
    assert pushed.exit_code == 0, pushed.output
    assert "ingested: " in pushed.output
    assert "6 vehicles scored, 6 vehicle scores on-chain in round(s) 1" in pushed.output
    # The whole year's scores: the store holds the day's delivery.
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)
    again = vcl("push", "--store", str(tmp_path / "day"))
    assert again.exit_code == 0, again.output
    assert "in the feed store already: nothing added" in again.output
    assert "nothing new to send" in again.output


def test_errors_are_one_line_and_a_non_zero_exit(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, system: System
) -> None:
    """An unregistered fleet is refused by the contract; a dead endpoint is named."""
    refused = vcl("push", str(SAMPLE_DIR))
    assert refused.exit_code == 1
    (line,) = refused.output.strip().splitlines()[-1:]
    assert line.startswith("error: round 1 rejected by the oracle contract")
    assert "OracleUnknownVehicle" in line
    monkeypatch.setenv("VCL_RPC_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    dead = vcl("status")
    assert dead.exit_code == 1
    assert len(dead.output.strip().splitlines()) == 1
    assert dead.output.startswith("error: no chain answers at http://127.0.0.1:9")


def test_calibrate_writes_a_new_model_version(
    cli_env: None, fleet_dir: tuple[Path, FleetTruth], tmp_path: Path
) -> None:
    directory, truth = fleet_dir
    result = vcl(
        "calibrate",
        str(directory),
        "--observed-on",
        truth.observation_date.isoformat(),
        "--out",
        str(tmp_path / "models"),
    )
    assert result.exit_code == 0, result.output
    (written,) = (tmp_path / "models").glob("0x*.json")
    model = load_model(written)
    assert model.version_hex in result.output
    assert model.metadata["origin"] == "calibrate"
    assert "the banks must approve this version" in result.output


def test_the_brownie_script_pushes_through_the_same_library(
    system: System, settings: Settings, sample_scores: list[VehicleScore], tmp_path: Path
) -> None:
    """`brownie run scripts/push_scores.py main FEEDS`, on Brownie's web3 (attached to anvil
    here rather than launched by Brownie, whose networks live in the user's ~/.brownie)."""
    system.register(sample_scores)
    script = f"""
from brownie import web3
web3.connect({settings.rpc_url!r})
import runpy
runpy.run_path("scripts/push_scores.py")["main"]({str(SAMPLE_DIR)!r})
"""
    env = {
        **os.environ,
        "VCL_BUILD_DIR": str(settings.build_dir),
        "VCL_DEPLOYMENT_FILE": str(settings.deployment_file),
        "VCL_ORACLE_JOURNAL_PATH": str(tmp_path / "journal.sqlite"),
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "6 vehicles scored: planned" in done.stdout
    assert "rounds [1]: 6 vehicle scores, 0 alerts, 1 transactions" in done.stdout
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)
