"""Health, readiness, metrics, OpenAPI and startup refusal, through a real server process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import api_server
import httpx
from api_server import (
    NodeProcess,
    node_env,
    register,
)

from node_api.api_keys import Role
from node_api.db import head_revision
from vcl.localchain import REPO_ROOT, LocalChain

# The module's fixtures: one consortium and node processes for all its tests.
bank_node = api_server.bank_node
deployment = api_server.deployment


def test_healthz_and_readyz_report_each_dependency(bank_node: NodeProcess) -> None:
    assert httpx.get(f"{bank_node.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{bank_node.url}/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["failing"] == []
    assert {name: body[name]["ok"] for name in ("chain", "database", "store")} == {
        "chain": True,
        "database": True,
        "store": True,
    }


def test_readyz_names_the_store_that_does_not_answer(bank_node: NodeProcess) -> None:
    store_dir = Path(bank_node.env["VCL_NODE_STORE_DIR"])
    shutil.rmtree(store_dir, ignore_errors=True)
    store_dir.write_text("not a directory")  # the embedded store cannot use it
    try:
        ready = httpx.get(f"{bank_node.url}/readyz")
        assert ready.status_code == 503
        assert ready.json()["failing"] == ["store"]
        assert "DocumentStoreUnavailable" in ready.json()["store"]["detail"]
    finally:
        store_dir.unlink()
    assert httpx.get(f"{bank_node.url}/readyz").status_code == 200


def test_metrics_count_requests_transactions_and_indexer_lag(bank_node: NodeProcess) -> None:
    assert register(bank_node).status_code == 201
    text = httpx.get(f"{bank_node.url}/metrics").text
    assert 'vcl_http_requests_total{method="POST",route="/v1/vehicles",status="201"}' in text, text
    assert 'vcl_http_request_duration_seconds_count{method="POST",route="/v1/vehicles"} ' in text
    assert "# TYPE vcl_http_request_duration_seconds histogram" in text
    sent = next(line for line in text.splitlines() if line.startswith("vcl_transactions_sent_"))
    assert int(sent.split()[-1]) >= 1
    assert "vcl_indexer_lag_blocks " in text
    assert "# TYPE vcl_document_verifications_total counter" in text


def test_vins_never_appear_in_metric_labels(bank_node: NodeProcess) -> None:
    vin = register(bank_node).json()["vin"]
    with bank_node.client(Role.AUDITOR) as client:
        assert client.get(f"/v1/vehicles/{vin}").status_code == 200
    text = httpx.get(f"{bank_node.url}/metrics").text
    assert vin not in text
    assert 'route="/v1/vehicles/{vin}"' in text
    assert vin not in bank_node.log()  # no access log: paths carry VINs


def test_openapi_documents_the_endpoints(bank_node: NodeProcess) -> None:
    assert httpx.get(f"{bank_node.url}/docs").status_code == 200
    paths = httpx.get(f"{bank_node.url}/openapi.json").json()["paths"]
    for path in (
        "/v1/vehicles",
        "/v1/vehicles/{vin}",
        "/v1/vehicles/{vin}/documents",
        "/v1/documents/{cid}/verification",
        "/readyz",
        "/metrics",
    ):
        assert path in paths


def test_an_unmigrated_database_is_refused_with_the_command_to_run(
    anvil: LocalChain, deployment: Path, tmp_path: Path
) -> None:
    env = node_env(anvil, deployment, tmp_path, 1)
    done = subprocess.run(
        [sys.executable, "-m", "node_api", "--port", "1"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert "vcl node migrate" in done.stderr
    assert "has no schema" in done.stderr


def test_vcl_node_migrate_brings_a_database_to_the_newest_revision(
    anvil: LocalChain, deployment: Path, tmp_path: Path
) -> None:
    env = node_env(anvil, deployment, tmp_path, 1)
    command = [sys.executable, "-c", "import vcl_cli; vcl_cli.main()", "node", "migrate"]
    done = subprocess.run(
        command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert f"at revision {head_revision()}" in done.stdout
