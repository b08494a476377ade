"""Documents fetched from peer nodes (embedded store): an issuer's node holds a document,
a bank's node that never received it verifies it by fetching the envelope from its peers.

Node B's peers, asked in this order: a liar (a tiny HTTP server answering every CID with
other bytes), a peer that accepts connections and never answers, a peer that is down,
and the honest issuer's node A.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import api_server
import httpx
import pytest
from api_server import (
    OTHER_BANK_INDEX,
    NodeProcess,
    free_port,
    node_env,
    register,
    start_process,
    wait_for,
    wait_ready,
)

from node_api.api_keys import Role, create_key
from node_api.db import make_engine, make_session_factory, migrate
from vcl.cid import cid_string
from vcl.localchain import LocalChain

deployment = api_server.deployment
issuer_node = api_server.issuer_node

LIAR_BYTES = b"VCL1" + b"\x00" * 60
PEER_TIMEOUT_S = 1.0


class LiarPeer(ThreadingHTTPServer):
    """Answers every request with the same forged envelope, and records the keys sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _LiarHandler)
        self.tokens: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _LiarHandler(BaseHTTPRequestHandler):
    server: LiarPeer

    def do_GET(self) -> None:
        self.server.tokens.append(self.headers.get("Authorization", ""))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(LIAR_BYTES)))
        self.end_headers()
        self.wfile.write(LIAR_BYTES)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def liar() -> Iterator[LiarPeer]:
    server = LiarPeer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def silent_peer() -> Iterator[str]:
    """Listening but never accepting: the connection opens, no answer ever comes."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def bank_b(
    anvil: LocalChain,
    deployment: Path,
    issuer_node: NodeProcess,
    liar: LiarPeer,
    silent_peer: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[NodeProcess]:
    directory = tmp_path_factory.mktemp("bank-b-with-peers")
    env = node_env(anvil, deployment, directory, OTHER_BANK_INDEX)
    peers = [
        {"name": "liar", "url": liar.url, "api_key": "liar-key"},
        {"name": "silent", "url": silent_peer, "api_key": "silent-key"},
        {"name": "down", "url": f"http://127.0.0.1:{free_port()}", "api_key": "down-key"},
        {"name": "issuer", "url": issuer_node.url, "api_key": issuer_node.keys[Role.PEER]},
    ]
    env.update(VCL_NODE_PEERS=json.dumps(peers), VCL_NODE_PEER_TIMEOUT_S=str(PEER_TIMEOUT_S))
    migrate(env["VCL_DATABASE_URL"])
    engine = make_engine(env["VCL_DATABASE_URL"])
    try:
        with make_session_factory(engine)() as session:
            keys = {role: create_key(session, role, f"staff-{role.value}").token for role in Role}
    finally:
        engine.dispose()
    url, process, log_path = start_process(env, directory)
    node = NodeProcess(url, process, env, log_path, keys)
    wait_ready(node)
    yield node
    node.stop()


def upload_on(node: NodeProcess, vin: str, content: bytes) -> dict[str, str]:
    with node.client(Role.OFFICER) as client:
        answer = client.post(
            f"/v1/vehicles/{vin}/documents",
            files={"file": ("doc", content, "text/plain")},
            data={"doc_type": "maintenance"},
        )
    assert answer.status_code == 201, answer.text
    document: dict[str, str] = answer.json()
    return document


def verification(node: NodeProcess, cid: str) -> dict[str, object]:
    with node.client(Role.AUDITOR) as client:
        answer = client.get(f"/v1/documents/{cid}/verification")
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["documents"]
    checks = {c["name"]: c for c in result["checks"]}
    return {"status": result["status"], "checks": checks}


def envelope(node: NodeProcess, cid: str, role: Role | None = Role.AUDITOR) -> httpx.Response:
    with node.client(role) as client:
        return client.get(f"/v1/documents/{cid}/envelope")


def peer_fetches(node: NodeProcess, peer: str, outcome: str) -> int:
    wanted = f'vcl_peer_fetches_total{{peer="{peer}",outcome="{outcome}"}} '
    for line in httpx.get(f"{node.url}/metrics").text.splitlines():
        if line.startswith(wanted):
            return int(line.split()[-1])
    return 0


def test_a_document_uploaded_on_one_node_verifies_on_another(
    issuer_node: NodeProcess, bank_b: NodeProcess, liar: LiarPeer
) -> None:
    vin = register(bank_b).json()["vin"]
    plaintext = b"timing belt replaced at 96 000 km"
    document = upload_on(issuer_node, vin, plaintext)
    cid = document["cid"]
    assert envelope(bank_b, cid).status_code == 404  # B serves only what it holds

    result = verification(bank_b, cid)

    assert result["status"] == "verified", result
    assert peer_fetches(bank_b, "liar", "refused") >= 1
    assert peer_fetches(bank_b, "issuer", "fetched") == 1
    assert "Bearer liar-key" in liar.tokens  # each peer gets the key it issued
    log = bank_b.log()
    assert f"peer liar returned {len(LIAR_BYTES)} bytes for {cid}" in log
    assert "timing belt" not in log

    # The fetched envelope is kept: B now serves it, byte for byte what A stores.
    kept = envelope(bank_b, cid)
    assert kept.status_code == 200
    assert kept.content == envelope(issuer_node, cid).content
    assert cid_string(kept.content) == cid
    assert verification(bank_b, cid)["status"] == "verified"
    assert peer_fetches(bank_b, "issuer", "fetched") == 1  # not asked again

    def listed() -> list[dict[str, str]]:
        with bank_b.client(Role.AUDITOR) as client:
            items: list[dict[str, str]] = client.get(f"/v1/vehicles/{vin}/documents").json()[
                "items"
            ]
            return items

    [item] = wait_for(listed)
    assert item["cid"] == cid


def test_a_document_no_honest_peer_holds_is_unavailable_not_tampered(
    issuer_node: NodeProcess, bank_b: NodeProcess
) -> None:
    vin = register(bank_b).json()["vin"]
    cid = upload_on(issuer_node, vin, b"brake pads replaced")["cid"]
    stored = Path(issuer_node.env["VCL_NODE_STORE_DIR"]) / "objects" / cid[-2:] / cid
    os.remove(stored)  # the only honest copy is gone

    result = verification(bank_b, cid)

    assert result["status"] == "unavailable", result
    checks = result["checks"]
    assert isinstance(checks, dict)
    available = checks["content_available"]
    assert available["outcome"] == "unavailable"
    for peer in ("liar", "silent", "down", "issuer"):
        assert f"{peer}:" in available["detail"]
    assert "do not hash to the CID" in available["detail"]
    assert checks["issuer_signature"]["outcome"] == "passed"
    assert envelope(bank_b, cid).status_code == 404  # the forged bytes were not kept
    assert peer_fetches(bank_b, "issuer", "not_found") >= 1
    assert peer_fetches(bank_b, "down", "unavailable") >= 1
    assert peer_fetches(bank_b, "silent", "unavailable") >= 1


def test_the_envelope_endpoint_needs_a_key_and_a_cid(
    issuer_node: NodeProcess, bank_b: NodeProcess
) -> None:
    vin = register(bank_b).json()["vin"]
    cid = upload_on(issuer_node, vin, b"tyres rotated")["cid"]
    assert envelope(issuer_node, cid, role=None).status_code == 401
    with issuer_node.client(token="not-a-key") as client:
        assert client.get(f"/v1/documents/{cid}/envelope").status_code == 401
    assert envelope(issuer_node, "not-a-cid").status_code == 422
    missing = envelope(issuer_node, cid_string(b"never stored anywhere"))
    assert missing.status_code == 404
    assert missing.json()["error"] == "DocumentNotFound"
    served = envelope(issuer_node, cid)
    assert served.headers["content-type"] == "application/octet-stream"
    assert b"tyres rotated" not in served.content  # encrypted at rest and in transit
