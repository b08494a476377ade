"""Finding a CID's anchors on a node is answered from its index (issue 15, item 8): before,
every verification of a CID nobody anchored read every `DocumentAnchored` event from block 0
over RPC (anyone with a key could make the node scan the chain's history at will). Now
the chain is read only past the index's cursor, and not at all when that is too far. A
verification (issue 16 item 5) reads no logs at all: a miss waits for the index instead."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chain_activity import register_vehicle, vehicle_id
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint, RPCResponse

from node_api import verification
from node_api.config import NodeSettings
from node_api.db import make_engine, migrate
from node_api.documents.embedded import EmbeddedDocumentStore
from node_api.indexer import Indexer
from node_api.verification import DocumentVerifier, IndexBehind, UnknownDocument
from vcl.cid import compute_cid
from vcl.config import Settings
from vcl.sender import TransactionSender

UNKNOWN_CID = str(compute_cid(b"an envelope nobody anchored"))


class RecordingProvider(HTTPProvider):
    """Anvil's RPC, recording every `eth_getLogs` range asked."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.log_ranges: list[tuple[int, int]] = []

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if method == "eth_getLogs":
            query = params[0]
            self.log_ranges.append((int(query["fromBlock"], 16), int(query["toBlock"], 16)))
        return super().make_request(method, params)


def verifier_on(
    settings: Settings, system: dict[str, Any], engine: Any, tmp_path: Path
) -> tuple[DocumentVerifier, RecordingProvider]:
    provider = RecordingProvider(settings.rpc_url)
    w3 = Web3(provider)

    def bound(name: str) -> Any:
        return w3.eth.contract(address=system[name].address, abi=system[name].abi)

    verifier = DocumentVerifier(
        w3,
        bound("VehicleRegistry"),
        bound("Consortium"),
        EmbeddedDocumentStore(tmp_path / "store"),
        None,  # type: ignore[arg-type]  # no envelope is opened here
        engine=engine,
    )
    return verifier, provider


def indexed_database(settings: Settings, tmp_path: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    migrate(url)
    return make_engine(url)


def test_an_unknown_cid_is_answered_from_the_index(
    settings: Settings,
    system: dict[str, Any],
    sender_for: Callable[[int], TransactionSender],
    tmp_path: Path,
) -> None:
    engine = indexed_database(settings, tmp_path)
    indexer = Indexer.from_settings(settings, NodeSettings(), engine)
    indexer.catch_up()
    verifier, provider = verifier_on(settings, system, engine, tmp_path)
    head = verifier.w3.eth.block_number

    with pytest.raises(UnknownDocument):
        verifier.verify_cid(UNKNOWN_CID)
    assert provider.log_ranges == []  # the index holds every block: no scan at all

    # Blocks the indexer has not reached yet are not scanned either: a miss waits for the
    # index to reach the chain's head, as every indexed read's does, or says it is behind.
    register_vehicle(
        sender_for(1), system["VehicleRegistry"], vehicle_id("past the cursor"), 25_000_00
    )
    with pytest.raises(IndexBehind):
        verifier.verify_cid(UNKNOWN_CID)

    def catch_up(block: int) -> bool:
        indexer.catch_up()
        return True

    verifier.await_indexed = catch_up
    with pytest.raises(UnknownDocument):
        verifier.verify_cid(UNKNOWN_CID)
    assert provider.log_ranges == []
    assert head > 0
    # Still, a tool asking for the anchors of a CID reads the blocks past the cursor.
    cursor = indexer.store.cursor()
    assert cursor is not None
    register_vehicle(
        sender_for(1), system["VehicleRegistry"], vehicle_id("past it again"), 25_000_00
    )
    assert verifier.document_ids_for_cid(UNKNOWN_CID) == []
    assert provider.log_ranges == [(cursor.number + 1, verifier.w3.eth.block_number)]
    engine.dispose()


def test_an_index_too_far_behind_refuses_instead_of_scanning(
    settings: Settings, system: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = indexed_database(settings, tmp_path)  # never indexed: no cursor
    verifier, provider = verifier_on(settings, system, engine, tmp_path)
    monkeypatch.setattr(verification, "UNINDEXED_SCAN_LIMIT", 2)
    with pytest.raises(IndexBehind) as refused:
        verifier.verify_cid(UNKNOWN_CID)
    assert "retry when the indexer has caught up" in str(refused.value)
    assert provider.log_ranges == []
    engine.dispose()


def test_without_a_node_database_a_tool_still_reads_the_chain(
    settings: Settings, system: dict[str, Any], tmp_path: Path
) -> None:
    verifier, provider = verifier_on(settings, system, None, tmp_path)
    with pytest.raises(UnknownDocument):
        verifier.verify_cid(UNKNOWN_CID)
    assert provider.log_ranges[0][0] == 0
