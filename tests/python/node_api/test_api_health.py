"""Health, readiness, metrics, OpenAPI and startup refusal, through a real server process."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from pathlib import Path

import api_server
import httpx
import pytest
from api_server import (
    BANK_INDEX,
    NodeProcess,
    deployed_consortium,
    node_env,
    register,
    start_node,
)

from node_api.api_keys import Role
from node_api.db import head_revision
from node_api.postgres_server import PostgresServer, PostgresUnavailable
from vcl.localchain import REPO_ROOT, LocalChain, LocalChainConfig, free_port

RPC_PASSWORD = "rpc-s3cret-9f2"
DB_PASSWORD = "db-s3cret-4c7"

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
        assert ready.json()["store"]["detail"] == "document store unavailable"
        assert str(store_dir) not in ready.text  # the path is in the log, not the answer
        assert str(store_dir) in bank_node.log()
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


def test_readyz_names_the_failing_dependencies_without_hosts_urls_or_credentials(
    tmp_path: Path,
) -> None:
    """An RPC URL and a database URL with credentials, then both dependencies gone: the
    unauthenticated /readyz names which failed and why in a few stable words; the hosts,
    ports, user names and passwords are nowhere in its body (before issue 15 it carried the
    exceptions' text), and the node's log has the detail without the passwords."""
    try:
        postgres = PostgresServer().start()
    except PostgresUnavailable as exc:
        pytest.fail(f"the PostgreSQL test server did not start: {exc}", pytrace=False)
    node = None
    try:
        database_url = postgres.create_database().replace("://vcl@", f"://vcl:{DB_PASSWORD}@")
        with LocalChain(LocalChainConfig(port=free_port())) as chain:
            deployment = deployed_consortium(chain, tmp_path)
            rpc_url = chain.rpc_url.replace("://", f"://rpc-user:{RPC_PASSWORD}@")
            node = start_node(
                chain,
                deployment,
                tmp_path / "node",
                BANK_INDEX,
                database_url,
                extra_env={"VCL_RPC_URL": rpc_url, "VCL_NODE_READINESS_TIMEOUT_S": "5"},
            )  # ready: the credentials in both URLs work
        postgres.suspend()  # the chain is gone too
        ready = httpx.get(f"{node.url}/readyz", timeout=30)
        assert ready.status_code == 503
        body = ready.json()
        assert body["failing"] == ["chain", "database"]
        assert body["chain"] == {"ok": False, "detail": "chain unreachable"}
        assert body["database"] == {"ok": False, "detail": "database unavailable"}
        assert body["store"]["ok"] is True
        for leak in (
            RPC_PASSWORD,
            DB_PASSWORD,
            "rpc-user",
            "127.0.0.1",
            str(chain.config.port),
            str(postgres.port),
            "Error",  # no exception's name or text
        ):
            assert leak not in ready.text, leak
        log = node.log()
        assert "readiness: chain failed" in log
        assert "readiness: database failed" in log
        assert RPC_PASSWORD not in log
        assert DB_PASSWORD not in log
    finally:
        if node is not None:
            node.stop()
        with contextlib.suppress(PostgresUnavailable):  # suspended: nothing to stop
            postgres.stop()  # removes its directory in any case
