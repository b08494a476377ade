"""The role and tenant matrix of the node API, through real node processes.

One table classifies every route of the app (its routes as the router holds them, those
left out of the OpenAPI document too): who may call it. The tests fail if a route is not in
the table, and check every route for every role, `peer` included: an allowed role is never
refused (not 401/403), a denied one gets 403 naming the roles allowed, and no key or a
revoked key gets 401. A `peer` key (what a bank hands another member's node) fetches
envelopes and nothing else. Across banks: bank B's node cannot act on bank A's loan, and
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
from fastapi.routing import iter_route_contexts
from loan_flow import act, apply, listed_loan, scored_vehicle
from oracle_reports import Chain

from node_api.api_keys import REVIEW_ROLES, WRITE_ROLES, Role, create_key, revoke_key
from node_api.app import create_app
from node_api.config import NodeSettings
from node_api.db import make_engine, make_session_factory
from vcl.config import Settings

EVERY_ROLE = frozenset(Role)
STAFF = EVERY_ROLE - {Role.PEER}  # the institution's own people
PUBLIC = frozenset[Role]()  # outside the matrix: no key needed

# (method, path template) -> the roles that may call it.
ACCESS: dict[tuple[str, str], frozenset[Role]] = {
    ("POST", "/v1/vehicles"): WRITE_ROLES,
    ("GET", "/v1/vehicles"): STAFF,
    ("GET", "/v1/vehicles/{vin}"): STAFF,
    ("POST", "/v1/vehicles/{vin}/documents"): WRITE_ROLES,
    ("GET", "/v1/vehicles/{vin}/documents"): STAFF,
    ("GET", "/v1/vehicles/{vin}/conditions"): STAFF,
    ("GET", "/v1/documents/{cid}/verification"): STAFF,
    ("GET", "/v1/documents/{cid}/envelope"): EVERY_ROLE,  # the one route of a peer
    ("POST", "/v1/loans"): WRITE_ROLES,
    ("POST", "/v1/loans/borrower-commitments"): WRITE_ROLES,
    ("POST", "/v1/loans/lien-consents"): WRITE_ROLES,
    ("GET", "/v1/loans"): STAFF,
    ("GET", "/v1/loans/{loan_id}"): STAFF,
    ("POST", "/v1/loans/{loan_id}/{action}"): WRITE_ROLES,
    ("GET", "/v1/alerts"): STAFF,
    ("GET", "/v1/alerts/{alert_id}"): STAFF,
    ("POST", "/v1/alerts/{alert_id}/review"): REVIEW_ROLES,
    ("GET", "/v1/me"): STAFF,
    ("GET", "/v1/dashboard/parameters"): STAFF,
    ("GET", "/v1/monitoring/daily"): STAFF,
    ("GET", "/v1/portfolio"): STAFF,
}
# Whole areas every staff role may read (audit trails, the consortium's governance).
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
        return STAFF
    return None


def routes(node: NodeProcess) -> list[tuple[str, str]]:
    """Every (method, path template) the app routes, read from the app itself (a route left
    out of the OpenAPI document is still here); checked against the running node's
    OpenAPI document, so the two cannot drift apart."""
    app = create_app(Settings(), NodeSettings())  # its routes only: not started
    found = sorted(
        (method, str(context.path))
        for context in iter_route_contexts(app.router.routes)
        for method in set(context.methods or ()) - {"HEAD"}
    )
    documented = httpx.get(f"{node.url}/openapi.json").json()["paths"]
    for path, operations in documented.items():
        for method in operations:
            if method in ("get", "post", "put", "patch", "delete"):
                assert (method.upper(), path) in found, f"{method} {path} not among the routes"
    return found


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


def test_a_peer_key_fetches_envelopes_and_nothing_else(
    bank_node: NodeProcess, chain: Chain
) -> None:
    """Issue 15, attack 4: the key a bank hands another member's node for fetching
    envelopes (`VCL_NODE_PEERS`) was a full auditor key; with it the other bank listed this
    bank's VINs, owner and borrower references. A `peer` key gets 403 on all of that."""
    vin, _ = scored_vehicle(bank_node, chain)
    applied = apply(bank_node, vin, borrower_ref="borrower-peer-3")
    assert applied.status_code == 201, applied.text
    loan_id = applied.json()["loan_id"]
    assert wait_for(lambda: listed_loan(bank_node, loan_id, vehicle=vin)) is not None
    with bank_node.client(Role.PEER) as peer:
        reads = [
            peer.get("/v1/vehicles", params={"limit": 200}),
            peer.get(f"/v1/vehicles/{vin}"),
            peer.get(f"/v1/vehicles/{vin}/documents"),
            peer.get("/v1/loans", params={"limit": 200}),
            peer.get(f"/v1/loans/{loan_id}"),
            peer.get(f"/v1/audit/loans/{loan_id}/history"),
            peer.get(f"/v1/audit/vehicles/{vin}/history"),
            peer.get("/v1/audit/export"),
            peer.get("/v1/me"),
        ]
        writes = [
            peer.post(
                "/v1/vehicles", json={"vin": random_vin(), "owner_ref": "x", "appraisal_value": 1}
            ),
            peer.post(f"/v1/loans/{loan_id}/cancel", json={}),
        ]
        envelope = peer.get(f"/v1/documents/{PARAMETERS['cid']}/envelope")
    for answer in (*reads, *writes):
        assert answer.status_code == 403, f"{answer.request.url}: {answer.text}"
        assert answer.json()["error"] == "Forbidden"
        assert "role peer may not" in answer.json()["message"]
        for secret in (vin, "customer-0042", "borrower-peer-3"):
            assert secret not in answer.text
    # The envelope route lets the peer in: this node simply does not hold that CID.
    assert envelope.status_code == 404, envelope.text
    # The same reads with the bank's own auditor key do show the references.
    with bank_node.client(Role.AUDITOR) as auditor:
        assert auditor.get(f"/v1/loans/{loan_id}").json()["borrower_ref"] == "borrower-peer-3"
    # Nothing was written by the refused writes.
    with bank_node.client(Role.AUDITOR) as auditor:
        assert auditor.get(f"/v1/loans/{loan_id}").json()["state"] == "Applied"
