"""Kubo's RPC API over httpx: the production backend.

Every RPC call is a POST to `/api/v0/<command>` (Kubo refuses GET since 0.5). Kubo is a
storage service here, not a source of truth: `add` checks that Kubo computed the CID
this node computes for the bytes (so a Kubo configured with another chunker or link
limit is noticed at once instead of producing ids no peer can verify), and `cat`
recomputes the CID of every byte it receives, so a Kubo node or gateway that returns
substituted content raises `DocumentIntegrityError`.

`ipfshttpclient` is not used: its last release refuses every Kubo since 0.8.
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any, Self

import httpx

from node_api.documents.errors import (
    DocumentIntegrityError,
    DocumentNotFound,
    DocumentStoreError,
    DocumentStoreUnavailable,
    DocumentTooLarge,
)
from node_api.documents.store import DocumentStore
from vcl.cid import DEFAULT_CHUNK_SIZE, Cid, compute_cid, matches

DEFAULT_API_URL = "http://127.0.0.1:5001"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_CAT_BYTES = 64 * 1024 * 1024
_CONNECT_TIMEOUT_S = 5.0
# Margin so Kubo's own `timeout` option fires (with a message) before httpx gives up.
_CLIENT_TIMEOUT_MARGIN_S = 5.0
# How Kubo says that content could not be found locally or on the network in time.
_NOT_FOUND_MESSAGES = ("not found", "could not find", "context deadline exceeded")
_NOT_PINNED_MESSAGE = "is not pinned"

# Import options pinned explicitly, so a node's `Import.*` config cannot change the CID.
_ADD_PARAMS = {
    "cid-version": "1",
    "raw-leaves": "true",
    "hash": "sha2-256",
    "chunker": f"size-{DEFAULT_CHUNK_SIZE}",
    "pin": "true",
}


class KuboDocumentStore(DocumentStore):
    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_cat_bytes: int = DEFAULT_MAX_CAT_BYTES,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._api_url = api_url.rstrip("/")
        self._kubo_timeout = f"{timeout_s:g}s"
        self._max_cat_bytes = max_cat_bytes
        self._client = httpx.Client(
            base_url=f"{self._api_url}/api/v0",
            timeout=httpx.Timeout(timeout_s + _CLIENT_TIMEOUT_MARGIN_S, connect=_CONNECT_TIMEOUT_S),
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def add(self, data: bytes) -> str:
        expected = str(compute_cid(data))
        files = {"file": ("document", data, "application/octet-stream")}
        response = self._post("add", dict(_ADD_PARAMS), files=files)
        lines = [line for line in response.text.splitlines() if line.strip()]
        if not lines:
            raise DocumentStoreUnavailable("Kubo add answered without a result")
        returned = _field(_json_object(lines[-1], "add"), "Hash", "add")
        if returned != expected:
            raise DocumentIntegrityError(
                f"Kubo stored the document as {returned}, this node computes {expected}: "
                "the Kubo node's import settings differ from the consortium's "
                "(CIDv1, raw leaves, 256 KiB chunks, 174 links per node)"
            )
        return expected

    def cat(self, cid: str) -> bytes:
        parsed = Cid.parse(cid)
        params = {"arg": cid, "length": str(self._max_cat_bytes + 1)}
        data = self._post_capped("cat", params, cid)
        if not matches(parsed, data):
            raise DocumentIntegrityError(
                f"Kubo returned {len(data)} bytes for {cid} that do not hash to the CID"
            )
        return data

    def pin(self, cid: str) -> None:
        Cid.parse(cid)
        self._post("pin/add", {"arg": cid}, cid=cid)

    def is_pinned(self, cid: str) -> bool:
        Cid.parse(cid)
        try:
            response = self._post("pin/ls", {"arg": cid, "type": "recursive"}, cid=cid)
        except _NotPinned:
            return False
        keys = _json_object(response.text, "pin/ls").get("Keys")
        return isinstance(keys, dict) and bool(keys)

    def version(self) -> str:
        response = self._post("version", {})
        return f"kubo/{_field(_json_object(response.text, 'version'), 'Version', 'version')}"

    def _post(
        self,
        command: str,
        params: dict[str, str],
        *,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        cid: str | None = None,
    ) -> httpx.Response:
        params = {**params, "timeout": self._kubo_timeout}
        try:
            response = self._client.post(f"/{command}", params=params, files=files)
        except httpx.TransportError as exc:
            raise self._unreachable(command, exc) from exc
        if response.status_code != httpx.codes.OK:
            raise _error_for(command, response, cid)
        return response

    def _post_capped(self, command: str, params: dict[str, str], cid: str) -> bytes:
        """POST and read the answer as a stream, refusing more than `max_cat_bytes`."""
        params = {**params, "timeout": self._kubo_timeout}
        chunks: list[bytes] = []
        received = 0
        try:
            with self._client.stream("POST", f"/{command}", params=params) as response:
                if response.status_code != httpx.codes.OK:
                    response.read()
                    raise _error_for(command, response, cid)
                for chunk in response.iter_bytes():
                    received += len(chunk)
                    if received > self._max_cat_bytes:
                        raise DocumentTooLarge(received, self._max_cat_bytes, exact=False)
                    chunks.append(chunk)
        except httpx.TransportError as exc:
            raise self._unreachable(command, exc) from exc
        return b"".join(chunks)

    def _unreachable(self, command: str, exc: httpx.TransportError) -> DocumentStoreUnavailable:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        return DocumentStoreUnavailable(
            f"Kubo RPC {command} at {self._api_url} {kind}: {type(exc).__name__}: {exc}"
        )


class _NotPinned(DocumentStoreError):
    """Kubo's answer to `pin/ls` for a CID without a recursive pin (an error, for Kubo)."""


def _error_for(command: str, response: httpx.Response, cid: str | None) -> DocumentStoreError:
    message = _kubo_message(response)
    status = response.status_code
    if status == httpx.codes.INTERNAL_SERVER_ERROR and cid is not None:
        lowered = message.lower()
        if command == "pin/ls" and _NOT_PINNED_MESSAGE in lowered:
            return _NotPinned(message)
        if any(phrase in lowered for phrase in _NOT_FOUND_MESSAGES):
            return DocumentNotFound(cid, f"Kubo: {message}")
    if status >= httpx.codes.INTERNAL_SERVER_ERROR or status in (
        httpx.codes.NOT_FOUND,
        httpx.codes.METHOD_NOT_ALLOWED,
    ):
        return DocumentStoreUnavailable(f"Kubo RPC {command} answered {status}: {message}")
    return DocumentStoreError(f"Kubo RPC {command} refused the request ({status}): {message}")


def _kubo_message(response: httpx.Response) -> str:
    """Kubo's error text: `{"Message": ..., "Code": ..., "Type": "error"}`, or the raw body."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or "(empty body)"
    if isinstance(body, dict) and isinstance(body.get("Message"), str):
        return str(body["Message"])
    return json.dumps(body)[:500]


def _json_object(text: str, command: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError:
        raise DocumentStoreUnavailable(f"Kubo RPC {command} answered non-JSON") from None
    if not isinstance(body, dict):
        raise DocumentStoreUnavailable(f"Kubo RPC {command} answered {type(body).__name__}")
    return body


def _field(body: dict[str, Any], name: str, command: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise DocumentStoreUnavailable(f"Kubo RPC {command} answer has no {name!r}")
    return value
