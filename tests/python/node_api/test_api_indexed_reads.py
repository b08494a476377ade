"""Indexed reads through a real node API process: what they say of how far the index is,
a write read back at once through the node that made it, a loan's state history, a score
history judged point by point, and a read that asks for a block the index has not reached."""

from __future__ import annotations

import api_server
import loan_flow
from api_server import NodeProcess, up_to_head
from loan_flow import APPRAISAL, act, advance_time, loan_manager, pledged_loan, scored_vehicle
from oracle_reports import Chain

from node_api.api_keys import Role
from vcl.timestamps import iso

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


def test_a_loans_figures_from_the_index_are_the_contracts_views(
    bank_node: NodeProcess, chain: Chain
) -> None:
    """Current rate, outstanding, loan-to-value and next due date, computed from the read
    models, against the contract's views at the same block, through a worse score, a
    repayment and a stale score (past HEARTBEAT)."""
    _, vehicle_id, loan_id = pledged_loan(bank_node, chain)
    assert act(bank_node, loan_id, "activate").status_code == 200
    manager = loan_manager(chain)
    views = manager.functions

    def compare() -> None:
        with bank_node.client(Role.AUDITOR) as client:
            answer = client.get(f"/v1/loans/{loan_id}", headers=up_to_head(bank_node))
        assert answer.status_code == 200, answer.text
        view = answer.json()
        block = int(answer.headers["X-Indexed-Block"])
        number = int(loan_id)
        assert view["current_rate_bps"] == views.currentRateBps(number).call(block_identifier=block)
        assert view["outstanding"] == views.outstanding(number).call(block_identifier=block)
        assert view["loan_to_value_bps"] == views.loanToValueBps(number).call(
            block_identifier=block
        )
        due = views.nextDueDate(number).call(block_identifier=block)
        assert view["next_due_date"] == (iso(due) if due else None)

    compare()
    chain.report(vehicle_id, score=3000, value=loan_flow.HEALTHY_VALUE // 2)
    compare()
    assert act(bank_node, loan_id, "repay", amount=250_000).status_code == 200
    compare()
    advance_time(chain, 8 * loan_flow.DAY)  # past the 7-day HEARTBEAT: the score is stale
    compare()


INDEXED_ROUTES = (
    "/v1/vehicles",
    "/v1/vehicles/{vin}",
    "/v1/vehicles/{vin}/conditions",
    "/v1/vehicles/{vin}/documents",
    "/v1/documents/{cid}/verification",
    "/v1/loans",
    "/v1/loans/{loan_id}",
    "/v1/alerts",
    "/v1/alerts/{alert_id}",
    "/v1/consortium/members",
    "/v1/consortium/proposals",
    "/v1/consortium/proposals/{proposal_id}",
    "/v1/dashboard/parameters",
    "/v1/me",
)


def test_the_openapi_document_says_which_reads_are_indexed(bank_node: NodeProcess) -> None:
    with bank_node.client(Role.AUDITOR) as client:
        paths = client.get("/openapi.json").json()["paths"]
    for path in INDEXED_ROUTES:
        read = paths[path]["get"]
        assert "X-Indexed-Block" in read["responses"]["200"]["headers"], path
        assert "this node's index" in read["description"], path
        assert any(p["name"] == "X-Min-Block" for p in read["parameters"]), path
