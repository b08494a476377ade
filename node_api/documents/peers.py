"""Other members' nodes as a source of documents the embedded store does not hold.

With the embedded store there is no IPFS network: a document uploaded through one
member's node lives on that node's disk. Another member's node that misses a CID asks
its configured peers in turn (`GET /v1/documents/{cid}/envelope` with an API key the peer
issued), and the store checks every fetched byte against the CID before keeping it, so a
peer can withhold content but never substitute it. A peer answers only from its own
disk, so two nodes missing the same CID never ask each other in a loop.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Protocol

import httpx
from pydantic import BaseModel, Field, SecretStr

from node_api.documents.errors import (
    DocumentNotFound,
    DocumentStoreUnavailable,
    DocumentTooLarge,
)

ENVELOPE_PATH = "/v1/documents/{cid}/envelope"
DEFAULT_PEER_TIMEOUT_S = 5.0


class PeerNode(BaseModel):
    """One peer in the settings (`VCL_NODE_PEERS`, a JSON list of these)."""

    name: str = Field(min_length=1, max_length=64, description="Shown in logs and metrics")
    url: str = Field(pattern=r"^https?://", description="The peer's node API base URL")
    api_key: SecretStr = Field(description="An API key the peer's node issued to this one")


class PeerSource(Protocol):
    """Another member's node, asked for content this node does not hold. Its answer is
    checked against the CID like anything else; it raises `DocumentNotFound` when it does
    not hold the CID and `DocumentStoreUnavailable` when it cannot answer."""

    name: str

    def fetch(self, cid: str) -> bytes: ...


class PeerOutcome(StrEnum):
    """What one peer did with one request: a metric label."""

    FETCHED = "fetched"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"
    REFUSED = "refused"  # its bytes did not hash to the CID


class HttpPeer:
    """A peer's node API over HTTP, bounded in time and size: a peer that is down, slow
    or sends too much costs this node at most `timeout_s` and `max_bytes`."""

    def __init__(
        self,
        node: PeerNode,
        *,
        timeout_s: float = DEFAULT_PEER_TIMEOUT_S,
        max_bytes: int,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = node.name
        self._timeout_s = timeout_s
        self._max_bytes = max_bytes
        self._client = httpx.Client(
            base_url=node.url.rstrip("/"),
            headers={"Authorization": f"Bearer {node.api_key.get_secret_value()}"},
            timeout=timeout_s,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def fetch(self, cid: str) -> bytes:
        deadline = time.monotonic() + self._timeout_s
        try:
            with self._client.stream("GET", ENVELOPE_PATH.format(cid=cid)) as response:
                if response.status_code == 404:
                    raise DocumentNotFound(cid, f"{self.name} does not hold it")
                if response.status_code != 200:
                    raise DocumentStoreUnavailable(
                        f"{self.name} answered HTTP {response.status_code}"
                    )
                return self._read_capped(response, deadline)
        except httpx.TimeoutException:
            raise DocumentStoreUnavailable(
                f"{self.name} did not answer within {self._timeout_s:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise DocumentStoreUnavailable(f"{self.name} is unreachable: {exc}") from None

    def _read_capped(self, response: httpx.Response, deadline: float) -> bytes:
        received = bytearray()
        for chunk in response.iter_bytes():
            received.extend(chunk)
            if len(received) > self._max_bytes:
                raise DocumentTooLarge(len(received), self._max_bytes, exact=False)
            # Per-read timeouts alone would let a peer trickle bytes for ever.
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("the answer took too long")
        return bytes(received)
