"""The JSON the dashboard adds to the node API: who is signed in, a vehicle's score history
decoded from the report transactions, the governed parameters and the daily figures."""

from __future__ import annotations

import httpx
from api_server import NodeProcess, random_vin
from scenario import APPRAISAL, ROUNDS, Story

from node_api.api_keys import Role
from oracle.model import load_model


def test_me_tells_the_role_and_what_it_may_do(bank_node: NodeProcess) -> None:
    seen = {}
    for role in Role:
        with bank_node.client(role) as client:
            answer = client.get("/v1/me")
        if role is Role.PEER:  # another node's key: it fetches envelopes, nobody signs in
            assert answer.status_code == 403
            continue
        seen[role] = answer.json()
    assert {role: (me["can_write"], me["can_review"]) for role, me in seen.items()} == {
        Role.OFFICER: (True, False),
        Role.REVIEWER: (False, True),
        Role.AUDITOR: (False, False),
        Role.ADMIN: (True, True),
    }
    assert seen[Role.AUDITOR]["institution"]["kind"] == "bank"
    assert seen[Role.AUDITOR]["role"] == "auditor"


def test_me_without_a_key_is_401(bank_node: NodeProcess) -> None:
    with bank_node.client() as client:
        assert client.get("/v1/me").status_code == 401


def test_score_history_has_every_round_with_its_indicators(
    bank_node: NodeProcess, story: Story
) -> None:
    with bank_node.client(Role.AUDITOR) as client:
        body = client.get(f"/v1/vehicles/{story.vin}/conditions").json()
    assert body["appraisal"] == APPRAISAL
    assert body["threshold_bps"] == 7000
    assert body["threshold_value"] == APPRAISAL * 7 // 10
    points = body["points"]
    assert [p["estimated_value"] for p in points] == [value for _, _, value in ROUNDS]
    assert [p["below_threshold"] for p in points] == [False, False, True]
    assert [[i["value"] for i in p["indicators"]] for p in points] == [
        list(indicators) for _, indicators, _ in ROUNDS
    ]
    unknown, latest = points[0], points[-1]
    assert unknown["model_status"] == "model unknown"
    assert {i["contribution"] for i in unknown["indicators"]} == {None}
    assert latest["model_status"] == "known"
    assert latest["model_version"] == load_model().version_hex
    assert sum(i["contribution"] for i in latest["indicators"]) == latest["score"]
    assert all(p["transaction_hash"].startswith("0x") and p["block_number"] > 0 for p in points)


def test_score_history_of_an_unknown_or_malformed_vin(bank_node: NodeProcess) -> None:
    with bank_node.client(Role.AUDITOR) as client:
        unknown = client.get(f"/v1/vehicles/{random_vin()}/conditions")
        malformed = client.get("/v1/vehicles/NOT-A-VIN/conditions")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "UnknownVehicle"
    assert malformed.status_code == 422


def test_governed_parameters(bank_node: NodeProcess) -> None:
    with bank_node.client(Role.AUDITOR) as client:
        params = client.get("/v1/dashboard/parameters").json()
    assert params["alert_threshold_bps"] == 7000
    assert params["rate_step_bps"] > 0
    assert params["heartbeat_s"] > 0


def test_daily_monitoring_counts_the_story(bank_node: NodeProcess, story: Story) -> None:
    with bank_node.client(Role.AUDITOR) as client:
        body = client.get("/v1/monitoring/daily", params={"days": 7}).json()
        bad = client.get("/v1/monitoring/daily", params={"days": 0})
    days = body["days"]
    assert len(days) == 7
    assert sum(d["loans_applied"] for d in days) >= 1
    assert sum(d["loans_activated"] for d in days) >= 1
    assert sum(d["alerts_raised"] for d in days) >= 1
    assert days[-1]["loans_active"] >= 1
    assert days[-1]["overdue_rate"] == 0
    stability = body["stability"]
    assert stability["uptime_s"] > 0
    assert stability["indexer_lag_blocks"] is not None
    assert stability["samples"]
    assert bad.status_code == 422


def test_the_page_is_served_with_a_self_only_policy(bank_node: NodeProcess) -> None:
    page = httpx.get(f"{bank_node.url}/dashboard")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "/dashboard/static/app.js" in page.text
    script = httpx.get(f"{bank_node.url}/dashboard/static/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert httpx.get(f"{bank_node.url}/dashboard/static/..%2Fapp.py").status_code == 404
    assert httpx.get(f"{bank_node.url}/dashboard/static/missing.js").status_code == 404
