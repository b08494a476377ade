"""The audit endpoints through real node API processes: a vehicle's and a loan's history
against the receipts the writes returned, a tampered document seen in a history, and the
CSV and JSON exports against the chain's own logs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import api_server
import httpx
import loan_flow
from api_server import NodeProcess, random_vin, register, wait_for
from loan_flow import APPRAISAL, act, apply
from oracle_reports import Chain
from web3 import Web3

from node_api.api_keys import Role
from node_api.audit import EXPORT_COLUMNS
from node_api.documents.embedded import EmbeddedDocumentStore
from vcl.deploy import SYSTEM_CONTRACTS

deployment = loan_flow.deployment
chain = loan_flow.chain
bank_node = api_server.bank_node
issuer_node = api_server.issuer_node

PERSONAL = ("customer-0042", "borrower-0042")  # the references the writes sent


def get(node: NodeProcess, path: str, role: Role = Role.AUDITOR, **params: Any) -> httpx.Response:
    with node.client(role) as client:
        return client.get(path, params=params)


def history_with(node: NodeProcess, path: str, tx_hash: str) -> dict[str, Any]:
    """The history once the indexer holds the transaction `tx_hash`."""

    def indexed() -> dict[str, Any] | None:
        answer = get(node, path)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body if any(e["tx_hash"] == tx_hash for e in body["events"]) else None

    body = wait_for(indexed)
    assert body is not None, f"{tx_hash} never appeared in {path}"
    return body


def upload(node: NodeProcess, vin: str, content: bytes) -> dict[str, Any]:
    with node.client(Role.OFFICER) as client:
        answer = client.post(
            f"/v1/vehicles/{vin}/documents",
            files={"file": ("doc", content, "text/plain")},
            data={"doc_type": "maintenance"},
        )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_histories_show_registration_document_loan_and_lien_with_their_receipts(
    bank_node: NodeProcess, issuer_node: NodeProcess, chain: Chain
) -> None:
    vin = random_vin()
    registered = register(bank_node, vin, appraisal_value=APPRAISAL).json()
    chain.report(registered["vehicle_id"], score=8000, value=loan_flow.HEALTHY_VALUE)
    document = upload(issuer_node, vin, b"oil changed at 42 000 km")
    applied = apply(bank_node, vin)
    assert applied.status_code == 201, applied.text
    loan_id = applied.json()["loan_id"]
    approved = act(bank_node, loan_id, "approve")
    assert approved.status_code == 200, approved.text

    path = f"/v1/audit/vehicles/{vin}/history"
    body = history_with(bank_node, path, approved.json()["transaction_hash"])

    assert body["vin"] == vin
    assert body["vehicle_id"] == registered["vehicle_id"]
    shown = [(e["event"], e["tx_hash"], e["block_number"]) for e in body["events"]]
    apply_tx = applied.json()["transaction_hash"]
    approve_tx = approved.json()["transaction_hash"]
    assert sorted(shown) == sorted(
        [
            ("VehicleRegistered", registered["transaction_hash"], registered["block_number"]),
            ("DocumentAnchored", document["transaction_hash"], document["block_number"]),
            ("LoanApplied", apply_tx, applied.json()["block_number"]),
            ("LoanStateChanged", apply_tx, applied.json()["block_number"]),  # None -> Applied
            ("LoanStateChanged", approve_tx, approved.json()["block_number"]),
            ("LienPlaced", approve_tx, approved.json()["block_number"]),
        ]
    )
    order = [(e["block_number"], e["log_index"]) for e in body["events"]]
    assert order == sorted(order)
    assert [e["event"] for e in body["events"][:3]] == [
        "VehicleRegistered",
        "DocumentAnchored",
        "LoanApplied",
    ]
    assert all(e["block_time"].endswith("Z") for e in body["events"])
    lien = next(e for e in body["events"] if e["event"] == "LienPlaced")
    assert lien["args"]["loanId"] == loan_id
    assert lien["contract"] == "VehicleRegistry"
    # The bank's node has not fetched the issuer's envelope (no peers here): not verified,
    # not failed either.
    [listed] = body["documents"]
    assert listed["cid"] == document["cid"]
    assert listed["doc_type"] == "maintenance"
    assert listed["verification"]["documents"][0]["status"] == "unavailable"

    # The issuer's node indexed the same events and holds the envelope, but no key to open
    # it (a repair shop is no reader): its content cannot be checked there either.
    on_issuer = history_with(issuer_node, path, approve_tx)
    assert on_issuer["events"] == body["events"]
    [result] = on_issuer["documents"][0]["verification"]["documents"]
    assert result["status"] == "unavailable"
    assert result["document_id"] == document["document_id"]
    # With the envelope in its store (what a peer fetch brings), the bank, a reader, verifies.
    cid = document["cid"]
    envelope = EmbeddedDocumentStore(Path(issuer_node.env["VCL_NODE_STORE_DIR"])).cat_local(cid)
    EmbeddedDocumentStore(Path(bank_node.env["VCL_NODE_STORE_DIR"])).add(envelope)
    [result] = history_with(bank_node, path, approve_tx)["documents"][0]["verification"][
        "documents"
    ]
    assert result["status"] == "verified"

    loan_path = f"/v1/audit/loans/{loan_id}/history"
    loan = history_with(bank_node, loan_path, approve_tx)
    assert loan["vin"] == vin  # this node registered the vehicle
    assert loan["vehicle_id"] == registered["vehicle_id"]
    assert [e["tx_hash"] for e in loan["events"]] == [apply_tx, apply_tx, approve_tx, approve_tx]
    assert {e["event"] for e in loan["events"]} == {"LoanApplied", "LoanStateChanged", "LienPlaced"}
    assert [d["cid"] for d in loan["documents"]] == [document["cid"]]
    assert history_with(issuer_node, loan_path, approve_tx)["vin"] is None

    # Readable by every staff role; chain data only, even on the bank that holds the
    # references. A peer node's key fetches envelopes only.
    for role in Role:
        for url in (path, loan_path):
            answer = get(bank_node, url, role)
            if role is Role.PEER:
                assert answer.status_code == 403, answer.text
                continue
            assert answer.status_code == 200, (role, answer.text)
            assert not any(ref in answer.text for ref in PERSONAL)


def test_a_tampered_document_shows_tampered_in_the_history(
    bank_node: NodeProcess, issuer_node: NodeProcess
) -> None:
    vin = register(bank_node).json()["vin"]
    document = upload(issuer_node, vin, b"brakes replaced")
    cid = document["cid"]
    stored = Path(issuer_node.env["VCL_NODE_STORE_DIR"]) / "objects" / cid[-2:] / cid
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.write_bytes(bytes(data))

    body = history_with(
        issuer_node, f"/v1/audit/vehicles/{vin}/history", document["transaction_hash"]
    )

    [listed] = body["documents"]
    [result] = listed["verification"]["documents"]
    assert result["status"] == "tampered"
    checks = {c["name"]: c["outcome"] for c in result["checks"]}
    assert checks["content_matches_cid"] == "failed"
    assert checks["issuer_signature"] == "passed"
    metrics = httpx.get(f"{issuer_node.url}/metrics").text
    assert 'vcl_document_verifications_total{status="tampered"}' in metrics


def chain_logs(node: NodeProcess, deployment: Path, to_block: int) -> list[tuple[str, int]]:
    """(transaction hash, log index) of every log of the four contracts, read from anvil."""
    w3 = Web3(Web3.HTTPProvider(node.env["VCL_RPC_URL"]))
    addresses = json.loads(deployment.read_text())["1337"]
    logs = w3.eth.get_logs(
        {
            "fromBlock": 0,
            "toBlock": to_block,
            "address": [addresses[name] for name in SYSTEM_CONTRACTS],
        }
    )
    return [("0x" + bytes(log["transactionHash"]).hex(), log["logIndex"]) for log in logs]


def test_csv_and_json_exports_hold_every_indexed_event(
    bank_node: NodeProcess, deployment: Path
) -> None:
    registered = register(bank_node).json()
    vin = registered["vin"]
    path = f"/v1/audit/vehicles/{vin}/history"
    history_with(bank_node, path, registered["transaction_hash"])
    exported = get(bank_node, "/v1/audit/export", format="csv")
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    indexed = int(exported.headers["X-Indexed-Block"])
    disposition = exported.headers["content-disposition"]
    assert disposition == f'attachment; filename="vcl-events-1337-0-{indexed}.csv"'
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert tuple(csv.reader(io.StringIO(exported.text)).__next__()) == EXPORT_COLUMNS
    assert [(r["tx_hash"], int(r["log_index"])) for r in rows] == chain_logs(
        bank_node, deployment, indexed
    )

    as_json = get(bank_node, "/v1/audit/export", format="json", to_block=indexed)
    assert as_json.status_code == 200
    assert as_json.headers["content-type"] == "application/json"
    events = as_json.json()
    assert len(events) == len(rows)
    for event, row in zip(events, rows, strict=True):
        assert (event["tx_hash"], event["log_index"], event["event"]) == (
            row["tx_hash"],
            int(row["log_index"]),
            row["event"],
        )
        assert event["args"] == json.loads(row["args"])
        assert event["block_time"] == row["block_time"]

    history = get(bank_node, path).json()["events"]
    assert history
    assert all(e in events for e in history)

    proposals = get(
        bank_node, "/v1/audit/export", format="json", contract="Consortium", event="ProposalCreated"
    ).json()
    assert proposals  # the model approval of the fixture
    assert {(e["contract"], e["event"]) for e in proposals} == {("Consortium", "ProposalCreated")}


def test_unknown_and_malformed_subjects_and_exports_are_refused(bank_node: NodeProcess) -> None:
    unknown = get(bank_node, f"/v1/audit/vehicles/{random_vin()}/history")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "UnknownVehicle"
    malformed = get(bank_node, "/v1/audit/vehicles/NOT-A-VIN/history")
    assert malformed.status_code == 422
    assert malformed.json()["error"] == "InvalidVin"
    no_loan = get(bank_node, "/v1/audit/loans/999999/history")
    assert no_loan.status_code == 404
    assert no_loan.json()["error"] == "UnknownLoan"
    assert get(bank_node, "/v1/audit/loans/abc/history").json()["error"] == "InvalidLoanId"

    xml = get(bank_node, "/v1/audit/export", format="xml")
    assert xml.status_code == 422
    assert xml.json()["message"] == "format 'xml' is not one of: csv, json"
    contract = get(bank_node, "/v1/audit/export", contract="Bank")
    assert contract.status_code == 422
    assert "VehicleRegistry" in contract.json()["message"]
    backwards = get(bank_node, "/v1/audit/export", from_block=5, to_block=4)
    assert backwards.json()["error"] == "InvalidBlockRange"
    with bank_node.client() as anonymous:
        assert anonymous.get("/v1/audit/export").status_code == 401
