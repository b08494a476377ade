"""A governance revocation of an issuer's documents through real node processes: the banks
vote a cutoff, and the auditor's node lists and verifies the issuer's earlier documents as
revoked, naming the vote (a revocation outranks content it cannot fetch), while a document
anchored after the cutoff is not revoked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import api_server
import pytest
from api_server import BUILD_DIR, ISSUER_INDEX, NodeProcess, random_vin, wait_for
from eth_account import Account
from oracle_reports import Chain
from web3 import Web3

from node_api.api_keys import Role
from vcl.artifacts import load_artifact
from vcl.config import DEV_PRIVATE_KEYS
from vcl.contract_enums import ActionType
from vcl.deployments import DeploymentRecord
from vcl.localchain import LocalChain
from vcl.vin import vehicle_id

AUDITOR_INDEX = 3
BANKS = (1, 2)  # no bank node runs here: the test sends with their keys
ISSUER = Account.from_key(DEV_PRIVATE_KEYS[ISSUER_INDEX]).address

deployment = api_server.deployment
issuer_node = api_server.issuer_node
auditor_node = api_server.node_fixture("auditor_node", "auditor", AUDITOR_INDEX)


@pytest.fixture(scope="module")
def chain(anvil: LocalChain, deployment: Path) -> Chain:
    return Chain(anvil, deployment, BUILD_DIR)


def registered(chain: Chain, deployment: Path) -> str:
    """A vehicle registered by the first bank: its VIN."""
    vin = random_vin()
    sender = chain.sender(BANKS[0])
    secret = chain.settings(BANKS[0]).vin_secret.get_secret_value().encode()
    vid = vehicle_id(vin, secret)
    registry = sender.w3.eth.contract(
        address=DeploymentRecord(deployment).address(sender.w3.eth.chain_id, "VehicleRegistry"),
        abi=load_artifact(BUILD_DIR, "VehicleRegistry").abi,
    )
    sender.transact(registry.functions.registerVehicle(vid, Web3.keccak(vid), 2_500_000, 1))
    return vin


def uploaded(issuer: NodeProcess, vin: str, text: str) -> str:
    with issuer.client(Role.OFFICER) as client:
        answer = client.post(
            f"/v1/vehicles/{vin}/documents",
            files={"file": ("report.txt", text.encode(), "text/plain")},
            data={"doc_type": "inspection"},
        )
    assert answer.status_code == 201, answer.text
    cid: str = answer.json()["cid"]
    return cid


def listed(node: NodeProcess, vin: str) -> dict[str, Any]:
    with node.client(Role.AUDITOR) as client:
        answer = client.get(f"/v1/vehicles/{vin}/documents")
    assert answer.status_code == 200, answer.text
    return {item["cid"]: item for item in answer.json()["items"]}


def verified(node: NodeProcess, cid: str) -> dict[str, Any]:
    with node.client(Role.AUDITOR) as client:
        answer = client.get(f"/v1/documents/{cid}/verification")
    assert answer.status_code == 200, answer.text
    [document] = answer.json()["documents"]
    assert isinstance(document, dict)
    return document


def check(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in document["checks"] if c["name"] == name)
    return found


def test_the_issuers_earlier_documents_show_revoked_by_the_vote(
    issuer_node: NodeProcess, auditor_node: NodeProcess, chain: Chain, deployment: Path
) -> None:
    vin = registered(chain, deployment)
    before = uploaded(issuer_node, vin, "brakes fine at 40 000 km")
    assert wait_for(lambda: before in listed(auditor_node, vin))
    assert listed(auditor_node, vin)[before]["revoked"] is False
    # The auditor's node has no peers here: the content is unavailable to it, the anchor is not.
    assert check(verified(auditor_node, before), "not_revoked")["outcome"] == "passed"

    consortium = chain.contracts["Consortium"]
    w3 = chain.sender(BANKS[0]).w3
    cutoff = int(w3.eth.get_block("latest")["timestamp"])
    first = chain.sender(BANKS[0])
    action = (int(ActionType.REVOKE_ISSUER_DOCUMENTS), ISSUER, 0, bytes(32), cutoff)
    first.transact(consortium.functions.propose(action))
    proposal_id = consortium.functions.proposalCount().call()
    for bank in BANKS:
        chain.sender(bank).transact(consortium.functions.vote(proposal_id, True))
    first.transact(consortium.functions.execute(proposal_id))
    w3.provider.make_request("evm_increaseTime", [5])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    after = uploaded(issuer_node, vin, "brakes fine at 41 000 km")

    def both_indexed() -> dict[str, Any] | None:
        items = listed(auditor_node, vin)
        return items if after in items and items[before]["revoked"] else None

    items = wait_for(both_indexed)
    assert items is not None, "the auditor's node never listed the revocation"
    assert items[after]["revoked"] is False
    revoked = verified(auditor_node, before)
    assert revoked["status"] == "revoked"
    assert check(revoked, "not_revoked")["outcome"] == "failed"
    assert "governance vote" in check(revoked, "not_revoked")["detail"]
    assert check(verified(auditor_node, after), "not_revoked")["outcome"] == "passed"
