"""The bank's portfolio (`GET /v1/portfolio`) through a real node process, against a book
built for it on a consortium of its own (one per database backend, so the figures are
exact): two approved loans, one active and partly repaid, one overdue, two alerts of which
one is eight days old and one reviewed."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import api_server
import pytest
from api_server import BUILD_DIR, NodeProcess, deployed_consortium, up_to_head, wait_for
from loan_flow import (
    DAY,
    HEALTHY_VALUE,
    act,
    address_of,
    advance_time,
    apply,
    pledged_loan,
    scored_vehicle,
)
from oracle_reports import Chain

from node_api.api_keys import Role
from vcl.localchain import LocalChain

LOW_VALUE = 1_500_000  # below 70 % of the 2,500,000 appraisal: an alert

bank_node = api_server.bank_node


@pytest.fixture(scope="module")
def deployment(
    anvil: LocalChain, node_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A consortium per backend: the book is this module's loans and nothing else."""
    path = deployed_consortium(anvil, tmp_path_factory.mktemp(f"consortium-{node_backend}"))
    Chain(anvil, path, BUILD_DIR).approve_model()
    return path


@pytest.fixture(scope="module")
def chain(anvil: LocalChain, deployment: Path) -> Chain:
    return Chain(anvil, deployment, BUILD_DIR)


def portfolio(node: NodeProcess, **params: Any) -> tuple[dict[str, Any], dict[str, str]]:
    with node.client(Role.AUDITOR) as client:
        answer = client.get("/v1/portfolio", params=params, headers=up_to_head(node))
    assert answer.status_code == 200, answer.text
    return answer.json(), dict(answer.headers)


def ok(answer: Any) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    body: dict[str, Any] = answer.json()
    return body


def open_alert_of(node: NodeProcess, vehicle_id: str) -> str | None:
    with node.client(Role.AUDITOR) as client:
        items = client.get(
            "/v1/alerts", params={"status": "open", "vehicle_id": vehicle_id, "limit": 200}
        ).json()["items"]
    return str(items[0]["alert_id"]) if items else None


def test_the_book_by_state_ltv_alerts_and_rates(bank_node: NodeProcess, chain: Chain) -> None:
    empty, _ = portfolio(bank_node)
    assert empty["totals"] == {"loans": 0, "book_loans": 0, "exposure": 0}

    # An approved loan whose vehicle's value falls: an alert, soon eight days old.
    _, old_vehicle, _ = pledged_loan(bank_node, chain)
    chain.report(old_vehicle, score=3000, value=LOW_VALUE)
    # An active loan, partly repaid: 600,000 outstanding on 2,400,000 (25 %).
    vin, _ = scored_vehicle(bank_node, chain)
    active = ok(apply(bank_node, vin))["loan_id"]
    for action, body in (("approve", {}), ("activate", {}), ("repay", {"amount": 400_000})):
        ok(act(bank_node, active, action, **body))
    # A loan due daily, then overdue: 2,000,000 outstanding on 2,400,000 (83 %).
    vin, _ = scored_vehicle(bank_node, chain)
    overdue = ok(apply(bank_node, vin, principal=2_000_000, installment_interval_seconds=DAY))
    for action in ("approve", "activate"):
        ok(act(bank_node, overdue["loan_id"], action))
    with bank_node.client(Role.AUDITOR) as client:
        activated_at = client.get(f"/v1/loans/{overdue['loan_id']}").json()["activated_at"]
    advance_time(chain, 8 * DAY)
    assert ok(act(bank_node, overdue["loan_id"], "mark-overdue"))["state"] == "Overdue"
    # Another approved loan with a fresh alert, reviewed.
    _, new_vehicle, _ = pledged_loan(bank_node, chain)
    chain.report(new_vehicle, score=3000, value=LOW_VALUE)
    assert wait_for(lambda: open_alert_of(bank_node, old_vehicle))
    reviewed = wait_for(lambda: open_alert_of(bank_node, new_vehicle))
    with bank_node.client(Role.REVIEWER) as client:
        ok(
            client.post(
                f"/v1/alerts/{reviewed}/review",
                json={"decision": "false_positive", "comment": "Dealer valuation confirms it"},
            )
        )

    book, headers = portfolio(bank_node, days=30)
    assert headers["x-indexed-block"] == str(book["indexed_block"])
    assert headers["x-indexed-block-time"] == book["as_of"]
    assert book["bank"] == address_of(bank_node)
    assert book["currency"] == "CNY"
    assert book["totals"] == {"loans": 4, "book_loans": 2, "exposure": 2_600_000}
    states = {row["state"]: row for row in book["by_state"]}
    assert list(states)[:5] == ["Applied", "Approved", "Active", "Overdue", "Defaulted"]
    assert len(states) == 12
    assert states["Approved"] == {
        "state": "Approved",
        "loans": 2,
        "principal": 2_000_000,
        "outstanding": 2_000_000,
        "exposure": 0,  # not disbursed
    }
    assert states["Active"] == {
        "state": "Active",
        "loans": 1,
        "principal": 1_000_000,
        "outstanding": 600_000,
        "exposure": 600_000,
    }
    assert states["Overdue"] == {
        "state": "Overdue",
        "loans": 1,
        "principal": 2_000_000,
        "outstanding": 2_000_000,
        "exposure": 2_000_000,
    }
    others = [row for name, row in states.items() if name not in ("Approved", "Active", "Overdue")]
    assert all(row["loans"] == row["exposure"] == 0 for row in others)
    assert book["segments"] is None
    assert "segment" in book["segments_note"]

    ltv = book["loan_to_value"]
    assert ltv["loans"] == 2
    assert [(b["bucket"], b["loans"], b["exposure"]) for b in ltv["buckets"]] == [
        ("<=50%", 1, 600_000),
        ("50-70%", 0, 0),
        ("70-80%", 0, 0),
        ("80-100%", 1, 2_000_000),
        (">100%", 0, 0),
    ]
    assert (ltv["no_valuation_loans"], ltv["no_valuation_exposure"]) == (0, 0)
    assert HEALTHY_VALUE * 80 < 2_000_000 * 100 <= HEALTHY_VALUE * 100  # its bucket, by hand

    alerts = book["alerts"]
    assert (alerts["open"], alerts["unreviewed"]) == (2, 1)
    assert [(b["bucket"], b["alerts"], b["unreviewed"]) for b in alerts["by_age"]] == [
        ("<7 days", 1, 0),
        ("7-30 days", 1, 1),
        ("30-90 days", 0, 0),
        (">90 days", 0, 0),
    ]

    rates = book["rates"]
    assert len(rates) == 30
    assert rates[-1]["date"] == book["as_of"][:10]
    assert rates[-1] == {
        "date": rates[-1]["date"],
        "book_loans": 2,
        "book_exposure": 2_600_000,
        "overdue_loans": 1,
        "overdue_exposure": 2_000_000,
        "defaulted_loans": 0,
        "defaulted_exposure": 0,
        "overdue_share_bps": 5000,
        "overdue_exposure_share_bps": 2_000_000 * 10_000 // 2_600_000,  # 7692
        "defaulted_share_bps": 0,
        "defaulted_exposure_share_bps": 0,
    }
    by_date = {point["date"]: point for point in rates}
    activation_day = by_date[activated_at[:10]]
    assert (activation_day["book_loans"], activation_day["book_exposure"]) == (2, 2_600_000)
    assert (activation_day["overdue_loans"], activation_day["overdue_share_bps"]) == (0, 0)
    # Before the first loan: an empty book, no share.
    assert rates[0]["book_loans"] == 0
    assert rates[0]["overdue_share_bps"] is None
    dates = [datetime.fromisoformat(point["date"]).replace(tzinfo=UTC) for point in rates]
    assert all((b - a).days == 1 for a, b in pairwise(dates))


def test_days_are_bounded_and_default_to_90(bank_node: NodeProcess) -> None:
    book, _ = portfolio(bank_node)
    assert len(book["rates"]) == 90
    with bank_node.client(Role.OFFICER) as client:
        for days in (0, 367, "x"):
            answer = client.get("/v1/portfolio", params={"days": days})
            assert answer.status_code == 422, answer.text
        assert len(client.get("/v1/portfolio", params={"days": 366}).json()["rates"]) == 366


def test_the_openapi_documents_every_field(bank_node: NodeProcess) -> None:
    document = bank_node.client().get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for name in (
        "PortfolioView",
        "PortfolioTotals",
        "PortfolioState",
        "LtvBucket",
        "LoanToValueSpread",
        "AlertAgeBucket",
        "PortfolioAlerts",
        "PortfolioDay",
    ):
        for field, spec in schemas[name]["properties"].items():
            if "$ref" in spec or (spec.get("type") == "array" and "$ref" in spec["items"]):
                continue
            assert spec.get("description"), f"{name}.{field} has no description"
    assert "/v1/portfolio" in document["paths"]
