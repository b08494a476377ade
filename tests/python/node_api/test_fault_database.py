"""The node's PostgreSQL server stopped under a running node API process.

While it is down, a write answers 503 `DatabaseUnavailable` and nothing reaches the chain
(the node's own record is written before the transaction), reads that need the database
answer 503 too, and readiness names the database. Started again (same port, same data),
the node recovers by itself, without a restart: the same request succeeds and the indexer
catches up on what the chain did meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_server import (
    BANK_INDEX,
    BUILD_DIR,
    OTHER_BANK_INDEX,
    deployed_consortium,
    random_vin,
    start_node,
    wait_for,
)
from eth_account import Account
from sqlalchemy import select
from web3.contract import Contract

from node_api.api.routes.vehicles import owner_commitment
from node_api.api_keys import Role
from node_api.consistency import chain_events, stored_events
from node_api.db import make_engine
from node_api.models import IdempotencyRecord, LocalVehicle
from node_api.postgres_server import PostgresServer, PostgresUnavailable
from vcl.artifacts import load_artifact
from vcl.config import DEV_PRIVATE_KEYS, DEV_VIN_SECRET, KeySource, Settings
from vcl.deploy import SYSTEM_CONTRACTS
from vcl.deployments import DeploymentRecord
from vcl.localchain import LocalChain
from vcl.sender import TransactionSender, sender_from_settings
from vcl.vin import vehicle_id

BANK = Account.from_key(DEV_PRIVATE_KEYS[BANK_INDEX]).address


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    """A server of this test's own: stopping it must not touch the other tests' server."""
    try:
        server = PostgresServer().start()
    except PostgresUnavailable as exc:
        pytest.fail(f"the PostgreSQL test server did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


def sender_of(anvil: LocalChain, deployment: Path, index: int) -> TransactionSender:
    return sender_from_settings(
        Settings(
            rpc_url=anvil.rpc_url,
            key_source=KeySource.DEV,
            build_dir=BUILD_DIR,
            deployment_file=deployment,
            dev_account_index=index,
        )
    )


def registry_of(sender: TransactionSender, deployment: Path) -> Contract:
    return sender.w3.eth.contract(
        address=DeploymentRecord(deployment).address(sender.chain_id, "VehicleRegistry"),
        abi=load_artifact(BUILD_DIR, "VehicleRegistry").abi,
    )


def on_chain(registry: Contract, vin: str) -> tuple[bool, str, str]:
    """(exists, registering bank, owner commitment) of the vehicle."""
    vid = vehicle_id(vin, DEV_VIN_SECRET.encode())
    owner, _, _, bank, _, exists = registry.functions.vehicle(vid).call()
    return exists, bank, "0x" + bytes(owner).hex()


def test_an_unreachable_database_refuses_requests_and_the_node_recovers_by_itself(
    anvil: LocalChain, tmp_path: Path, postgres: PostgresServer
) -> None:
    deployment = deployed_consortium(anvil, tmp_path / "consortium")
    database_url = postgres.create_database()
    node = start_node(anvil, deployment, tmp_path / "node", BANK_INDEX, database_url)
    other_bank = sender_of(anvil, deployment, OTHER_BANK_INDEX)
    registry = registry_of(other_bank, deployment)
    body = {"vin": random_vin(), "owner_ref": "customer-0042", "appraisal_value": 2_500_000}
    headers = {"Idempotency-Key": "register-during-outage"}
    engine = make_engine(database_url)
    try:
        with node.client(Role.OFFICER) as officer:
            assert (
                officer.post("/v1/vehicles", json={**body, "vin": random_vin()}).status_code == 201
            )

            postgres.suspend()
            refused = officer.post("/v1/vehicles", json=body, headers=headers)
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"] == "DatabaseUnavailable"
            assert on_chain(registry, body["vin"])[0] is False  # nothing reached the chain
            listed = officer.get("/v1/vehicles")
            assert listed.status_code == 503
            assert listed.json()["error"] == "DatabaseUnavailable"
            readiness = httpx.get(f"{node.url}/readyz", timeout=30)
            assert readiness.status_code == 503
            assert readiness.json()["failing"] == ["database"]
            # The chain moves on meanwhile: another bank registers a vehicle.
            elsewhere = random_vin()
            other_bank.transact(
                registry.functions.registerVehicle(
                    vehicle_id(elsewhere, DEV_VIN_SECRET.encode()),
                    owner_commitment(b"\x02" * 32, "their-customer"),
                    1_000_000,
                    other_bank.w3.eth.get_block("latest")["timestamp"],
                )
            )

            postgres.resume()
            assert wait_for(
                lambda: httpx.get(f"{node.url}/readyz", timeout=30).status_code == 200, 20
            ), node.log()[-3000:]
            accepted = officer.post("/v1/vehicles", json=body, headers=headers)
            assert accepted.status_code == 201, accepted.text
            assert "Idempotent-Replayed" not in accepted.headers  # acted now, not replayed
            exists, bank, commitment = on_chain(registry, body["vin"])
            assert (exists, bank) == (True, BANK)
            assert accepted.json()["owner_commitment"] == commitment

        w3 = other_bank.w3
        addresses = DeploymentRecord(deployment).addresses(w3.eth.chain_id)
        expected = chain_events(w3, [addresses[name] for name in SYSTEM_CONTRACTS], 0)
        assert wait_for(lambda: stored_events(engine) == expected, 20), (
            "the node's database does not hold exactly the chain's events"
        )
        with engine.connect() as connection:
            commitments = dict(
                connection.execute(select(LocalVehicle.vehicle_id, LocalVehicle.owner_commitment))
                .tuples()
                .all()
            )
            unfinished = connection.execute(
                select(IdempotencyRecord).where(IdempotencyRecord.status_code.is_(None))
            ).all()
        # The node's own records: its two vehicles, with the commitments on the chain.
        assert len(commitments) == 2
        assert commitments[accepted.json()["vehicle_id"]] == commitment
        assert unfinished == []
    finally:
        engine.dispose()
        node.stop()
