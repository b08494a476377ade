"""Indexed reads through a real node API process: what they say of how far the index is,
a write read back at once through the node that made it, a loan's state history, a score
history judged point by point, and a read that asks for a block the index has not reached."""

from __future__ import annotations

import api_server
import loan_flow
from api_server import NodeProcess, up_to_head
from loan_flow import APPRAISAL, act, pledged_loan, scored_vehicle
from oracle_reports import Chain

from node_api.api_keys import Role

deployment = loan_flow.deployment
chain = loan_flow.chain
bank_node = api_server.bank_node


def test_an_indexed_read_says_how_far_the_index_is(bank_node: NodeProcess, chain: Chain) -> None:
    _, _, loan_id = pledged_loan(bank_node, chain)
    with bank_node.client(Role.AUDITOR) as client:
        answer = client.get(f"/v1/loans/{loan_id}")
    assert answer.status_code == 200, answer.text
    indexed = int(answer.headers["X-Indexed-Block"])
    head = int(up_to_head(bank_node)["X-Min-Block"])
    assert indexed == head  # the approval answered once its block was indexed
    assert answer.headers["X-Indexed-Block-Time"].endswith("Z")
    assert answer.json()["as_of"] == answer.headers["X-Indexed-Block-Time"]


def test_a_loan_shows_its_state_history(bank_node: NodeProcess, chain: Chain) -> None:
    _, _, loan_id = pledged_loan(bank_node, chain)
    activated = act(bank_node, loan_id, "activate")
    assert activated.status_code == 200, activated.text
    with bank_node.client(Role.AUDITOR) as client:
        view = client.get(f"/v1/loans/{loan_id}").json()  # no wait: the write waited
    assert view["state"] == "Active"
    assert [(c["from_state"], c["to_state"]) for c in view["state_history"]] == [
        ("None", "Applied"),
        ("Applied", "Approved"),
        ("Approved", "Active"),
    ]
    assert activated.json()["transaction_hash"] == view["state_history"][-1]["transaction_hash"]
    assert view["next_due_date"] is not None
    assert view["loan_to_value_bps"] == view["outstanding"] * 10_000 // loan_flow.HEALTHY_VALUE


def test_each_score_is_judged_against_the_rules_of_its_block(
    bank_node: NodeProcess, chain: Chain
) -> None:
    vin, vehicle_id = scored_vehicle(bank_node, chain)
    chain.report(vehicle_id, score=3000, value=APPRAISAL // 2)
    with bank_node.client(Role.AUDITOR) as client:
        history = client.get(f"/v1/vehicles/{vin}/conditions", headers=up_to_head(bank_node))
    assert history.status_code == 200, history.text
    points = history.json()["points"]
    assert [p["score"] for p in points] == [8000, 3000]
    assert all(p["threshold_bps"] == 7000 and p["appraisal"] == APPRAISAL for p in points)
    assert [p["below_threshold"] for p in points] == [False, True]
    assert [p["value_ratio_bps"] for p in points] == [
        loan_flow.HEALTHY_VALUE * 10_000 // APPRAISAL,
        5000,
    ]


def test_a_read_for_a_block_the_chain_has_not_made_is_refused(bank_node: NodeProcess) -> None:
    head = int(up_to_head(bank_node)["X-Min-Block"])
    with bank_node.client(Role.AUDITOR) as client:
        answer = client.get("/v1/loans", headers={"X-Min-Block": str(head + 1_000)})
        current = client.get("/v1/loans", headers={"X-Min-Block": str(head)})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "UnknownBlock"
    assert answer.json()["details"]["chain_head"] >= head
    assert current.status_code == 200, current.text
    assert int(current.headers["X-Indexed-Block"]) >= head
