"""Request bodies at the edge, through a real node process (uvicorn): the key is checked and
the size refused before a body is read.

Issue 15, attack 6: an unauthenticated 30 MiB multipart upload was read and spooled to disk
before the 401, and JSON bodies had no limit. Here requests are sent over a plain socket:
the head and the first bytes of the body, never the rest. A server that reads the body
before it answers waits for the rest and the test times out; the node answers at once.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import api_server
import httpx
import pytest
from api_server import BANK_INDEX, MAX_UPLOAD_BYTES, NodeProcess, random_vin, register, start_node

from node_api.api.edge import MULTIPART_SLACK, known_routes
from node_api.api_keys import Role
from node_api.app import create_app
from node_api.config import NodeSettings
from vcl.config import Settings
from vcl.localchain import LocalChain
from vcl.sizes import human_bytes

MAX_JSON_BYTES = 2048
MULTIPART_LIMIT = 2 * MAX_UPLOAD_BYTES + MULTIPART_SLACK
HUGE = 30 * 1024 * 1024
BOUNDARY = "vcl-limits-boundary"
ANSWER_TIMEOUT_S = 10.0
STREAM_CHUNK = 64 * 1024
SPOOL_CHECK_AT = 25 * 1024 * 1024  # well past what the sockets' buffers hold

deployment = api_server.deployment  # the module's consortium


@pytest.fixture(scope="module")
def node(
    anvil: LocalChain, deployment: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NodeProcess]:
    started = start_node(
        anvil,
        deployment,
        tmp_path_factory.mktemp("limits-node"),
        BANK_INDEX,
        extra_env={"VCL_NODE_MAX_JSON_BYTES": str(MAX_JSON_BYTES)},
    )
    yield started
    started.stop()


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def exchange(node: NodeProcess, head: list[str], body_start: bytes) -> Answer:
    """Send a request's head and the first bytes of its body, never the rest, and read the
    answer (a server that waits for the whole body never answers: the test fails)."""
    url = httpx.URL(node.url)
    assert url.port is not None
    with socket.create_connection((url.host, url.port), timeout=ANSWER_TIMEOUT_S) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body_start)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                data += _recv(sock)
            raw_head, body = data.split(b"\r\n\r\n", 1)
            lines = raw_head.decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
            length = int(headers.get("content-length", "0"))
            while len(body) < length:
                body += _recv(sock)
        except TimeoutError:
            pytest.fail(f"no answer within {ANSWER_TIMEOUT_S} s: the node waited for the body")
    return Answer(int(lines[0].split()[1]), headers, body[:length])


def _recv(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise AssertionError("the node closed the connection without an answer")
    return chunk


def head_of(
    method: str, path: str, *, token: str | None, content_type: str, length: int | None
) -> list[str]:
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {content_type}"]
    head.append("Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}")
    if token is not None:
        head.append(f"Authorization: Bearer {token}")
    return head


def multipart_start() -> bytes:
    return (
        (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="doc_type"\r\n\r\nmaintenance\r\n'
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + b"%PDF-"
        + b"x" * 1024
    )


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def upload_head(vin: str, token: str | None, length: int | None) -> list[str]:
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    return head_of(
        "POST",
        f"/v1/vehicles/{vin}/documents",
        token=token,
        content_type=content_type,
        length=length,
    )


def test_an_unauthenticated_30_mib_upload_is_401_before_its_body_is_sent(
    node: NodeProcess,
) -> None:
    vin = register(node).json()["vin"]
    for token in (None, "vcl_0000_not-a-key"):
        declared = exchange(node, upload_head(vin, token, HUGE), multipart_start())
        assert declared.status == 401
        assert declared.json()["error"] == "Unauthenticated"
        assert declared.headers["www-authenticate"] == "Bearer"
        streamed = exchange(node, upload_head(vin, token, None), chunk(multipart_start()))
        assert streamed.status == 401
    # Roles that may not upload are refused before the body too, with the route's 403.
    for role in (Role.PEER, Role.REVIEWER, Role.AUDITOR):
        refused = exchange(node, upload_head(vin, node.keys[role], HUGE), multipart_start())
        assert refused.status == 403, role
        assert refused.json()["message"].startswith(f"role {role.value} may not write")
    # The upload handler never ran: nothing was anchored for the vehicle.
    with node.client(Role.AUDITOR) as client:
        assert client.get(f"/v1/vehicles/{vin}/documents").json()["items"] == []
    metrics = httpx.get(f"{node.url}/metrics").text
    counted = (
        'vcl_http_requests_total{method="POST",route="/v1/vehicles/{vin}/documents",status="401"}'
    )
    assert counted in metrics


def test_every_route_that_takes_a_body_checks_the_key_before_reading_it(
    node: NodeProcess,
) -> None:
    app = create_app(Settings(), NodeSettings())  # its routes only: not started
    with_body = [known for known in known_routes(app.router.routes) if known.needs.takes_body]
    assert len(with_body) >= 4  # vehicles, documents, loans, loan actions, alert reviews
    for known in with_body:
        assert known.needs.checks, f"{known.route.path} takes a body and needs no key"
        path = re.sub(
            r"\{(\w+)\}", lambda m: random_vin() if m[1] == "vin" else "1", known.route.path
        )
        for method in known.methods:
            answer = exchange(
                node,
                head_of(method, path, token=None, content_type="application/json", length=HUGE),
                b'{"padding": "',
            )
            assert answer.status == 401, f"{method} {path}: {answer.body!r}"


def test_a_declared_body_over_the_limit_is_413_before_it_is_sent(node: NodeProcess) -> None:
    officer = node.keys[Role.OFFICER]
    upload = exchange(node, upload_head(random_vin(), officer, HUGE), multipart_start())
    assert upload.status == 413
    refusal = upload.json()
    assert refusal["error"] == "BodyTooLarge"
    assert f"limit of {human_bytes(MULTIPART_LIMIT)}" in refusal["message"]
    assert "VCL_NODE_MAX_UPLOAD_BYTES" in refusal["message"]
    assert refusal["details"]["declared_bytes"] == HUGE

    json_head = head_of(
        "POST",
        "/v1/vehicles",
        token=officer,
        content_type="application/json",
        length=MAX_JSON_BYTES + 1,
    )
    too_long = exchange(node, json_head, b'{"vin": "')
    assert too_long.status == 413
    assert too_long.json()["details"]["limit_bytes"] == MAX_JSON_BYTES
    assert "VCL_NODE_MAX_JSON_BYTES" in too_long.json()["message"]


def test_a_body_without_a_length_is_cut_at_the_limit(node: NodeProcess) -> None:
    """Chunked bodies: counted as they arrive, refused as soon as the count passes the
    limit (the final chunk is never sent)."""
    officer = node.keys[Role.OFFICER]
    json_head = head_of(
        "POST", "/v1/vehicles", token=officer, content_type="application/json", length=None
    )
    padding = b'{"owner_ref": "' + b"x" * MAX_JSON_BYTES
    answer = exchange(node, json_head, chunk(padding))
    assert answer.status == 413
    assert answer.json()["error"] == "BodyTooLarge"
    assert answer.json()["details"]["declared_bytes"] is None

    vin = register(node).json()["vin"]
    streamed = multipart_start() + b"x" * MULTIPART_LIMIT
    upload = exchange(node, upload_head(vin, officer, None), chunk(streamed))
    assert upload.status == 413
    assert "VCL_NODE_MAX_UPLOAD_BYTES" in upload.json()["message"]
    with node.client(Role.AUDITOR) as client:
        assert client.get(f"/v1/vehicles/{vin}/documents").json()["items"] == []


def test_bodies_within_the_limits_are_served(node: NodeProcess) -> None:
    created = register(node)  # a few hundred bytes of JSON
    assert created.status_code == 201, created.text
    # Over the document limit but within the multipart limit: the edge lets it through and
    # the upload route refuses the document itself.
    with node.client(Role.OFFICER) as client:
        answer = client.post(
            f"/v1/vehicles/{created.json()['vin']}/documents",
            files={"file": ("a.pdf", b"%PDF-" + b"x" * MAX_UPLOAD_BYTES, "application/pdf")},
            data={"doc_type": "maintenance"},
        )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "DocumentTooLarge"


def spooled_files(pid: int) -> set[str]:
    """The deleted temporary files process `pid` holds open: where Starlette spools an
    upload past 1 MiB (`SpooledTemporaryFile`, unlinked at once)."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith(tempfile.gettempdir()) and target.endswith("(deleted)"):
            found.add(target)
    return found


def test_a_streamed_unauthenticated_upload_is_never_spooled_to_disk(node: NodeProcess) -> None:
    """httpx streaming 30 MiB without a key. While the client is still sending (25 MiB in),
    the node holds no spooled temporary file (before issue 15 it was writing the upload
    to one); the answer is 401 and the node stored nothing."""
    vin = register(node).json()["vin"]
    before = spooled_files(node.process.pid)
    seen_while_sending: set[str] | None = None

    def body() -> Iterator[bytes]:
        nonlocal seen_while_sending
        yield multipart_start()
        for sent in range(0, HUGE, STREAM_CHUNK):
            if sent == SPOOL_CHECK_AT:
                seen_while_sending = spooled_files(node.process.pid) - before
            yield b"x" * STREAM_CHUNK

    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    with (
        httpx.Client(base_url=node.url, timeout=60.0) as client,
        client.stream(
            "POST", f"/v1/vehicles/{vin}/documents", content=body(), headers=headers
        ) as answer,
    ):
        assert answer.status_code == 401
        assert json.loads(answer.read())["error"] == "Unauthenticated"
    assert seen_while_sending == set()
    with node.client(Role.AUDITOR) as client:
        assert client.get(f"/v1/vehicles/{vin}/documents").json()["items"] == []
    assert httpx.get(f"{node.url}/healthz").status_code == 200
