"""Shared fixtures: the committed small sample, a generated fleet (once per session), the
default model."""

from __future__ import annotations

from pathlib import Path

import pytest

from oracle.fleet_feeds import FleetFeeds, load_fleet_feeds
from oracle.model import ScoreModel, load_model
from oracle.sample_fleet import FleetTruth, generate_fleet

SAMPLE_DIR = Path(__file__).parents[2] / "data" / "oracle" / "sample"


@pytest.fixture(scope="session")
def default_model() -> ScoreModel:
    return load_model()


@pytest.fixture(scope="session")
def sample_feeds() -> FleetFeeds:
    return load_fleet_feeds(SAMPLE_DIR)


@pytest.fixture(scope="session")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FleetTruth]:
    directory = tmp_path_factory.mktemp("fleet")
    return directory, generate_fleet(directory)


@pytest.fixture(scope="session")
def fleet(fleet_dir: tuple[Path, FleetTruth]) -> tuple[FleetFeeds, FleetTruth]:
    directory, truth = fleet_dir
    return load_fleet_feeds(directory), truth
