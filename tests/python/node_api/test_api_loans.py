"""Loans through a real node API process: the lifecycle, refusals translated from the
contract's custom errors, the role and bank matrix, and unknown loans."""

from __future__ import annotations

import api_server
import loan_flow
from api_server import BANK_INDEX, NodeProcess
from eth_account import Account
from loan_flow import HEALTHY_VALUE, act, apply, pledged_loan, scored_vehicle
from oracle_reports import Chain

from node_api.api_keys import Role
from vcl.config import DEV_PRIVATE_KEYS

BANK = Account.from_key(DEV_PRIVATE_KEYS[BANK_INDEX]).address

deployment = loan_flow.deployment
chain = loan_flow.chain
bank_node = api_server.bank_node
other_bank_node = api_server.other_bank_node


def loan(node: NodeProcess, loan_id: str) -> dict[str, object]:
    with node.client(Role.AUDITOR) as client:
        answer = client.get(f"/v1/loans/{loan_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_the_lifecycle_apply_approve_activate_repay_close(
    bank_node: NodeProcess, chain: Chain
) -> None:
    vin, vehicle_id = scored_vehicle(bank_node, chain)
    applied = apply(bank_node, vin)
    assert applied.status_code == 201, applied.text
    created = applied.json()
    assert created["vehicle_id"] == vehicle_id
    assert created["transaction_hash"].startswith("0x")
    assert created["block_number"] > 0
    loan_id = created["loan_id"]
    view = loan(bank_node, loan_id)
    assert view["state"] == "Applied"
    assert view["bank"] == BANK
    assert view["borrower_ref"] == "borrower-0042"
    assert view["borrower_commitment"] == created["borrower_commitment"]
    assert view["principal"] == 1_000_000
    assert view["next_due_date"] is None

    assert act(bank_node, loan_id, "approve").json()["state"] == "Approved"
    with bank_node.client(Role.AUDITOR) as client:
        lien = client.get(f"/v1/vehicles/{vin}").json()["lien"]
    assert lien["loan_id"] == loan_id
    assert lien["bank"] == BANK

    activated = act(bank_node, loan_id, "activate")
    assert activated.status_code == 200, activated.text
    assert activated.json()["state"] == "Active"
    view = loan(bank_node, loan_id)
    assert view["current_rate_bps"] == 600
    assert view["loan_to_value_bps"] == 1_000_000 * 10_000 // HEALTHY_VALUE
    assert isinstance(view["next_due_date"], str)
    assert view["next_due_date"].endswith("Z")
    assert isinstance(view["activated_at"], str)

    part = act(bank_node, loan_id, "repay", amount=400_000)
    assert part.status_code == 200, part.text
    assert part.json()["state"] == "Active"
    assert loan(bank_node, loan_id)["outstanding"] == 600_000
    rest = act(bank_node, loan_id, "repay", amount=600_000)
    assert rest.json()["state"] == "Repaid"
    view = loan(bank_node, loan_id)
    assert view["repaid"] == 1_000_000
    assert view["outstanding"] == 0
    closed = act(bank_node, loan_id, "close")
    assert closed.status_code == 200, closed.text
    assert closed.json()["state"] == "Closed"

    with bank_node.client(Role.AUDITOR) as client:
        page = client.get("/v1/loans", params={"state": "closed"}).json()
        assert loan_id in {item["loan_id"] for item in page["items"]}
        assert {item["state"] for item in page["items"]} == {"Closed"}
        applied_only = client.get("/v1/loans", params={"state": "Applied"}).json()
        assert loan_id not in {item["loan_id"] for item in applied_only["items"]}
        first = client.get("/v1/loans", params={"limit": 1}).json()
        assert len(first["items"]) == 1
        assert first["total"] >= 1
        bad = client.get("/v1/loans", params={"state": "Sleeping"})
        assert bad.status_code == 422
        assert bad.json()["error"] == "InvalidState"


def test_an_action_not_allowed_in_the_state_is_409_naming_the_state(
    bank_node: NodeProcess, chain: Chain
) -> None:
    vin, _ = scored_vehicle(bank_node, chain)
    loan_id = apply(bank_node, vin).json()["loan_id"]
    for action in ("activate", "close"):
        answer = act(bank_node, loan_id, action)
        assert answer.status_code == 409, answer.text
        body = answer.json()
        assert body["error"] == "LoanInvalidState"
        assert body["details"]["state"] == "Applied"
        assert "Applied" in body["message"]
    assert loan(bank_node, loan_id)["state"] == "Applied"  # nothing changed
    missing = act(bank_node, loan_id, "repay")
    assert missing.status_code == 422
    assert missing.json()["error"] == "MissingAmount"


def test_a_second_pledge_is_409_naming_the_existing_lien(
    bank_node: NodeProcess, chain: Chain
) -> None:
    vin, _, first = pledged_loan(bank_node, chain)
    second = apply(bank_node, vin).json()["loan_id"]
    answer = act(bank_node, second, "approve")
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["error"] == "RegistryLienExists"
    assert body["details"]["existing_loan_id"] == first
    assert body["details"]["existing_bank"] == BANK
    assert first in body["message"]
    assert loan(bank_node, second)["state"] == "Applied"


def test_another_banks_officer_gets_403_from_the_contract(
    bank_node: NodeProcess, other_bank_node: NodeProcess, chain: Chain
) -> None:
    vin, _ = scored_vehicle(bank_node, chain)
    loan_id = apply(bank_node, vin).json()["loan_id"]
    answer = act(other_bank_node, loan_id, "approve")
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == "LoanNotLender"
    # The other bank reads the loan, but not the borrower reference.
    view = loan(other_bank_node, loan_id)
    assert view["state"] == "Applied"
    assert view["borrower_ref"] is None


def test_auditor_and_reviewer_may_not_write(bank_node: NodeProcess, chain: Chain) -> None:
    vin, _ = scored_vehicle(bank_node, chain)
    loan_id = apply(bank_node, vin).json()["loan_id"]
    for role in (Role.AUDITOR, Role.REVIEWER):
        answer = act(bank_node, loan_id, "approve", role=role)
        assert answer.status_code == 403
        assert answer.json()["error"] == "Forbidden"
        with bank_node.client(role) as client:
            refused = client.post("/v1/loans", json={"vin": vin})
        assert refused.status_code == 403
    assert loan(bank_node, loan_id)["state"] == "Applied"


def test_an_unknown_loan_is_404_and_a_bad_id_422(bank_node: NodeProcess) -> None:
    with bank_node.client(Role.AUDITOR) as client:
        unknown = client.get("/v1/loans/999999")
        assert unknown.status_code == 404
        assert unknown.json()["error"] == "UnknownLoan"
        assert client.get("/v1/loans/abc").status_code == 422
    answer = act(bank_node, "999999", "approve")
    assert answer.status_code == 404
    assert answer.json()["error"] == "UnknownLoan"
    assert act(bank_node, "1", "teleport").status_code == 404


def test_a_loan_on_an_unknown_vehicle_is_404(bank_node: NodeProcess) -> None:
    answer = apply(bank_node, api_server.random_vin())
    assert answer.status_code == 404
    assert answer.json()["error"] == "UnknownVehicle"


def test_an_idempotent_application_acts_once(bank_node: NodeProcess, chain: Chain) -> None:
    vin, _ = scored_vehicle(bank_node, chain)
    body = {
        "vin": vin,
        "borrower_ref": "borrower-7",
        "principal": 500_000,
        "base_rate_bps": 500,
        "term_seconds": 3_600_000,
        "installment_interval_seconds": 360_000,
    }
    headers = {"Idempotency-Key": "loan-7"}
    with bank_node.client(Role.OFFICER) as client:
        first = client.post("/v1/loans", json=body, headers=headers)
        retry = client.post("/v1/loans", json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
