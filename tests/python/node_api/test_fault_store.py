"""The document store unreachable under a node API process that stores in Kubo.

The fake Kubo (`fake_kubo`) is served over real HTTP on a fixed port and stopped: uploads
answer 503 `DocumentStoreUnavailable` and nothing is anchored on-chain, verification says
`unavailable` (an answer, not a 5xx), readiness names the store. Started again on the same
port with the same content (a daemon restarted on its repository), the node recovers by
itself: the same upload succeeds and every document's content is delivered again. (The
issuer's node seals for the readers and holds no document key: it checks that the content
is there and matches its CID, while opening the envelope is a reader's check.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_server import (
    BANK_INDEX,
    BUILD_DIR,
    ISSUER_INDEX,
    NodeProcess,
    deployed_consortium,
    document_key_file,
    free_port,
    random_vin,
    start_node,
    wait_for,
)
from fake_kubo import FakeKubo

from node_api.api.routes.vehicles import owner_commitment
from node_api.api_keys import Role
from vcl.artifacts import load_artifact
from vcl.config import DEV_VIN_SECRET, KeySource, Settings
from vcl.deployments import DeploymentRecord
from vcl.localchain import LocalChain
from vcl.sender import TransactionSender, sender_from_settings
from vcl.vin import vehicle_id


class KuboHttpServer:
    """`FakeKubo` behind a real HTTP listener, so a node process reaches it as it would Kubo;
    `stop` and `start` again on the same port keep the fake's content."""

    def __init__(self, fake: FakeKubo, port: int) -> None:
        self.fake = fake
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> KuboHttpServer:
        fake = self.fake

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = httpx.Request(
                    "POST",
                    f"http://127.0.0.1{self.path}",
                    headers=dict(self.headers.items()),
                    content=body,
                )
                answer = fake.handle(request)
                self.send_response(answer.status_code)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def kubo() -> Iterator[KuboHttpServer]:
    server = KuboHttpServer(FakeKubo(), free_port()).start()
    yield server
    server.stop()


def bank_sender(anvil: LocalChain, deployment: Path) -> TransactionSender:
    return sender_from_settings(
        Settings(
            rpc_url=anvil.rpc_url,
            key_source=KeySource.DEV,
            build_dir=BUILD_DIR,
            deployment_file=deployment,
            dev_account_index=BANK_INDEX,
        )
    )


def registered_vin(sender: TransactionSender, deployment: Path) -> str:
    """A vehicle registered by a bank, straight on-chain (the issuer's node cannot)."""
    vin = random_vin()
    registry = sender.w3.eth.contract(
        address=DeploymentRecord(deployment).address(sender.chain_id, "VehicleRegistry"),
        abi=load_artifact(BUILD_DIR, "VehicleRegistry").abi,
    )
    latest = sender.w3.eth.get_block("latest")["timestamp"]
    commitment = owner_commitment(b"\x01" * 32, "customer-0042")
    sender.transact(
        registry.functions.registerVehicle(
            vehicle_id(vin, DEV_VIN_SECRET.encode()), commitment, 2_000_000, latest
        )
    )
    return vin


def anchored_on_chain(sender: TransactionSender, deployment: Path) -> int:
    registry = sender.w3.eth.contract(
        address=DeploymentRecord(deployment).address(sender.chain_id, "VehicleRegistry"),
        abi=load_artifact(BUILD_DIR, "VehicleRegistry").abi,
    )
    return len(list(registry.events.DocumentAnchored.get_logs(from_block=0)))


def upload(node: NodeProcess, vin: str, content: bytes, key: str) -> httpx.Response:
    with node.client(Role.OFFICER) as client:
        return client.post(
            f"/v1/vehicles/{vin}/documents",
            files={"file": ("doc", content, "text/plain")},
            data={"doc_type": "maintenance"},
            headers={"Idempotency-Key": key},
        )


def content_status(node: NodeProcess, cid: str) -> tuple[int, list[str]]:
    """The verification's answer and, per anchor, whether the store delivered the content."""
    with node.client(Role.AUDITOR) as client:
        answer = client.get(f"/v1/documents/{cid}/verification")
    if answer.status_code != 200:
        return answer.status_code, []
    documents = answer.json()["documents"]
    checks = [{c["name"]: c["outcome"] for c in d["checks"]} for d in documents]
    return 200, [c["content_available"] for c in checks]


def ready(node: NodeProcess) -> httpx.Response:
    return httpx.get(f"{node.url}/readyz", timeout=30)


def test_an_unreachable_document_store_refuses_uploads_and_recovers_by_itself(
    anvil: LocalChain, tmp_path: Path, kubo: KuboHttpServer
) -> None:
    deployment = deployed_consortium(anvil, tmp_path / "consortium")
    document_key_file(anvil, deployment, tmp_path / "bank", BANK_INDEX)  # a reader to seal for
    node = start_node(
        anvil, deployment, tmp_path / "issuer", ISSUER_INDEX, extra_env={"VCL_IPFS_URL": kubo.url}
    )
    try:
        sender = bank_sender(anvil, deployment)
        vin = registered_vin(sender, deployment)
        first = upload(node, vin, b"oil changed at 42 000 km", "upload-1")
        assert first.status_code == 201, first.text
        first_cid = first.json()["cid"]
        assert first_cid in kubo.fake.pins  # stored in Kubo, not in an embedded store
        assert content_status(node, first_cid) == (200, ["passed"])

        kubo.stop()
        refused = upload(node, vin, b"brakes replaced at 43 000 km", "upload-2")
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "DocumentStoreUnavailable"
        assert anchored_on_chain(sender, deployment) == 1  # nothing anchored without its bytes
        # The bytes cannot be fetched: the verification says so instead of failing.
        assert content_status(node, first_cid) == (200, ["unavailable"])
        readiness = ready(node)
        assert readiness.status_code == 503
        assert readiness.json()["failing"] == ["store"]

        kubo.start()
        assert wait_for(lambda: ready(node).status_code == 200, 20), ready(node).text
        retried = upload(node, vin, b"brakes replaced at 43 000 km", "upload-2")
        assert retried.status_code == 201, retried.text
        assert content_status(node, retried.json()["cid"]) == (200, ["passed"])
        assert content_status(node, first_cid) == (200, ["passed"])
        assert anchored_on_chain(sender, deployment) == 2
    finally:
        node.stop()
