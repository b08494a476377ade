"""A chain outage through a real node API process: what needs the chain is 503 naming it and
writes nothing; what the node's index holds is still answered."""

from __future__ import annotations

from pathlib import Path

import httpx
from api_server import (
    BANK_INDEX,
    deployed_consortium,
    free_port,
    random_vin,
    register,
    start_node,
)
from sqlalchemy import func, select

from node_api.api_keys import Role
from node_api.db import make_engine
from node_api.models import LocalVehicle
from vcl.localchain import LocalChain, LocalChainConfig


def test_a_chain_outage_is_503_and_writes_nothing_indexed_reads_go_on(tmp_path: Path) -> None:
    with LocalChain(LocalChainConfig(port=free_port())) as chain:
        deployment = deployed_consortium(chain, tmp_path)
        node = start_node(chain, deployment, tmp_path / "node", BANK_INDEX)
        vin = register(node).json()["vin"]
    try:  # the chain is gone
        ready = httpx.get(f"{node.url}/readyz", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["failing"] == ["chain"]
        with node.client(Role.OFFICER) as client:
            read = client.get(f"/v1/vehicles/{vin}")  # indexed before the outage
            assert read.status_code == 200, read.text
            assert read.json()["vin"] == vin
            assert int(read.headers["X-Indexed-Block"]) > 0
            for indexed in (f"/v1/vehicles/{vin}/conditions", "/v1/loans", "/v1/alerts"):
                answer = client.get(indexed)  # the read models alone: no chain call
                assert answer.status_code == 200, f"{indexed}: {answer.text}"
            # A miss is confirmed against the chain's head before it is answered: 503.
            unknown = client.get(f"/v1/vehicles/{random_vin()}")
            assert unknown.status_code == 503
            assert unknown.json()["error"] == "ChainUnavailable"
            body = {"vin": random_vin(), "owner_ref": "x", "appraisal_value": 1}
            write = client.post("/v1/vehicles", json=body)
            assert write.status_code == 503
            assert write.json()["error"] == "ChainUnavailable"
            dated = client.post(
                "/v1/vehicles", json={**body, "appraised_at": "2026-01-01T00:00:00Z"}
            )
            assert dated.status_code == 503
            assert client.get("/healthz").status_code == 200
        engine = make_engine(node.env["VCL_DATABASE_URL"])
        try:
            with engine.connect() as connection:
                count = connection.scalar(select(func.count()).select_from(LocalVehicle))
        finally:
            engine.dispose()
        assert count == 1  # only the vehicle registered before the outage
    finally:
        node.stop()
