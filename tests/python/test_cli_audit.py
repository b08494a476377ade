"""`vcl audit` as an operator runs it: the installed console script against a real node
API process, printing a history, writing an export, and failing in one line."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The node API test helpers (a node process on the test anvil) live beside the API tests.
sys.path.insert(0, str(Path(__file__).parent / "node_api"))

from api_server import (
    BANK_INDEX,
    NodeProcess,
    deployed_consortium,
    register,
    start_node,
    wait_for,
)

from node_api.api_keys import Role
from node_api.audit import EXPORT_COLUMNS
from vcl.localchain import REPO_ROOT, LocalChain

VCL = Path(sys.executable).parent / "vcl"


@pytest.fixture(scope="module")
def bank_node(anvil: LocalChain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    deployment = deployed_consortium(anvil, tmp_path_factory.mktemp("consortium"))
    node = start_node(anvil, deployment, tmp_path_factory.mktemp("bank-node"), BANK_INDEX)
    yield node
    node.stop()


def vcl(node: NodeProcess, *args: str, api_key: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VCL_")}
    env.update(VCL_NODE_URL=node.url, VCL_API_KEY=api_key)
    return subprocess.run(
        [str(VCL), "audit", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def registered_and_indexed(node: NodeProcess) -> dict[str, str]:
    created: dict[str, str] = register(node).json()

    def indexed() -> bool:
        with node.client(Role.AUDITOR) as client:
            answer = client.get(f"/v1/audit/vehicles/{created['vin']}/history")
        return bool(answer.json()["events"])

    assert wait_for(indexed)
    return created


def test_history_prints_the_events_with_their_transactions(bank_node: NodeProcess) -> None:
    created = registered_and_indexed(bank_node)

    done = vcl(bank_node, "history", created["vin"], api_key=bank_node.keys[Role.AUDITOR])

    assert done.returncode == 0, done.stderr
    assert f"vehicle: {created['vin']}, vehicle id {created['vehicle_id']}" in done.stdout
    [line] = [ln for ln in done.stdout.splitlines() if "VehicleRegistry.VehicleRegistered" in ln]
    assert created["transaction_hash"] in line
    assert line.split()[0] == str(created["block_number"])
    assert "1 events" in done.stdout
    assert "customer-0042" not in done.stdout  # the owner reference stays in the node


def test_export_writes_a_csv_file(bank_node: NodeProcess, tmp_path: Path) -> None:
    created = registered_and_indexed(bank_node)
    target = tmp_path / "out" / "events.csv"

    done = vcl(
        bank_node,
        "export",
        "--format",
        "csv",
        "--out",
        str(target),
        api_key=bank_node.keys[Role.AUDITOR],
    )

    assert done.returncode == 0, done.stderr
    assert f"to {target}" in done.stdout
    with target.open(newline="") as file:
        rows = list(csv.reader(file))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert created["transaction_hash"] in {row[2] for row in rows[1:]}
    assert [p.name for p in target.parent.iterdir()] == ["events.csv"]  # no temporary left


def test_a_bad_key_is_one_line_and_a_non_zero_exit(bank_node: NodeProcess, tmp_path: Path) -> None:
    done = vcl(bank_node, "history", "1HGCM82633A004352", api_key="not-a-key")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: the node answered 401: Unauthenticated: the API key is unknown or revoked"
    ]
    assert "Traceback" not in done.stdout + done.stderr

    target = tmp_path / "events.json"
    done = vcl(bank_node, "export", "--format", "json", "--out", str(target), api_key="not-a-key")
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # no half-written file

    done = vcl(bank_node, "history", "--loan", "abc", api_key=bank_node.keys[Role.AUDITOR])
    assert done.returncode == 1
    assert "422: InvalidLoanId" in done.stderr
