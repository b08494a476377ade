"""A node with two worker processes (`VCL_NODE_WORKERS=2`): concurrent writes from both share
the institution's key without a nonce collision, exactly one worker indexes, and what it
indexes is what every worker lists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import api_server
import pytest
from api_server import BANK_INDEX, NodeProcess, random_vin, register, start_node, wait_for

from node_api.api_keys import Role
from vcl.localchain import LocalChain

WRITES = 24

deployment = api_server.deployment  # the module's consortium


@pytest.fixture(scope="module")
def two_worker_node(
    anvil: LocalChain, deployment: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NodeProcess]:
    directory = tmp_path_factory.mktemp("two-workers")
    node = start_node(
        anvil,
        deployment,
        directory,
        BANK_INDEX,
        extra_env={"VCL_NODE_WORKERS": "2", "VCL_LOCK_DIR": str(directory / "locks")},
    )
    yield node
    node.stop()


def listed_ids(node: NodeProcess) -> set[str]:
    with node.client(Role.AUDITOR) as client:
        page = client.get("/v1/vehicles", params={"limit": 200}).json()
    return {item["vehicle_id"] for item in page["items"]}


def test_two_workers_write_concurrently_and_one_indexes(two_worker_node: NodeProcess) -> None:
    vins = [random_vin() for _ in range(WRITES)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda vin: register(two_worker_node, vin), vins))
    assert [a.status_code for a in answers] == [201] * WRITES, [a.text for a in answers]
    created = {a.json()["vehicle_id"] for a in answers}

    assert wait_for(lambda: created <= listed_ids(two_worker_node), timeout_s=20)
    log = two_worker_node.log()
    assert len(re.findall(r"Started server process \[\d+\]", log)) == 2, log
    assert len(re.findall(r"this worker \(pid \d+\) indexes", log)) == 1, log
    assert "was taken by another sender" not in log  # the lock ordered every send
