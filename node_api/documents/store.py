"""The one small interface every document store backend implements.

Methods are synchronous and may block on disk or network: call them from a worker
thread (FastAPI runs plain `def` routes in its threadpool), never inside `async def`.
CIDs are base32 CIDv1 strings (`vcl.cid`); a malformed one raises `vcl.cid.InvalidCid`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class DocumentStore(ABC):
    @abstractmethod
    def add(self, data: bytes) -> str:
        """Store `data`, pin it, and return its CID (the same on every backend)."""

    @abstractmethod
    def cat(self, cid: str) -> bytes:
        """The content of `cid`, every byte checked against the CID before it is returned."""

    def cat_local(self, cid: str) -> bytes:
        """The content of `cid` as this node holds it, without asking peer nodes: what a
        node serves its peers, so two nodes missing a CID never ask each other in a loop.
        A backend without peers of its own (Kubo: IPFS does the fetching) serves `cat`."""
        return self.cat(cid)

    @abstractmethod
    def pin(self, cid: str) -> None:
        """Keep `cid` from garbage collection; fetch it first where the backend can."""

    @abstractmethod
    def is_pinned(self, cid: str) -> bool: ...

    @abstractmethod
    def version(self) -> str:
        """The backend's name and version; doubles as a readiness probe."""
