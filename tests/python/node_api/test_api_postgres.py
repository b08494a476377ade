"""The main flow of the node API on PostgreSQL (a throwaway real server): register, read,
list after indexing, anchor and verify a document, retry idempotently."""

from __future__ import annotations

from pathlib import Path

import api_server
import pytest
from api_server import BANK_INDEX, ISSUER_INDEX, random_vin, start_node, wait_for

from node_api.api_keys import Role
from vcl.localchain import LocalChain

deployment = api_server.deployment


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_main_flow_on_postgresql(
    anvil: LocalChain, deployment: Path, database_url: str, tmp_path: Path
) -> None:
    node = start_node(anvil, deployment, tmp_path / "node", BANK_INDEX, database_url)
    issuer = start_node(anvil, deployment, tmp_path / "issuer", ISSUER_INDEX)
    try:
        vin = random_vin()
        headers = {"Idempotency-Key": "pg-1"}
        body = {"vin": vin, "owner_ref": "customer-pg", "appraisal_value": 3_000_000}
        with node.client(Role.OFFICER) as client:
            created = client.post("/v1/vehicles", json=body, headers=headers)
            assert created.status_code == 201, created.text
            retry = client.post("/v1/vehicles", json=body, headers=headers)
            assert retry.json() == created.json()
            assert client.post("/v1/vehicles", json=body).status_code == 409
            assert client.get(f"/v1/vehicles/{vin}").json()["owner_ref"] == "customer-pg"

            def listed() -> bool:
                page = client.get("/v1/vehicles", params={"has_lien": "false"}).json()
                return any(i["vin"] == vin for i in page["items"])

            assert wait_for(listed)

        with issuer.client(Role.OFFICER) as client:
            document = client.post(
                f"/v1/vehicles/{vin}/documents",
                files={"file": ("r.json", b'{"km": 1000}', "application/json")},
                data={"doc_type": "inspection"},
            )
        assert document.status_code == 201, document.text

        with node.client(Role.AUDITOR) as client:
            items = wait_for(lambda: client.get(f"/v1/vehicles/{vin}/documents").json()["items"])
            assert [i["cid"] for i in items] == [document.json()["cid"]]
        with issuer.client(Role.AUDITOR) as client:
            result = client.get(f"/v1/documents/{document.json()['cid']}/verification").json()
        assert [d["status"] for d in result["documents"]] == ["verified"]
    finally:
        node.stop()
        issuer.stop()
