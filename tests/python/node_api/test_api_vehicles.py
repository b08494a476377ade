"""Vehicles through a real node API process: registration, the chain's view, the indexed
list, bad input and idempotent retries."""

from __future__ import annotations

import api_server
import httpx
from api_server import (
    BANK_INDEX,
    NodeProcess,
    random_vin,
    register,
    wait_for,
)
from eth_account import Account

from node_api.api_keys import Role
from vcl.config import DEV_PRIVATE_KEYS

BANK = Account.from_key(DEV_PRIVATE_KEYS[BANK_INDEX]).address
OTHER_BANK = Account.from_key(DEV_PRIVATE_KEYS[2]).address


# The module's fixtures: one consortium and node processes for all its tests.
bank_node = api_server.bank_node
deployment = api_server.deployment


def listed(node: NodeProcess, vehicle_id: str, **params: object) -> dict[str, object] | None:
    with node.client(Role.AUDITOR) as client:
        page = client.get("/v1/vehicles", params={"limit": 200, **params}).json()
    return next((item for item in page["items"] if item["vehicle_id"] == vehicle_id), None)


def test_registered_vehicle_is_on_chain_and_listed_after_indexing(bank_node: NodeProcess) -> None:
    vin = random_vin()
    created = register(bank_node, vin.lower(), appraised_at="2026-01-15T08:00:00Z")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["vin"] == vin
    assert body["transaction_hash"].startswith("0x")
    assert len(body["transaction_hash"]) == 66
    assert body["block_number"] > 0

    with bank_node.client(Role.AUDITOR) as client:
        view = client.get(f"/v1/vehicles/{vin}").json()
    assert view["vehicle_id"] == body["vehicle_id"]
    assert view["registered_by"] == BANK
    assert view["owner_commitment"] == body["owner_commitment"]
    assert view["owner_ref"] == "customer-0042"  # this node registered it
    assert view["appraisal"] == {"value": 2_500_000, "appraised_at": "2026-01-15T08:00:00Z"}
    assert view["registered_at"].endswith("Z")
    assert view["lien"] is None
    assert view["condition"] is None

    item = wait_for(lambda: listed(bank_node, body["vehicle_id"]))
    assert item is not None, "the indexer did not list the vehicle"
    assert item["vin"] == vin
    assert item["registered_by"] == BANK
    assert item["appraisal_value_at_registration"] == 2_500_000
    assert item["has_lien"] is False
    assert item["transaction_hash"] == body["transaction_hash"]
    assert item["block_number"] == body["block_number"]


def test_list_filters_by_bank_and_lien_and_paginates(bank_node: NodeProcess) -> None:
    ids = [register(bank_node).json()["vehicle_id"] for _ in range(3)]
    assert wait_for(lambda: listed(bank_node, ids[-1])) is not None
    assert listed(bank_node, ids[0], bank=BANK.lower()) is not None
    assert listed(bank_node, ids[0], bank=OTHER_BANK) is None
    assert listed(bank_node, ids[0], has_lien="false") is not None
    assert listed(bank_node, ids[0], has_lien="true") is None

    with bank_node.client(Role.AUDITOR) as client:
        first = client.get("/v1/vehicles", params={"limit": 2}).json()
        assert len(first["items"]) == 2
        assert first["total"] >= 3
        assert first["next_offset"] == 2
        second = client.get("/v1/vehicles", params={"limit": 2, "offset": 2}).json()
        seen = {i["vehicle_id"] for i in first["items"]} & {
            i["vehicle_id"] for i in second["items"]
        }
        assert seen == set()
        bad = client.get("/v1/vehicles", params={"bank": "0x1234"})
        assert bad.status_code == 422
        assert bad.json()["error"] == "InvalidAddress"


def test_a_malformed_or_check_digit_invalid_vin_is_refused_with_the_reason(
    bank_node: NodeProcess,
) -> None:
    vin = random_vin()
    wrong_digit = vin[:8] + ("1" if vin[8] != "1" else "2") + vin[9:]
    cases = {
        wrong_digit: "check digit",
        vin[:16]: "17 characters",
        vin[:16] + "O": "I, O, Q",
    }
    for bad, reason in cases.items():
        answer = register(bank_node, bad)
        assert answer.status_code == 422
        assert answer.json()["error"] == "InvalidVin"
        assert reason in answer.json()["message"]
        with bank_node.client(Role.AUDITOR) as client:
            assert client.get(f"/v1/vehicles/{bad}").status_code == 422
    # Nothing was written: the valid VIN is still unknown.
    with bank_node.client(Role.AUDITOR) as client:
        assert client.get(f"/v1/vehicles/{vin}").status_code == 404


def test_an_unknown_vehicle_is_404(bank_node: NodeProcess) -> None:
    with bank_node.client(Role.AUDITOR) as client:
        answer = client.get(f"/v1/vehicles/{random_vin()}")
    assert answer.status_code == 404
    assert answer.json()["error"] == "UnknownVehicle"


def test_a_duplicate_vehicle_is_409_with_the_contract_error(bank_node: NodeProcess) -> None:
    vin = random_vin()
    first = register(bank_node, vin)
    assert first.status_code == 201
    second = register(bank_node, vin, owner_ref="someone-else")
    assert second.status_code == 409
    body = second.json()
    assert body["error"] == "RegistryVehicleExists"
    assert body["details"]["args"] == [first.json()["vehicle_id"], BANK]
    # The node's record of the first registration is unchanged.
    with bank_node.client(Role.AUDITOR) as client:
        assert client.get(f"/v1/vehicles/{vin}").json()["owner_ref"] == "customer-0042"


def test_a_bad_appraisal_is_the_contracts_422(bank_node: NodeProcess) -> None:
    answer = register(bank_node, appraised_at="2099-01-01T00:00:00Z")
    assert answer.status_code == 422
    assert answer.json()["error"] == "RegistryInvalidAppraisal"
    negative = register(bank_node, appraisal_value=0)
    assert negative.status_code == 422


def test_an_appraisal_before_the_model_year_is_a_422_naming_the_field(
    bank_node: NodeProcess,
) -> None:
    # What a fuzzer sent: year 188, a negative unix time the ABI encoder cannot take (was 500).
    answer = register(bank_node, appraised_at="0188-07-16T20:21:41+08:45")
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "InvalidAppraisalDate"
    assert body["details"] == {"field": "appraised_at"}
    assert "model year 2003" in body["message"]  # random_vin's tenth character is 3
    early = register(bank_node, appraised_at="2001-12-31T23:59:59Z")
    assert early.status_code == 422
    assert "the earliest possible appraisal is 2002-01-01" in early.json()["message"]
    # A model year is sold from the year before it.
    assert register(bank_node, appraised_at="2002-01-01T00:00:00Z").status_code == 201


def test_an_idempotent_retry_returns_the_first_answer_and_acts_once(
    bank_node: NodeProcess,
) -> None:
    body = {"vin": random_vin(), "owner_ref": "customer-7", "appraisal_value": 1_000_000}
    headers = {"Idempotency-Key": "register-7"}
    with bank_node.client(Role.OFFICER) as client:
        sent_before = _transactions_sent(bank_node)
        first = client.post("/v1/vehicles", json=body, headers=headers)
        retry = client.post("/v1/vehicles", json=body, headers=headers)
        assert first.status_code == retry.status_code == 201
        assert retry.json() == first.json()
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert _transactions_sent(bank_node) == sent_before + 1

        other = client.post("/v1/vehicles", json={**body, "appraisal_value": 5}, headers=headers)
        assert other.status_code == 409
        assert other.json()["error"] == "IdempotencyKeyReused"

        # A refusal is an answer too: the retry gets the same 409, not a second attempt.
        dup_headers = {"Idempotency-Key": "register-7-again"}
        dup = client.post("/v1/vehicles", json=body, headers=dup_headers)
        assert dup.status_code == 409
        assert client.post("/v1/vehicles", json=body, headers=dup_headers).json() == dup.json()


def _transactions_sent(node: NodeProcess) -> int:
    text = httpx.get(f"{node.url}/metrics").text
    line = next(x for x in text.splitlines() if x.startswith("vcl_transactions_sent_total "))
    return int(line.split()[-1])
