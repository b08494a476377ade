"""`KuboDocumentStore` against the fake Kubo in `fake_kubo` (no real daemon exists here)."""

from __future__ import annotations

import socket

import httpx
import pytest
from fake_kubo import FakeKubo, kubo_error

from node_api.documents.errors import (
    DocumentIntegrityError,
    DocumentNotFound,
    DocumentStoreUnavailable,
    DocumentTooLarge,
)
from node_api.documents.kubo import KuboDocumentStore
from vcl.cid import InvalidCid, cid_string

DOCUMENT = b"%PDF-1.7 inspection report " * 100
MULTI_CHUNK = bytes(range(256)) * 3000  # 768000 bytes: three chunks


@pytest.fixture
def kubo() -> FakeKubo:
    return FakeKubo()


@pytest.fixture
def store(kubo: FakeKubo) -> KuboDocumentStore:
    return KuboDocumentStore("http://kubo.test:5001", transport=kubo.transport())


@pytest.mark.parametrize("data", [DOCUMENT, MULTI_CHUNK, b""])
def test_add_then_cat_round_trips_with_the_cid_this_node_computes(
    store: KuboDocumentStore, kubo: FakeKubo, data: bytes
) -> None:
    cid = store.add(data)
    assert cid == cid_string(data)
    assert store.cat(cid) == data
    assert cid in kubo.pins
    assert store.is_pinned(cid)


def test_add_pins_imports_and_posts_with_explicit_import_options(
    store: KuboDocumentStore, kubo: FakeKubo
) -> None:
    store.add(DOCUMENT)
    (request,) = kubo.requests
    assert request.method == "POST"
    assert request.url.path == "/api/v0/add"
    params = request.url.params
    assert params["cid-version"] == "1"
    assert params["raw-leaves"] == "true"
    assert params["pin"] == "true"
    assert params["chunker"] == "size-262144"


def test_substituted_content_from_kubo_is_caught(store: KuboDocumentStore, kubo: FakeKubo) -> None:
    cid = store.add(DOCUMENT)
    kubo.content[cid] = DOCUMENT.replace(b"inspection", b"INSPECTION")
    with pytest.raises(DocumentIntegrityError, match="do not hash to the CID"):
        store.cat(cid)


def test_substituted_multi_chunk_content_is_caught(
    store: KuboDocumentStore, kubo: FakeKubo
) -> None:
    cid = store.add(MULTI_CHUNK)
    kubo.content[cid] = MULTI_CHUNK[:-1] + b"\x00"
    with pytest.raises(DocumentIntegrityError):
        store.cat(cid)


def test_a_kubo_that_imports_differently_is_refused_at_add() -> None:
    kubo = FakeKubo(chunk_size=1024 * 1024, honours_chunker_option=False)
    store = KuboDocumentStore("http://kubo.test:5001", transport=kubo.transport())
    with pytest.raises(DocumentIntegrityError, match="import settings differ"):
        store.add(MULTI_CHUNK)


def test_unknown_cid_is_not_found(store: KuboDocumentStore) -> None:
    missing = cid_string(b"never added")
    with pytest.raises(DocumentNotFound, match=missing):
        store.cat(missing)
    with pytest.raises(DocumentNotFound):
        store.pin(missing)


def test_pin_and_is_pinned(store: KuboDocumentStore, kubo: FakeKubo) -> None:
    cid = store.add(DOCUMENT)
    kubo.pins.clear()
    assert not store.is_pinned(cid)
    store.pin(cid)
    assert store.is_pinned(cid)


def test_version(store: KuboDocumentStore) -> None:
    assert store.version() == "kubo/0.39.0"


def test_malformed_cid_is_refused_before_any_request(
    store: KuboDocumentStore, kubo: FakeKubo
) -> None:
    for call in (store.cat, store.pin, store.is_pinned):
        with pytest.raises(InvalidCid):
            call("not-a-cid")
    assert kubo.requests == []


def test_oversize_answer_is_cut_off() -> None:
    kubo = FakeKubo()
    store = KuboDocumentStore(
        "http://kubo.test:5001", max_cat_bytes=1000, transport=kubo.transport()
    )
    cid = store.add(DOCUMENT)
    kubo.content[cid] += b"x"  # a Kubo ignoring `length` must not make the node read it all
    with pytest.raises(DocumentTooLarge, match="more than 1000 bytes"):
        store.cat(cid)


@pytest.mark.parametrize("command", ["add", "cat", "version"])
def test_kubo_internal_error_is_unavailable(
    store: KuboDocumentStore, kubo: FakeKubo, command: str
) -> None:
    cid = cid_string(DOCUMENT)
    kubo.content[cid] = DOCUMENT
    kubo.failing[command] = kubo_error("failed to get block: datastore closed")
    with pytest.raises(DocumentStoreUnavailable, match="answered 500: failed to get block"):
        {
            "add": lambda: store.add(DOCUMENT),
            "cat": lambda: store.cat(cid),
            "version": store.version,
        }[command]()


def test_a_gateway_port_instead_of_the_rpc_port_is_unavailable(
    store: KuboDocumentStore, kubo: FakeKubo
) -> None:
    kubo.failing["version"] = httpx.Response(404, text="404 page not found")
    with pytest.raises(DocumentStoreUnavailable, match="answered 404"):
        store.version()


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more: a real refused connection.
    with (
        KuboDocumentStore(f"http://127.0.0.1:{port}", timeout_s=1) as store,
        pytest.raises(DocumentStoreUnavailable, match="failed: ConnectError"),
    ):
        store.version()


def test_timeout_is_unavailable() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    store = KuboDocumentStore("http://kubo.test:5001", transport=httpx.MockTransport(hang))
    with pytest.raises(DocumentStoreUnavailable, match=r"cat at http://kubo\.test:5001 timed out"):
        store.cat(cid_string(DOCUMENT))


def test_non_json_answer_is_unavailable(store: KuboDocumentStore, kubo: FakeKubo) -> None:
    kubo.failing["version"] = httpx.Response(200, text="<html>proxy login</html>")
    with pytest.raises(DocumentStoreUnavailable, match="non-JSON"):
        store.version()
