"""Python tests run against a real anvil (a fresh one per session) and the real build."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vcl.artifacts import all_error_abis, load_artifact
from vcl.config import KeySource, Settings
from vcl.deploy import SYSTEM_CONTRACTS, deploy_system, dev_founders
from vcl.localchain import REPO_ROOT, LocalChain, LocalChainConfig, free_port
from vcl.revert import ErrorDecoder
from vcl.sender import TransactionSender, sender_from_settings

BUILD_DIR = REPO_ROOT / "build/contracts"


@pytest.fixture(scope="session")
def anvil() -> Iterator[LocalChain]:
    with LocalChain(LocalChainConfig(port=free_port())) as chain:
        yield chain


@pytest.fixture
def settings(anvil: LocalChain, tmp_path: Path) -> Settings:
    return Settings(
        rpc_url=anvil.rpc_url,
        key_source=KeySource.DEV,
        build_dir=BUILD_DIR,
        deployment_file=tmp_path / "deployments.json",
    )


@pytest.fixture(scope="session")
def decoder() -> ErrorDecoder:
    return ErrorDecoder(all_error_abis(BUILD_DIR))


@pytest.fixture
def sender_for(settings: Settings) -> Callable[[int], TransactionSender]:
    """A sender for anvil's account `index` (1..8 are the dev founders, 9 a stranger)."""

    def make(index: int) -> TransactionSender:
        return sender_from_settings(settings.model_copy(update={"dev_account_index": index}))

    return make


@pytest.fixture
def sender(sender_for: Callable[[int], TransactionSender]) -> TransactionSender:
    return sender_for(0)


@pytest.fixture
def system(sender: TransactionSender, settings: Settings) -> dict[str, Any]:
    """The four contracts, freshly deployed by the core package with the dev founders."""
    addresses = deploy_system(sender, settings, dev_founders())
    return {
        name: sender.w3.eth.contract(
            address=addresses[name], abi=load_artifact(settings.build_dir, name).abi
        )
        for name in SYSTEM_CONTRACTS
    }
