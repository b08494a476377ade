"""The embedded default: a content-addressed store in a local directory.

No IPFS daemon is needed, yet a document gets the CID Kubo would give it, so a node can
move to Kubo later without re-anchoring anything. Content is stored whole, one file per
CID (`objects/<last two characters>/<cid>`, sharded like Kubo's flatfs), and pins are
empty marker files (`pins/<cid>`). Files are written to a temporary name, fsynced and
renamed, so a crash leaves either the whole object or none.

Nothing read back is trusted: every `cat` recomputes the CID of the bytes, whether they
come from this disk or from a peer node, so corruption and substitution are detected.
A content missing here is asked of the peers in turn (`peers`); a peer whose bytes do not
hash to the CID is refused and the next one asked, so a lying peer can make a document
unavailable on this node but never make it look tampered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import vcl
from node_api.documents.errors import (
    DocumentIntegrityError,
    DocumentNotFound,
    DocumentStoreError,
    DocumentStoreUnavailable,
)
from node_api.documents.peers import PeerOutcome, PeerSource
from node_api.documents.store import DocumentStore
from vcl.cid import Cid, compute_cid, matches
from vcl.durable_files import write_atomically

log = logging.getLogger(__name__)

PeerObserver = Callable[[str, PeerOutcome], None]


class EmbeddedDocumentStore(DocumentStore):
    def __init__(
        self,
        root: Path,
        peers: Sequence[PeerSource] = (),
        *,
        on_peer_answer: PeerObserver | None = None,
    ) -> None:
        self._objects = root / "objects"
        self._pins = root / "pins"
        self._peers = tuple(peers)
        self._on_peer_answer = on_peer_answer

    def add(self, data: bytes) -> str:
        cid = str(compute_cid(data))
        path = self._object_path(cid)
        if not self._holds_intact(path, cid):
            self._write(path, data)
        self._write(self._pins / cid, b"")
        return cid

    def cat(self, cid: str) -> bytes:
        try:
            return self.cat_local(cid)
        except DocumentNotFound:
            if not self._peers:
                raise DocumentNotFound(cid, "not held locally, no peers configured") from None
        return self._fetch_from_peers(Cid.parse(cid))

    def cat_local(self, cid: str) -> bytes:
        parsed = Cid.parse(cid)
        path = self._object_path(cid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DocumentNotFound(cid, "not held by this node") from None
        except OSError as exc:
            raise DocumentStoreUnavailable(f"cannot read {cid}: {exc}") from exc
        if not matches(parsed, data):
            raise DocumentIntegrityError(
                f"stored content of {cid} does not hash to its CID: the file {path} is corrupted"
            )
        return data

    def pin(self, cid: str) -> None:
        self.cat(cid)
        self._write(self._pins / str(Cid.parse(cid)), b"")

    def is_pinned(self, cid: str) -> bool:
        return (self._pins / str(Cid.parse(cid))).is_file()

    def version(self) -> str:
        try:
            self._objects.mkdir(parents=True, exist_ok=True)
            self._pins.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DocumentStoreUnavailable(f"cannot use {self._objects.parent}: {exc}") from exc
        return f"vcl-embedded/{vcl.__version__}"

    def _object_path(self, cid: str) -> Path:
        canonical = str(Cid.parse(cid))  # also keeps path separators out of file names
        return self._objects / canonical[-2:] / canonical

    def _holds_intact(self, path: Path, cid: str) -> bool:
        try:
            return matches(Cid.parse(cid), path.read_bytes())
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise DocumentStoreUnavailable(f"cannot read {path}: {exc}") from exc

    def _fetch_from_peers(self, cid: Cid) -> bytes:
        text = str(cid)
        refusals: list[str] = []
        for peer in self._peers:
            try:
                data = peer.fetch(text)
            except DocumentNotFound as exc:
                self._peer_answered(peer.name, PeerOutcome.NOT_FOUND)
                refusals.append(f"{peer.name}: {exc}")
                continue
            except DocumentStoreError as exc:
                self._peer_answered(peer.name, PeerOutcome.UNAVAILABLE)
                refusals.append(f"{peer.name}: {exc}")
                continue
            if not matches(cid, data):
                # Only the peer's name, the CID and a size: the envelope is never logged.
                log.warning(
                    "peer %s returned %d bytes for %s that do not hash to the CID: refused",
                    peer.name,
                    len(data),
                    text,
                )
                self._peer_answered(peer.name, PeerOutcome.REFUSED)
                refusals.append(f"{peer.name}: returned bytes that do not hash to the CID")
                continue
            self._peer_answered(peer.name, PeerOutcome.FETCHED)
            self._write(self._object_path(text), data)
            return data
        raise DocumentNotFound(text, "not held locally; " + "; ".join(refusals))

    def _peer_answered(self, name: str, outcome: PeerOutcome) -> None:
        if self._on_peer_answer is not None:
            self._on_peer_answer(name, outcome)

    def _write(self, path: Path, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, data, prefix=".incoming-")
        except OSError as exc:
            raise DocumentStoreUnavailable(f"cannot write {path}: {exc}") from exc
