"""API keys and roles through a real node API process: 401 without a valid key, 403 for
a role that may not write, keys created and revoked with `vcl node keys`."""

from __future__ import annotations

import subprocess
import sys

import api_server
import httpx
import pytest
from api_server import (
    NodeProcess,
    random_vin,
    register,
    wait_for,
)

from node_api.api_keys import Role
from vcl.localchain import REPO_ROOT

READS = ("/v1/vehicles", "/v1/vehicles/{vin}", "/v1/vehicles/{vin}/documents")


# The module's fixtures: one consortium and node processes for all its tests.
bank_node = api_server.bank_node
deployment = api_server.deployment
other_bank_node = api_server.other_bank_node


def vcl(node: NodeProcess, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "import vcl_cli; vcl_cli.main()", "node", *args],
        env=node.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


@pytest.mark.parametrize("token", [None, "Bearer", "vcl_0000_not-a-key", "Basic abc"])
def test_requests_without_a_valid_key_are_401(bank_node: NodeProcess, token: str | None) -> None:
    vin = register(bank_node).json()["vin"]
    headers = (
        {}
        if token is None
        else {"Authorization": token if token[0].isupper() else f"Bearer {token}"}
    )
    for path in (*READS, "/v1/documents/bafkreiexample/verification"):
        answer = httpx.get(bank_node.url + path.format(vin=vin), headers=headers)
        assert answer.status_code == 401, path
        assert answer.json()["error"] == "Unauthenticated"
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    body = {"vin": random_vin(), "owner_ref": "x", "appraisal_value": 1}
    assert httpx.post(f"{bank_node.url}/v1/vehicles", json=body, headers=headers).status_code == 401


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.AUDITOR])
def test_roles_that_may_not_write_get_403_and_change_nothing(
    bank_node: NodeProcess, role: Role
) -> None:
    vin = random_vin()
    with bank_node.client(role) as client:
        answer = client.post(
            "/v1/vehicles", json={"vin": vin, "owner_ref": "x", "appraisal_value": 1}
        )
        assert answer.status_code == 403
        assert answer.json()["error"] == "Forbidden"
        assert role.value in answer.json()["message"]
        upload = client.post(
            f"/v1/vehicles/{vin}/documents",
            files={"file": ("a.txt", b"hello", "text/plain")},
            data={"doc_type": "maintenance"},
        )
        assert upload.status_code == 403
        assert client.get(f"/v1/vehicles/{vin}").status_code == 404  # nothing registered
        assert client.get("/v1/vehicles").status_code == 200  # reading is allowed


@pytest.mark.parametrize("role", [Role.OFFICER, Role.ADMIN])
def test_officers_and_admins_write(bank_node: NodeProcess, role: Role) -> None:
    with bank_node.client(role) as client:
        answer = client.post(
            "/v1/vehicles", json={"vin": random_vin(), "owner_ref": "x", "appraisal_value": 1}
        )
    assert answer.status_code == 201, answer.text


def test_a_key_created_by_the_command_works_until_revoked(bank_node: NodeProcess) -> None:
    out = vcl(bank_node, "keys", "create", "--role", "auditor", "--person-ref", "staff-991")
    key_line, token = out.strip().splitlines()
    key_id = key_line.split()[2]
    assert token.startswith(f"vcl_{key_id}_")
    with bank_node.client(token=token) as client:
        assert client.get("/v1/vehicles").status_code == 200
        listing = vcl(bank_node, "keys", "list")
        assert key_id in listing
        assert "staff-991" in listing
        assert token not in listing
        vcl(bank_node, "keys", "revoke", key_id)
        answer = client.get("/v1/vehicles")
    assert answer.status_code == 401
    assert "revoked" in answer.json()["message"]
    assert token not in bank_node.log()


def test_another_bank_sees_only_the_consortium_public_fields(
    bank_node: NodeProcess, other_bank_node: NodeProcess
) -> None:
    created = register(bank_node).json()
    with other_bank_node.client(Role.AUDITOR) as client:
        view = client.get(f"/v1/vehicles/{created['vin']}").json()
        assert view["vehicle_id"] == created["vehicle_id"]
        assert view["owner_commitment"] == created["owner_commitment"]
        assert view["owner_ref"] is None  # the borrower's reference stays with bank A

        def listed() -> dict[str, object] | None:
            page = client.get("/v1/vehicles", params={"limit": 200}).json()
            return next(
                (i for i in page["items"] if i["vehicle_id"] == created["vehicle_id"]), None
            )

        item = wait_for(listed)
    assert item is not None
    assert item["vin"] is None  # the plain VIN is only in bank A's database
    assert "customer-0042" not in str(item)


def test_a_peer_key_created_by_the_command_fetches_envelopes_only(bank_node: NodeProcess) -> None:
    out = vcl(bank_node, "keys", "create", "--role", "peer", "--person-ref", "peer-bank-b")
    key_line, token = out.strip().splitlines()
    assert "(peer, peer-bank-b)" in key_line
    cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    with bank_node.client(token=token) as client:
        assert client.get(f"/v1/documents/{cid}/envelope").status_code == 404  # not held
        refused = client.get("/v1/vehicles")
    assert refused.status_code == 403
    assert refused.json()["message"].startswith("role peer may not")
    assert "peer" in vcl(bank_node, "keys", "list")
