"""`kill -9` of the local chain under a node API process.

While anvil is gone the node answers writes and readiness with 503 naming the chain and
writes nothing; anvil restarted from its saved state (`--state` with `--state-interval`)
brings the node back by itself, and the node's database then holds exactly the chain's
events.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from api_server import (
    BANK_INDEX,
    deployed_consortium,
    free_port,
    random_vin,
    register,
    start_node,
    wait_for,
)
from sqlalchemy import func, select

from node_api.api_keys import Role
from node_api.consistency import chain_events, stored_events
from node_api.db import make_engine
from node_api.models import LocalVehicle
from vcl.chain import make_web3
from vcl.config import Settings
from vcl.deploy import SYSTEM_CONTRACTS
from vcl.deployments import DeploymentRecord
from vcl.localchain import LocalChain, LocalChainConfig

STATE_INTERVAL_S = 1


def local_vehicle_count(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(LocalVehicle)).one()[0])
    finally:
        engine.dispose()


def test_a_killed_chain_restarted_from_its_state_is_picked_up_by_the_node(tmp_path: Path) -> None:
    config = LocalChainConfig(
        port=free_port(),
        state_file=tmp_path / "anvil-state.json",
        state_interval_s=STATE_INTERVAL_S,
    )
    chain = LocalChain(config).start()
    deployment = deployed_consortium(chain, tmp_path)
    node = start_node(chain, deployment, tmp_path / "node", BANK_INDEX)
    try:
        before = [register(node).json()["vin"] for _ in range(3)]
        # Let a periodic dump take these blocks, then kill anvil without its exit dump.
        time.sleep(2.5 * STATE_INTERVAL_S)
        assert chain.process is not None
        chain.process.kill()
        chain.process.wait()
        chain.stop()  # nothing to stop: removes what the killed anvil wrote to disk

        ready = httpx.get(f"{node.url}/readyz", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["chain"]["ok"] is False
        vehicles_before = local_vehicle_count(node.env["VCL_DATABASE_URL"])
        refused = register(node, random_vin())
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "ChainUnavailable"
        assert local_vehicle_count(node.env["VCL_DATABASE_URL"]) == vehicles_before

        chain = LocalChain(config).start()
        assert wait_for(
            lambda: httpx.get(f"{node.url}/readyz", timeout=10).status_code == 200, 30
        ), node.log()[-3000:]
        with node.client(Role.AUDITOR) as client:
            for vin in before:
                assert client.get(f"/v1/vehicles/{vin}").status_code == 200, vin
        after = register(node)
        assert after.status_code == 201, after.text

        w3 = make_web3(Settings(rpc_url=chain.rpc_url))
        addresses = DeploymentRecord(deployment).addresses(w3.eth.chain_id)
        expected = chain_events(w3, [addresses[name] for name in SYSTEM_CONTRACTS], 0)
        engine = make_engine(node.env["VCL_DATABASE_URL"])
        try:
            assert wait_for(lambda: stored_events(engine) == expected, 20), (
                "the node's database does not hold exactly the chain's events"
            )
        finally:
            engine.dispose()
    finally:
        node.stop()
        chain.stop()
