"""Shared fixtures: the committed small sample, a generated fleet (once per session), the
default model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from oracle_chain import System, deploy

from oracle.config import OracleSettings
from oracle.fleet_feeds import FleetFeeds, load_fleet_feeds
from oracle.model import ScoreModel, load_model
from oracle.operations import OracleNode
from oracle.sample_fleet import FleetTruth, generate_fleet
from oracle.scoring import VehicleScore, score_fleet
from vcl.config import Settings
from vcl.sender import TransactionSender

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


# ------------------------------------------------------------- on a chain (anvil)


@pytest.fixture(scope="session")
def sample_scores(sample_feeds: FleetFeeds, default_model: ScoreModel) -> list[VehicleScore]:
    return score_fleet(sample_feeds, default_model)


@pytest.fixture
def system(
    settings: Settings,
    sender_for: Callable[[int], TransactionSender],
    default_model: ScoreModel,
) -> System:
    """A fresh deployment with the default model approved by both banks."""
    return deploy(settings, sender_for, default_model.version)


@pytest.fixture
def oracle_settings(tmp_path: Path) -> OracleSettings:
    return OracleSettings(
        journal_path=tmp_path / "journal.sqlite", rpc_backoff_s=0.05, rpc_backoff_max_s=0.5
    )


@pytest.fixture
def node(system: System, settings: Settings, oracle_settings: OracleSettings) -> OracleNode:
    """The first dev operator's node (the transmitter). Tests move the shared chain's time
    forward, so the operator's clock is the chain's: in production both are the wall clock."""
    node = OracleNode.connect(settings, oracle_settings)
    node.clock = lambda: node.w3.eth.get_block("latest")["timestamp"]
    return node
