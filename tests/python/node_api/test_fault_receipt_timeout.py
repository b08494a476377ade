"""A transaction whose receipt does not come in time: the node answers 503 saying it may
still be mined, keeps its local record (the owner's reference), and once the block is
mined the chain's commitment is the one that record holds; a plain retry is told the
vehicle exists and deletes nothing."""

from __future__ import annotations

from pathlib import Path

from api_server import BANK_INDEX, deployed_consortium, free_port, random_vin, register, start_node
from sqlalchemy.orm import Session

from node_api.api_keys import Role
from node_api.db import make_engine
from node_api.models import LocalVehicle
from vcl.chain import make_web3
from vcl.config import Settings
from vcl.localchain import LocalChain, LocalChainConfig
from vcl.vin import vehicle_id

# Blocks only when asked (evm_mine) or every minute: receipts wait longer than the node.
BLOCK_TIME_S = 60


def local_record(database_url: str, vehicle_id_hex: str) -> LocalVehicle | None:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return session.get(LocalVehicle, vehicle_id_hex)
    finally:
        engine.dispose()


def test_a_late_receipt_keeps_the_owner_record_the_chain_commits_to(tmp_path: Path) -> None:
    with LocalChain(LocalChainConfig(port=free_port())) as chain:
        deployment = deployed_consortium(chain, tmp_path)
        w3 = make_web3(Settings(rpc_url=chain.rpc_url))
        node = start_node(
            chain,
            deployment,
            tmp_path / "node",
            BANK_INDEX,
            extra_env={"VCL_RECEIPT_TIMEOUT_S": "1"},
        )
        try:
            w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
            w3.provider.make_request("evm_setIntervalMining", [BLOCK_TIME_S])  # type: ignore[arg-type]
            vin = random_vin()
            late = register(node, vin)
            assert late.status_code == 503, late.text
            assert late.json()["error"] == "ReceiptTimeout"
            assert "may still be mined" in late.json()["message"]

            secret = Settings().vin_secret.get_secret_value().encode()
            vid_hex = "0x" + vehicle_id(vin, secret).hex()
            kept = local_record(node.env["VCL_DATABASE_URL"], vid_hex)
            assert kept is not None
            assert kept.owner_ref == "customer-0042"

            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
            retry = register(node, vin)
            assert retry.status_code == 409, retry.text
            assert retry.json()["error"] == "RegistryVehicleExists"
            after = local_record(node.env["VCL_DATABASE_URL"], vid_hex)
            assert after is not None
            assert after.owner_commitment == kept.owner_commitment
            with node.client(Role.OFFICER) as client:
                shown = client.get(f"/v1/vehicles/{vin}").json()
            assert shown["owner_commitment"] == kept.owner_commitment
        finally:
            node.stop()
