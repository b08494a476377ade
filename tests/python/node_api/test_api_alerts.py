"""Value alerts through a real node API process: an alert raised by a report below the
threshold is listed, reviewed once by the lending bank's reviewer (comment kept on the node,
its hash and a salted commitment to the reviewer on-chain), and refused to other roles and
banks."""

from __future__ import annotations

import hashlib
from typing import Any

import api_server
import httpx
import loan_flow
from api_server import BANK_INDEX, OTHER_BANK_INDEX, NodeProcess, wait_for
from eth_account import Account
from loan_flow import APPRAISAL, pledged_loan
from oracle_reports import Chain

from node_api.api_keys import Role
from vcl.config import DEV_PRIVATE_KEYS

BANK = Account.from_key(DEV_PRIVATE_KEYS[BANK_INDEX]).address
OTHER_BANK = Account.from_key(DEV_PRIVATE_KEYS[OTHER_BANK_INDEX]).address
LOW_VALUE = APPRAISAL * 6 // 10  # below the 70 % threshold
COMMENT = "Photos show flood damage; valuation confirmed with the dealer."

deployment = loan_flow.deployment
chain = loan_flow.chain
bank_node = api_server.bank_node
other_bank_node = api_server.other_bank_node


def raise_alert(node: NodeProcess, chain: Chain) -> tuple[str, str]:
    """A pledged vehicle reported below the threshold: (vehicle id, loan id)."""
    vehicle_id, loan_id, _ = raise_alert_with_vin(node, chain)
    return vehicle_id, loan_id


def raise_alert_with_vin(node: NodeProcess, chain: Chain) -> tuple[str, str, str]:
    vin, vehicle_id, loan_id = pledged_loan(node, chain)
    chain.report(vehicle_id, score=3000, value=LOW_VALUE)
    return vehicle_id, loan_id, vin


def alerts(node: NodeProcess, **params: object) -> list[dict[str, object]]:
    with node.client(Role.AUDITOR) as client:
        answer = client.get("/v1/alerts", params={"limit": 200, **params})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


def oracle_alert(chain: Chain, alert_id: object) -> tuple[Any, ...]:
    """The alert as the chain stores it (`IConditionOracle.alert`), read directly."""
    oracle = chain.contracts["ConditionOracle"]
    return tuple(oracle.functions.alert(int(str(alert_id))).call())


def review(
    node: NodeProcess, alert_id: object, role: Role, decision: str = "confirmed_risk"
) -> httpx.Response:
    with node.client(role) as client:
        return client.post(
            f"/v1/alerts/{alert_id}/review", json={"decision": decision, "comment": COMMENT}
        )


def test_an_alert_is_listed_and_reviewed_once_by_the_lending_banks_reviewer(
    bank_node: NodeProcess, other_bank_node: NodeProcess, chain: Chain
) -> None:
    vehicle_id, loan_id = raise_alert(bank_node, chain)
    # The list reads the indexed events: the alert is there once the indexer has it.
    found = wait_for(lambda: alerts(bank_node, status="unreviewed", vehicle_id=vehicle_id))
    assert len(found) == 1
    assert alerts(bank_node, status="open", vehicle_id=vehicle_id) == found
    assert alerts(bank_node, bank=BANK, vehicle_id=vehicle_id) == found
    assert alerts(bank_node, bank=OTHER_BANK, vehicle_id=vehicle_id) == []
    assert alerts(bank_node, status="recovered", vehicle_id=vehicle_id) == []
    alert = found[0]
    assert alert["bank"] == BANK
    assert alert["loan_id"] == loan_id
    assert alert["status"] == "open"
    assert alert["value"] == LOW_VALUE
    assert alert["appraisal"] == APPRAISAL
    assert alert["threshold_bps"] == 7000
    assert alert["review"] is None
    alert_id = alert["alert_id"]

    # Roles that do not review, and another bank's reviewer, are refused; nothing is recorded.
    for role in (Role.OFFICER, Role.AUDITOR):
        refused = review(bank_node, alert_id, role)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "Forbidden"
    foreign = review(other_bank_node, alert_id, Role.REVIEWER)
    assert foreign.status_code == 403, foreign.text
    assert foreign.json()["error"] == "OracleNotAlertBank"
    bad = review(bank_node, alert_id, Role.REVIEWER, decision="panic")
    assert bad.status_code == 422
    assert bad.json()["error"] == "InvalidDecision"

    done = review(bank_node, alert_id, Role.REVIEWER)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["decision"] == "confirmed_risk"
    assert body["comment_hash"] == "0x" + hashlib.sha256(COMMENT.encode()).hexdigest()
    # On-chain, the reviewer is a salted commitment: a list of staff ids hashed one by one
    # does not find it (issue 15: it was sha256 of the person reference).
    assert body["reviewer"] == "staff-reviewer"
    staff_ids = [f"staff-{role.value}" for role in Role]
    guesses = {"0x" + hashlib.sha256(ref.encode()).hexdigest() for ref in staff_ids}
    assert body["reviewer_ref"] not in guesses
    on_chain = oracle_alert(chain, alert_id)
    assert "0x" + on_chain[12].hex() == body["reviewer_ref"]
    assert "0x" + on_chain[12].hex() not in guesses
    assert body["transaction_hash"].startswith("0x")

    again = review(bank_node, alert_id, Role.ADMIN, decision="false_positive")
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "OracleAlertAlreadyReviewed"

    reviewed = wait_for(lambda: alerts(bank_node, status="reviewed", vehicle_id=vehicle_id))
    assert [a["alert_id"] for a in reviewed] == [alert_id]
    recorded = reviewed[0]["review"]
    assert isinstance(recorded, dict)
    assert recorded["decision"] == "confirmed_risk"
    assert recorded["comment"] == COMMENT  # kept on the reviewing bank's node
    assert recorded["reviewer"] == "staff-reviewer"  # the node opens its own commitment
    assert recorded["reviewer_ref"] == body["reviewer_ref"]
    with bank_node.client(Role.AUDITOR) as client:
        assert client.get(f"/v1/alerts/{alert_id}").json()["review"]["reviewer"] == (
            "staff-reviewer"
        )
    assert recorded["comment_hash"] == body["comment_hash"]
    assert recorded["reviewed_at"].endswith("Z")
    assert alert_id not in {a["alert_id"] for a in alerts(bank_node, status="unreviewed")}
    # Another bank's node sees the review on-chain, not the comment.
    with other_bank_node.client(Role.AUDITOR) as client:
        # Another node indexes on its own: its read waits for the review's block.
        headers = {"X-Min-Block": str(body["block_number"])}
        seen = client.get(f"/v1/alerts/{alert_id}", headers=headers).json()
    assert seen["review"]["comment_hash"] == body["comment_hash"]
    assert seen["review"]["comment"] is None
    assert seen["review"]["reviewer"] is None
    assert seen["review"]["reviewer_ref"] == body["reviewer_ref"]


def test_an_alert_shows_the_vin_only_where_the_vehicle_was_registered(
    bank_node: NodeProcess, other_bank_node: NodeProcess, chain: Chain
) -> None:
    vehicle_id, _, vin = raise_alert_with_vin(bank_node, chain)
    (here,) = wait_for(lambda: alerts(bank_node, vehicle_id=vehicle_id))
    assert here["vin"] == vin
    (there,) = wait_for(lambda: alerts(other_bank_node, vehicle_id=vehicle_id))
    assert there["vin"] is None  # the VIN never leaves the registering bank's node
    with bank_node.client(Role.AUDITOR) as client:
        assert client.get(f"/v1/alerts/{here['alert_id']}").json()["vin"] == vin


def test_unknown_alerts_and_bad_filters(bank_node: NodeProcess) -> None:
    answer = review(bank_node, 999_999, Role.REVIEWER)
    assert answer.status_code == 404
    assert answer.json()["error"] == "UnknownAlert"
    with bank_node.client(Role.AUDITOR) as client:
        assert client.get("/v1/alerts/999999").status_code == 404
        assert client.get("/v1/alerts/x").status_code == 422
        for params, error in (
            ({"status": "sleeping"}, "InvalidStatus"),
            ({"bank": "0x12"}, "InvalidAddress"),
            ({"vehicle_id": "0xabc"}, "InvalidVehicle"),
        ):
            bad = client.get("/v1/alerts", params=params)
            assert bad.status_code == 422, params
            assert bad.json()["error"] == error


def test_an_alert_closed_by_a_recovery_is_listed_as_recovered(
    bank_node: NodeProcess, chain: Chain
) -> None:
    vehicle_id, _ = raise_alert(bank_node, chain)
    chain.report(vehicle_id, score=8000, value=APPRAISAL)  # back above threshold + hysteresis
    recovered = wait_for(lambda: alerts(bank_node, status="recovered", vehicle_id=vehicle_id))
    assert len(recovered) == 1
    assert isinstance(recovered[0]["closed_round_id"], int)
    assert alerts(bank_node, status="open", vehicle_id=vehicle_id) == []
    with bank_node.client(Role.AUDITOR) as client:
        fresh = client.get(f"/v1/alerts/{recovered[0]['alert_id']}").json()
    assert fresh == recovered[0]  # the indexed list and the chain's view agree
