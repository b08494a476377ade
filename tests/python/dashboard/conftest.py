"""Fixtures of the dashboard tests: the node API test helpers, a lending bank's node with a
scored, pledged and alerted vehicle, and a headless Chromium driven by Playwright."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "node_api"))

from api_server import (
    BANK_INDEX,
    BUILD_DIR,
    ISSUER_INDEX,
    OTHER_BANK_INDEX,
    NodeProcess,
    node_fixture,
)
from oracle_reports import Chain
from playwright.sync_api import Browser, Playwright, sync_playwright
from scenario import Story, deploy_with_models, tell

from node_api.dashboard.browser import launch_chromium
from vcl.localchain import LocalChain


@pytest.fixture(scope="module")
def deployment(anvil: LocalChain, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return deploy_with_models(anvil, tmp_path_factory.mktemp("consortium"))


@pytest.fixture(scope="module")
def new_node_database() -> Callable[[], str | None]:
    """SQLite for the dashboard's nodes: the page reads only the node API, whose answers are
    tested on both databases in tests/python/node_api."""
    return lambda: None


bank_node = node_fixture("bank_node", "bank-node", BANK_INDEX)
issuer_node = node_fixture("issuer_node", "issuer-node", ISSUER_INDEX)
other_bank_node = node_fixture("other_bank_node", "bank-b-node", OTHER_BANK_INDEX)


@pytest.fixture(scope="module")
def story(
    anvil: LocalChain, deployment: Path, bank_node: NodeProcess, issuer_node: NodeProcess
) -> Story:
    return tell(bank_node, Chain(anvil, deployment, BUILD_DIR), issuer_node)


# Module scope, not session: while open, Playwright's sync API keeps an asyncio loop running
# in this thread, and later modules (the load driver) run loops of their own.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch_chromium(playwright)
    yield browser
    browser.close()
