"""A real node API process for the API tests: `python -m node_api` on a free port against
the test anvil, with a freshly deployed consortium and a migrated database. The node
fixtures run each module on SQLite and on PostgreSQL (conftest's `node_backend`)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from node_api.api_keys import Role, create_key
from node_api.db import make_engine, make_session_factory, migrate
from node_api.documents.publishing import ensure_published
from vcl.config import KeySource, Settings
from vcl.deploy import deploy_system, dev_founders
from vcl.governance import consortium_contract
from vcl.localchain import REPO_ROOT, LocalChain, free_port
from vcl.sender import sender_from_settings
from vcl.vin import CHECK_DIGIT_POSITION, check_digit

BUILD_DIR = REPO_ROOT / "build/contracts"
BANK_INDEX = 1
OTHER_BANK_INDEX = 2
ISSUER_INDEX = 7
MAX_UPLOAD_BYTES = 4096
START_TIMEOUT_S = 30.0


def random_vin() -> str:
    """A VIN with a correct check digit and a random serial."""
    serial = "".join(random.choices("0123456789", k=6))
    draft = f"1HGCM826X3A{serial}"
    digit = check_digit(draft)
    return draft[:CHECK_DIGIT_POSITION] + digit + draft[CHECK_DIGIT_POSITION + 1 :]


def deployed_consortium(anvil: LocalChain, directory: Path) -> Path:
    """Deploy the four contracts; returns the deployment record."""
    settings = Settings(
        rpc_url=anvil.rpc_url,
        key_source=KeySource.DEV,
        build_dir=BUILD_DIR,
        deployment_file=directory / "deployments.json",
    )
    deploy_system(sender_from_settings(settings), settings, dev_founders())
    return settings.deployment_file


def document_key_file(
    anvil: LocalChain, deployment_file: Path, directory: Path, account_index: int
) -> Path:
    """Where the node's document keys are: created and published when the account is an
    active bank or auditor (as `vcl localnet up` does), absent for an issuer or operator."""
    settings = Settings(
        rpc_url=anvil.rpc_url,
        key_source=KeySource.DEV,
        dev_account_index=account_index,
        build_dir=BUILD_DIR,
        deployment_file=deployment_file,
    )
    sender = sender_from_settings(settings)
    path = directory / "document-keys.json"
    ensure_published(path, sender, consortium_contract(sender, settings))
    return path


def node_env(
    anvil: LocalChain, deployment_file: Path, directory: Path, account_index: int
) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    keys = document_key_file(anvil, deployment_file, directory, account_index)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VCL_")}
    env.update(
        VCL_RPC_URL=anvil.rpc_url,
        VCL_BUILD_DIR=str(BUILD_DIR),
        VCL_DEPLOYMENT_FILE=str(deployment_file),
        VCL_DATABASE_URL=f"sqlite:///{directory / 'node.db'}",
        VCL_DEV_ACCOUNT_INDEX=str(account_index),
        VCL_NODE_STORE_DIR=str(directory / "documents"),
        VCL_NODE_DOCUMENT_KEY_FILE=str(keys),
        VCL_NODE_INDEXER_POLL_INTERVAL_S="0.2",
        VCL_NODE_MAX_UPLOAD_BYTES=str(MAX_UPLOAD_BYTES),
    )
    return env


@dataclass
class NodeProcess:
    """One institution's node: its server process, its API keys by role, its database."""

    url: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path
    keys: dict[Role, str] = field(default_factory=dict)

    def client(self, role: Role | None = None, token: str | None = None) -> httpx.Client:
        headers = {}
        if role is not None:
            token = self.keys[role]
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_process(
    env: dict[str, str], directory: Path
) -> tuple[str, subprocess.Popen[bytes], Path]:
    port = free_port()
    log_path = directory / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "node_api", "--port", str(port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return f"http://127.0.0.1:{port}", process, log_path


def wait_ready(node: NodeProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            raise RuntimeError(f"the node exited with {node.process.returncode}:\n{node.log()}")
        try:
            if httpx.get(f"{node.url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    node.stop()
    raise RuntimeError(f"the node was not ready within {START_TIMEOUT_S} s:\n{node.log()}")


def start_node(
    anvil: LocalChain,
    deployment_file: Path,
    directory: Path,
    account_index: int,
    database_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> NodeProcess:
    directory.mkdir(parents=True, exist_ok=True)
    env = node_env(anvil, deployment_file, directory, account_index)
    if database_url is not None:
        env["VCL_DATABASE_URL"] = database_url
    env.update(extra_env or {})
    database_url = env["VCL_DATABASE_URL"]
    migrate(database_url)
    engine = make_engine(database_url)
    keys: dict[Role, str] = {}
    try:
        with make_session_factory(engine)() as session:
            for role in Role:
                keys[role] = create_key(session, role, f"staff-{role.value}").token
    finally:
        engine.dispose()
    url, process, log_path = start_process(env, directory)
    node = NodeProcess(url, process, env, log_path, keys)
    wait_ready(node)
    return node


@pytest.fixture(scope="module")
def deployment(anvil: LocalChain, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return deployed_consortium(anvil, tmp_path_factory.mktemp("consortium"))


def node_fixture(fixture_name: str, directory: str, account_index: int) -> Any:
    """A module-scoped fixture: the node process of dev account `account_index`, on the
    module's database backend (conftest's `node_backend`)."""

    @pytest.fixture(scope="module", name=fixture_name)
    def node(
        anvil: LocalChain,
        deployment: Path,
        tmp_path_factory: pytest.TempPathFactory,
        new_node_database: Callable[[], str | None],
    ) -> Iterator[NodeProcess]:
        started = start_node(
            anvil,
            deployment,
            tmp_path_factory.mktemp(directory),
            account_index,
            new_node_database(),
        )
        yield started
        started.stop()

    return node


bank_node = node_fixture("bank_node", "bank-node", BANK_INDEX)
issuer_node = node_fixture("issuer_node", "issuer-node", ISSUER_INDEX)
other_bank_node = node_fixture("other_bank_node", "bank-b-node", OTHER_BANK_INDEX)


def register(node: NodeProcess, vin: str | None = None, **extra: Any) -> httpx.Response:
    body = {"vin": vin or random_vin(), "owner_ref": "customer-0042", "appraisal_value": 2_500_000}
    body.update(extra)
    with node.client(Role.OFFICER) as client:
        return client.post("/v1/vehicles", json=body)


def wait_for(predicate: Any, timeout_s: float = 10.0) -> Any:
    """Poll until `predicate()` returns something truthy (the indexer catching up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = predicate()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def up_to_head(node: NodeProcess) -> dict[str, str]:
    """Headers of an indexed read that must see everything on the chain now (writes made
    through other nodes or straight to the chain): `X-Min-Block` of the chain's head."""
    answer = httpx.post(
        node.env["VCL_RPC_URL"],
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
    )
    return {"X-Min-Block": str(int(answer.json()["result"], 16))}
