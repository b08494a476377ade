from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from node_api.documents.embedded import EmbeddedDocumentStore
from node_api.documents.errors import (
    DocumentIntegrityError,
    DocumentNotFound,
    DocumentStoreError,
    DocumentStoreUnavailable,
)
from node_api.documents.peers import PeerOutcome
from vcl.cid import InvalidCid, cid_string

DOCUMENT = b"%PDF-1.7 repair record, odometer 48210 km"
MULTI_CHUNK = random.Random(5).randbytes(600_000)  # three chunks


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedDocumentStore:
    return EmbeddedDocumentStore(tmp_path)


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def object_file(root: Path, cid: str) -> Path:
    return root / "objects" / cid[-2:] / cid


@pytest.mark.parametrize("data", [DOCUMENT, MULTI_CHUNK, b""])
def test_round_trip_with_kubos_cid(store: EmbeddedDocumentStore, data: bytes) -> None:
    cid = store.add(data)
    assert cid == cid_string(data)
    assert store.cat(cid) == data
    assert store.is_pinned(cid)


def test_multi_chunk_document_gets_a_dag_pb_cid(store: EmbeddedDocumentStore) -> None:
    assert store.add(MULTI_CHUNK).startswith("bafybei")
    assert store.add(DOCUMENT).startswith("bafkrei")


def test_same_bytes_are_stored_once(store: EmbeddedDocumentStore, tmp_path: Path) -> None:
    first = store.add(DOCUMENT)
    before = stored_files(tmp_path)
    assert store.add(DOCUMENT) == first
    assert stored_files(tmp_path) == before
    assert [p.name for p in before] == [first, first]  # the object and its pin


def test_a_failed_write_leaves_no_object_and_no_temporary_file(
    store: EmbeddedDocumentStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", crash)
        with pytest.raises(DocumentStoreUnavailable, match="No space left"):
            store.add(DOCUMENT)
    assert stored_files(tmp_path) == []
    with pytest.raises(DocumentNotFound):
        store.cat(cid_string(DOCUMENT))
    assert store.cat(store.add(DOCUMENT)) == DOCUMENT


def test_a_crash_mid_write_is_never_visible_under_the_cid(
    store: EmbeddedDocumentStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[Path] = []

    def crash_before_sync(fd: int) -> None:
        written.extend(p for p in tmp_path.rglob(".incoming-*"))
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", crash_before_sync)
    with pytest.raises(DocumentStoreUnavailable):
        store.add(MULTI_CHUNK)
    assert written, "the bytes went to a temporary name first"
    assert stored_files(tmp_path) == []


def test_a_flipped_byte_on_disk_is_detected(store: EmbeddedDocumentStore, tmp_path: Path) -> None:
    cid = store.add(MULTI_CHUNK)
    path = object_file(tmp_path, cid)
    corrupted = bytearray(path.read_bytes())
    corrupted[300_000] ^= 0x01
    path.write_bytes(bytes(corrupted))
    with pytest.raises(DocumentIntegrityError, match="corrupted"):
        store.cat(cid)
    store.add(MULTI_CHUNK)  # adding the true bytes again repairs the object
    assert store.cat(cid) == MULTI_CHUNK


def test_substituted_file_on_disk_is_detected(store: EmbeddedDocumentStore, tmp_path: Path) -> None:
    cid = store.add(DOCUMENT)
    object_file(tmp_path, cid).write_bytes(DOCUMENT.replace(b"48210", b"18210"))
    with pytest.raises(DocumentIntegrityError):
        store.cat(cid)


def test_unknown_and_malformed_cids(store: EmbeddedDocumentStore) -> None:
    missing = cid_string(b"never added")
    with pytest.raises(DocumentNotFound, match="no peers configured"):
        store.cat(missing)
    with pytest.raises(DocumentNotFound):
        store.pin(missing)
    assert not store.is_pinned(missing)
    for bad in (
        "../../etc/passwd",
        "b../../etc/passwd",
        "QmUbBALi174SnogsUzLpYbD4xPiBSFANF4iztWCsHbMKh2",
    ):
        with pytest.raises(InvalidCid):
            store.cat(bad)


def test_version_names_the_backend(store: EmbeddedDocumentStore) -> None:
    assert store.version().startswith("vcl-embedded/")


@dataclass
class Peer:
    name: str
    content: dict[str, bytes] = field(default_factory=dict)
    down: bool = False

    def fetch(self, cid: str) -> bytes:
        if self.down:
            raise DocumentStoreUnavailable("connection refused")
        if cid not in self.content:
            raise DocumentNotFound(cid)
        return self.content[cid]


def test_a_document_missing_here_is_fetched_from_a_peer_and_kept(tmp_path: Path) -> None:
    cid = cid_string(MULTI_CHUNK)
    peer = Peer("bank-b", {cid: MULTI_CHUNK})
    store = EmbeddedDocumentStore(tmp_path, peers=[peer])
    assert store.cat(cid) == MULTI_CHUNK
    peer.content.clear()
    assert store.cat(cid) == MULTI_CHUNK  # now held locally
    store.pin(cid)
    assert store.is_pinned(cid)


def test_a_peer_substituting_content_is_refused(tmp_path: Path) -> None:
    """A lying peer makes the document unavailable here, never 'tampered': the anchored
    document is intact, only that peer's copy is not."""
    cid = cid_string(DOCUMENT)
    liar = Peer("bank-c", {cid: DOCUMENT.replace(b"48210", b"18210")})
    answers: list[tuple[str, PeerOutcome]] = []
    store = EmbeddedDocumentStore(
        tmp_path, peers=[liar], on_peer_answer=lambda *answer: answers.append(answer)
    )
    with pytest.raises(DocumentNotFound, match="bank-c: returned bytes that do not hash"):
        store.cat(cid)
    assert stored_files(tmp_path) == []
    assert answers == [("bank-c", PeerOutcome.REFUSED)]


def test_an_honest_peer_wins_over_a_lying_or_unreachable_one(tmp_path: Path) -> None:
    cid = cid_string(DOCUMENT)
    peers = [
        Peer("bank-c", {cid: b"forged"}),
        Peer("bank-d", down=True),
        Peer("bank-b", {cid: DOCUMENT}),
    ]
    assert EmbeddedDocumentStore(tmp_path, peers=peers).cat(cid) == DOCUMENT


def test_no_peer_has_it(tmp_path: Path) -> None:
    cid = cid_string(DOCUMENT)
    store = EmbeddedDocumentStore(tmp_path, peers=[Peer("bank-b"), Peer("bank-d", down=True)])
    with pytest.raises(DocumentNotFound, match="bank-d: connection refused") as raised:
        store.cat(cid)
    assert isinstance(raised.value, DocumentStoreError)
