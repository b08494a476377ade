"""The role and tenant matrix of the node API, through real node processes.

One table classifies every route of the OpenAPI document: who may call it. The tests fail
if a /v1 route is not in the table, and check every route for every role: an allowed role
is never refused (not 401/403), a denied one gets 403 naming the roles allowed, and no key
or a revoked key gets 401. Across banks: bank B's node cannot act on bank A's loan, and
sees bank A's vehicles and loans only in their consortium-public fields.
"""

from __future__ import annotations

import re
from typing import Any

import api_server
import httpx
import loan_flow
import pytest
from api_server import NodeProcess, random_vin, wait_for
from loan_flow import act, apply, listed_loan, scored_vehicle
from oracle_reports import Chain

from node_api.api_keys import REVIEW_ROLES, WRITE_ROLES, Role, create_key, revoke_key
from node_api.db import make_engine, make_session_factory

EVERY_ROLE = frozenset(Role)
PUBLIC = frozenset[Role]()  # outside the matrix: no key needed

# (method, path template) -> the roles that may call it.
ACCESS: dict[tuple[str, str], frozenset[Role]] = {
    ("POST", "/v1/vehicles"): WRITE_ROLES,
    ("GET", "/v1/vehicles"): EVERY_ROLE,
    ("GET", "/v1/vehicles/{vin}"): EVERY_ROLE,
    ("POST", "/v1/vehicles/{vin}/documents"): WRITE_ROLES,
    ("GET", "/v1/vehicles/{vin}/documents"): EVERY_ROLE,
    ("GET", "/v1/vehicles/{vin}/conditions"): EVERY_ROLE,
    ("GET", "/v1/documents/{cid}/verification"): EVERY_ROLE,
    ("GET", "/v1/documents/{cid}/envelope"): EVERY_ROLE,
    ("POST", "/v1/loans"): WRITE_ROLES,
    ("POST", "/v1/loans/borrower-commitments"): WRITE_ROLES,
    ("POST", "/v1/loans/lien-consents"): WRITE_ROLES,
    ("GET", "/v1/loans"): EVERY_ROLE,
    ("GET", "/v1/loans/{loan_id}"): EVERY_ROLE,
    ("POST", "/v1/loans/{loan_id}/{action}"): WRITE_ROLES,
    ("GET", "/v1/alerts"): EVERY_ROLE,
    ("GET", "/v1/alerts/{alert_id}"): EVERY_ROLE,
    ("POST", "/v1/alerts/{alert_id}/review"): REVIEW_ROLES,
    ("GET", "/v1/me"): EVERY_ROLE,
    ("GET", "/v1/dashboard/parameters"): EVERY_ROLE,
    ("GET", "/v1/monitoring/daily"): EVERY_ROLE,
}
# Whole areas every role may read (audit trails, the consortium's governance).
READ_ONLY_AREAS = ("/v1/audit/", "/v1/consortium/")

# Path parameters: values naming nothing that exists, so an allowed call changes nothing.
PARAMETERS = {
    "loan_id": "999999",
    "alert_id": "999999",
    "proposal_id": "999999",
    "action": "approve",
    "cid": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
}

deployment = loan_flow.deployment
chain = loan_flow.chain
bank_node = api_server.bank_node
other_bank_node = api_server.other_bank_node


def allowed_roles(method: str, path: str) -> frozenset[Role] | None:
    """The roles that may call the route; PUBLIC outside /v1; None if not classified."""
    if not path.startswith("/v1/"):
        return PUBLIC
    if (method, path) in ACCESS:
        return ACCESS[(method, path)]
    if method == "GET" and path.startswith(READ_ONLY_AREAS):
        return EVERY_ROLE
    return None


def routes(node: NodeProcess) -> list[tuple[str, str]]:
    """Every (method, path template) of the node's OpenAPI document."""
    paths = httpx.get(f"{node.url}/openapi.json").json()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    )


def call(node: NodeProcess, method: str, path: str, token: str | None) -> httpx.Response:
    filled = re.sub(
        r"\{(\w+)\}", lambda m: PARAMETERS.get(m.group(1), random_vin()), path
    )  # `vin` and unknown parameters: an unregistered VIN
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    body: dict[str, Any] = {"json": {}} if method != "GET" else {}
    return httpx.request(method, node.url + filled, headers=headers, timeout=30.0, **body)


def test_every_route_is_classified(bank_node: NodeProcess) -> None:
    unclassified = [r for r in routes(bank_node) if allowed_roles(*r) is None]
    assert unclassified == [], f"add these routes to ACCESS: {unclassified}"


@pytest.mark.parametrize("role", list(Role))
def test_each_role_is_allowed_or_refused_by_the_table(bank_node: NodeProcess, role: Role) -> None:
    checked = set()
    for method, path in routes(bank_node):
        allowed = allowed_roles(method, path)
        if not path.startswith("/v1/") or allowed is None:
            continue
        answer = call(bank_node, method, path, bank_node.keys[role])
        where = f"{role.value} {method} {path}: {answer.status_code} {answer.text[:200]}"
        if role in allowed:
            assert answer.status_code not in (401, 403), where
        else:
            assert answer.status_code == 403, where
            refusal = answer.json()
            assert refusal["error"] == "Forbidden", where
            assert all(r.value in refusal["message"] for r in allowed), where
        checked.add((method, path))
    assert {("POST", "/v1/loans"), ("POST", "/v1/alerts/{alert_id}/review")} <= checked


def test_no_key_or_a_revoked_key_is_401_everywhere_in_v1(bank_node: NodeProcess) -> None:
    engine = make_engine(bank_node.env["VCL_DATABASE_URL"])
    try:
        with make_session_factory(engine)() as session:
            revoked = create_key(session, Role.ADMIN, "staff-left")
            revoke_key(session, revoked.key_id)
    finally:
        engine.dispose()
    for method, path in routes(bank_node):
        if not path.startswith("/v1/"):
            continue
        for token in (None, revoked.token):
            answer = call(bank_node, method, path, token)
            assert answer.status_code == 401, f"{method} {path} with {token and 'revoked'}"
            assert answer.json()["error"] == "Unauthenticated"


def test_routes_outside_v1_need_no_key(bank_node: NodeProcess) -> None:
    for method, path in routes(bank_node):
        if allowed_roles(method, path) is PUBLIC and "{" not in path:
            assert call(bank_node, method, path, None).status_code not in (401, 403), path


def test_bank_b_cannot_act_on_bank_a_loan_and_sees_only_public_fields(
    bank_node: NodeProcess, other_bank_node: NodeProcess, chain: Chain
) -> None:
    vin, vehicle_id = scored_vehicle(bank_node, chain)
    applied = apply(bank_node, vin, borrower_ref="borrower-matrix-7")
    assert applied.status_code == 201, applied.text
    loan_id = applied.json()["loan_id"]
    for action in ("approve", "reject", "cancel"):
        for role in (Role.OFFICER, Role.ADMIN):
            answer = act(other_bank_node, loan_id, action, role=role)
            assert answer.status_code == 403, f"{action}: {answer.text}"
            assert answer.json()["error"] == "LoanNotLender"

    # Bank A's own node shows the references; bank B's node never does.
    assert wait_for(lambda: listed_loan(bank_node, loan_id, vehicle=vin)) is not None
    with bank_node.client(Role.AUDITOR) as client:
        assert client.get(f"/v1/loans/{loan_id}").json()["borrower_ref"] == "borrower-matrix-7"
        assert client.get(f"/v1/vehicles/{vin}").json()["owner_ref"] == "customer-0042"
    item = wait_for(lambda: listed_loan(other_bank_node, loan_id, vehicle=vehicle_id))
    assert item is not None
    assert item["borrower_ref"] is None
    assert item["state"] == "Applied"  # the consortium-public fields are there
    with other_bank_node.client(Role.AUDITOR) as client:
        seen = [
            client.get(f"/v1/loans/{loan_id}"),
            client.get(f"/v1/vehicles/{vin}"),
            client.get("/v1/vehicles", params={"limit": 200}),
            client.get(f"/v1/audit/loans/{loan_id}/history"),
            client.get(f"/v1/audit/vehicles/{vin}/history"),
        ]
    loan_view, vehicle_view = seen[0].json(), seen[1].json()
    assert loan_view["borrower_ref"] is None
    assert loan_view["borrower_commitment"] == applied.json()["borrower_commitment"]
    assert vehicle_view["owner_ref"] is None
    assert vehicle_view["vehicle_id"] == vehicle_id
    for answer in seen:
        assert answer.status_code in (200, 404), answer.text
        assert "borrower-matrix-7" not in answer.text
        assert "customer-0042" not in answer.text
