"""Shared steps of the loan and alert API tests: a consortium with an approved model, a
vehicle with a fresh score, and loan requests through the node's HTTP API, including an
application on another bank's vehicle with that bank's lien consent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from api_server import BUILD_DIR, NodeProcess, deployed_consortium, random_vin, register
from eth_account import Account
from oracle_reports import Chain

from node_api.api_keys import Role
from vcl.artifacts import load_artifact
from vcl.config import DEV_PRIVATE_KEYS
from vcl.deployments import DeploymentRecord
from vcl.localchain import LocalChain

APPRAISAL = 2_500_000
HEALTHY_VALUE = 2_400_000
DAY = 86_400


@pytest.fixture(scope="module")
def deployment(anvil: LocalChain, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The consortium with a score model approved, before any node process starts."""
    path = deployed_consortium(anvil, tmp_path_factory.mktemp("consortium"))
    Chain(anvil, path, BUILD_DIR).approve_model()
    return path


@pytest.fixture(scope="module")
def chain(anvil: LocalChain, deployment: Path) -> Chain:
    return Chain(anvil, deployment, BUILD_DIR)


def scored_vehicle(node: NodeProcess, chain: Chain) -> tuple[str, str]:
    """A vehicle registered through `node` with a fresh, healthy score: (VIN, vehicle id)."""
    vin = random_vin()
    created = register(node, vin, appraisal_value=APPRAISAL)
    assert created.status_code == 201, created.text
    vehicle_id: str = created.json()["vehicle_id"]
    chain.report(vehicle_id, score=8000, value=HEALTHY_VALUE)
    return vin, vehicle_id


def apply(node: NodeProcess, vin: str, principal: int = 1_000_000, **extra: Any) -> httpx.Response:
    body = {
        "vin": vin,
        "borrower_ref": "borrower-0042",
        "principal": principal,
        "base_rate_bps": 600,
        "term_seconds": 360 * DAY,
        "installment_interval_seconds": 30 * DAY,
    }
    body.update(extra)
    with node.client(Role.OFFICER) as client:
        return client.post("/v1/loans", json=body)


def address_of(node: NodeProcess) -> str:
    """The institution's address: the dev account its node signs with."""
    address: str = Account.from_key(
        DEV_PRIVATE_KEYS[int(node.env["VCL_DEV_ACCOUNT_INDEX"])]
    ).address
    return address


def borrower_commitment(node: NodeProcess, borrower_ref: str = "borrower-0042") -> dict[str, str]:
    """A fresh commitment to the borrower from the lender's node: (commitment, salt)."""
    with node.client(Role.OFFICER) as client:
        made = client.post("/v1/loans/borrower-commitments", json={"borrower_ref": borrower_ref})
    assert made.status_code == 201, made.text
    body: dict[str, str] = made.json()
    return body


def lien_consent(
    registering: NodeProcess,
    vehicle: str,
    lender: str,
    commitment: str,
    principal: int = 1_000_000,
    **extra: Any,
) -> httpx.Response:
    """The registering bank's node asked for a consent; `vehicle` a VIN or a vehicle id."""
    body: dict[str, Any] = {
        ("vehicle_id" if vehicle.startswith("0x") else "vin"): vehicle,
        "lender": lender,
        "borrower_commitment": commitment,
        "principal": principal,
    }
    body.update(extra)
    with registering.client(Role.OFFICER) as client:
        return client.post("/v1/loans/lien-consents", json=body)


def consented_apply(
    lender: NodeProcess,
    registering: NodeProcess,
    vin: str,
    principal: int = 1_000_000,
    borrower_ref: str = "borrower-0042",
) -> tuple[httpx.Response, dict[str, Any]]:
    """An application on `registering`'s vehicle with its consent: (answer, consent)."""
    made = borrower_commitment(lender, borrower_ref)
    issued = lien_consent(
        registering, vin, address_of(lender), made["borrower_commitment"], principal
    )
    assert issued.status_code == 201, issued.text
    consent: dict[str, Any] = issued.json()
    answer = apply(
        lender,
        vin,
        principal,
        borrower_ref=borrower_ref,
        borrower_salt=made["borrower_salt"],
        consent=consent,
    )
    return answer, consent


def act(
    node: NodeProcess,
    loan_id: str,
    action: str,
    role: Role = Role.OFFICER,
    **body: Any,
) -> httpx.Response:
    with node.client(role) as client:
        return client.post(f"/v1/loans/{loan_id}/{action}", json=body or None)


def pledged_loan(node: NodeProcess, chain: Chain) -> tuple[str, str, str]:
    """An approved loan (the lien placed): (VIN, vehicle id, loan id)."""
    vin, vehicle_id = scored_vehicle(node, chain)
    applied = apply(node, vin)
    assert applied.status_code == 201, applied.text
    loan_id: str = applied.json()["loan_id"]
    approved = act(node, loan_id, "approve")
    assert approved.status_code == 200, approved.text
    return vin, vehicle_id, loan_id


def advance_time(chain: Chain, seconds: int) -> None:
    """Move the chain's clock forward and mine a block (anvil's dev RPC)."""
    w3 = chain.sender(0).w3
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def listed_loans(node: NodeProcess, **params: Any) -> list[dict[str, Any]]:
    """The indexed loan list (`GET /v1/loans`) with these filters, up to 200 items."""
    with node.client(Role.AUDITOR) as client:
        answer = client.get("/v1/loans", params={"limit": 200, **params})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def listed_loan(node: NodeProcess, loan_id: str, **params: Any) -> dict[str, Any] | None:
    return next((i for i in listed_loans(node, **params) if i["loan_id"] == loan_id), None)


def loan_manager(chain: Chain) -> Any:
    w3 = chain.sender(0).w3
    record = DeploymentRecord(chain.deployment_file)
    return w3.eth.contract(
        address=record.address(w3.eth.chain_id, "LoanManager"),
        abi=load_artifact(chain.build_dir, "LoanManager").abi,
    )
