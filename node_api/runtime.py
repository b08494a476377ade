"""Everything a running node holds for the lifetime of the process: chain, database,
document store, verifier, indexer thread and metrics. Built by the app's lifespan."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from web3.contract import Contract
from web3.exceptions import Web3Exception
from web3.types import TxReceipt

from node_api.config import NodeSettings
from node_api.db import DatabaseUnavailable, check_migrated, make_engine, make_session_factory
from node_api.documents.crypto import MAX_OVERHEAD as ENVELOPE_OVERHEAD
from node_api.documents.embedded import EmbeddedDocumentStore
from node_api.documents.keys import DocumentKeyError, Keyring, load_keyring
from node_api.documents.kubo import KuboDocumentStore
from node_api.documents.peers import HttpPeer
from node_api.documents.policy import DocumentPolicy
from node_api.documents.publishing import foreign_key_warning
from node_api.documents.readers import ReaderDirectory
from node_api.documents.store import DocumentStore
from node_api.indexer import Indexer
from node_api.indexer.leader import index_while_leader, indexer_lock_file
from node_api.metrics import ApiMetrics
from node_api.verification import DocumentVerifier
from vcl.chain_views import ChainViews
from vcl.config import Settings
from vcl.contracts import deployed_contract
from vcl.errors import ChainUnavailable, TransactionError, TransactionReverted
from vcl.sender import TransactionSender, sender_from_settings
from vcl.vin_secrets import KeyringSource, VinKeyring

log = logging.getLogger(__name__)

T = TypeVar("T")

CONTRACT_NAMES = ("Consortium", "VehicleRegistry", "ConditionOracle", "LoanManager")
# How long a write waits for the index to hold its block, and how often it looks.
INDEXED_WAIT_S = 5.0
INDEXED_POLL_S = 0.005


def make_store(
    settings: Settings, node: NodeSettings, metrics: ApiMetrics
) -> tuple[DocumentStore, tuple[HttpPeer, ...]]:
    """The embedded store under `node.store_dir`, falling back on the peers of
    `node.peers`, or Kubo at `settings.ipfs_url` (IPFS finds other members' content)."""
    if settings.ipfs_url != "embedded":
        return KuboDocumentStore(settings.ipfs_url), ()
    peers = tuple(
        HttpPeer(
            peer,
            timeout_s=node.peer_timeout_s,
            max_bytes=node.max_upload_bytes + ENVELOPE_OVERHEAD,
        )
        for peer in node.peers
    )
    store = EmbeddedDocumentStore(node.store_dir, peers, on_peer_answer=metrics.peer_answer)
    return store, peers


def load_document_keys(node: NodeSettings, member: str) -> Keyring | None:
    """This member's keyring, or None when the node has none (an issuer's or operator's
    node: it seals for the readers and opens nothing). One of another member is refused."""
    if not node.document_key_file.exists():
        log.warning(
            "no document key file %s: this node opens no document envelope "
            "(a bank or auditor node needs `vcl node document-key create` and `publish`)",
            node.document_key_file,
        )
        return None
    keyring = load_keyring(node.document_key_file)
    if keyring.member != member:
        raise DocumentKeyError(
            f"{node.document_key_file} holds the document keys of {keyring.member}, "
            f"this node is {member}"
        )
    return keyring


@dataclass
class NodeRuntime:
    settings: Settings
    node: NodeSettings
    engine: Engine
    sessions: sessionmaker[Session]
    sender: TransactionSender
    contracts: dict[str, Contract]
    store: DocumentStore
    verifier: DocumentVerifier
    policy: DocumentPolicy
    readers: ReaderDirectory
    keyring: Keyring | None
    indexer: Indexer
    views: ChainViews
    vin_keyrings: KeyringSource
    metrics: ApiMetrics = field(default_factory=ApiMetrics)
    peers: tuple[HttpPeer, ...] = ()
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @classmethod
    def start(cls, settings: Settings, node: NodeSettings) -> NodeRuntime:
        """Refuses an unmigrated database (`DatabaseNotMigrated`) and an unreachable or
        wrong chain (`ChainUnavailable`) before anything runs."""
        engine = make_engine(settings.database_url)
        try:
            check_migrated(engine)
            sender = sender_from_settings(settings)
            contracts = {
                name: deployed_contract(sender.w3, settings, name) for name in CONTRACT_NAMES
            }
            metrics = ApiMetrics()
            store, peers = make_store(settings, node, metrics)
            keyring = load_document_keys(node, sender.address)
            if keyring is not None:
                try:
                    warning = foreign_key_warning(keyring, contracts["Consortium"])
                except (OSError, Web3Exception) as exc:
                    raise ChainUnavailable(f"reading this member's document key: {exc}") from exc
                if warning is not None:
                    log.warning("%s", warning)
            verifier = DocumentVerifier(
                sender.w3,
                contracts["VehicleRegistry"],
                contracts["Consortium"],
                store,
                keyring,
                engine=engine,
                from_block=node.indexer_start_block,
                cache_entries=node.verification_cache_entries,
            )
            indexer = Indexer.from_settings(settings, node, engine)
            vin_keyrings = KeyringSource(settings)
        except BaseException:
            engine.dispose()
            raise
        runtime = cls(
            settings=settings,
            node=node,
            engine=engine,
            sessions=make_session_factory(engine),
            sender=sender,
            contracts=contracts,
            store=store,
            verifier=verifier,
            policy=DocumentPolicy(max_bytes=node.max_upload_bytes),
            readers=ReaderDirectory(
                sender.w3, contracts["Consortium"], from_block=node.indexer_start_block
            ),
            keyring=keyring,
            indexer=indexer,
            views=ChainViews(sender.w3, contracts),
            vin_keyrings=vin_keyrings,
            metrics=metrics,
            peers=peers,
        )
        # A document the index does not hold yet is looked up again once it reached the head.
        verifier.await_indexed = runtime.await_indexed
        runtime._thread = threading.Thread(
            target=runtime._index, args=(runtime._stop,), name="indexer", daemon=True
        )
        runtime._thread.start()
        return runtime

    def _index(self, stop: threading.Event) -> None:
        """One worker: index. Several: index while this one holds the node's indexer lock."""
        if self.node.workers == 1 or self.settings.lock_dir is None:
            self.indexer.run_forever(stop)
            return
        lock = indexer_lock_file(self.settings.lock_dir, self.settings.database_url)
        index_while_leader(self.indexer, lock, stop)

    def stop(self) -> None:
        self._stop.set()
        self.indexer.wake()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if isinstance(self.store, KuboDocumentStore):
            self.store.close()
        for peer in self.peers:
            peer.close()
        self.engine.dispose()

    @property
    def vin_keyring(self) -> VinKeyring:
        """Every VIN secret this node holds now (`vcl.vin_secrets`)."""
        return self.vin_keyrings.keyring()

    @property
    def registry(self) -> Contract:
        return self.contracts["VehicleRegistry"]

    def transact(self, call: Any) -> TxReceipt:
        """Send through the core sender, counting what was mined and what failed."""
        return self.counted(lambda: self.sender.transact(call))

    def counted(self, send: Callable[[], T]) -> T:
        try:
            result = send()
        except TransactionReverted as exc:
            self.metrics.transaction_failed(exc.error_name or "undecoded")
            raise
        except TransactionError:
            self.metrics.transaction_failed("unavailable")
            raise
        except (OSError, Web3Exception) as exc:  # the node stopped answering mid-send
            self.metrics.transaction_failed("unavailable")
            raise ChainUnavailable(f"sending the transaction failed: {exc}") from exc
        self.metrics.transaction_sent()
        block = (
            result.get("blockNumber")
            if isinstance(result, Mapping)
            else getattr(result, "block_number", None)
        )
        if isinstance(block, int):  # a receipt, or what a write made of one
            self.await_indexed(block)
        return result

    def await_indexed(self, block_number: int) -> bool:
        """Wait (at most `INDEXED_WAIT_S`) until the index holds `block_number`, so that the
        answer to a write is followed by reads that see it. False if it did not get there:
        confirmations hold it back, or the indexer is failing (its metrics say why); the
        write is done either way."""
        if self.node.indexer_confirmations > 0:
            return False
        deadline = time.monotonic() + INDEXED_WAIT_S
        while True:
            self.indexer.wake()
            try:
                cursor = self.indexer.store.cursor()
            except DatabaseUnavailable:
                return False
            if cursor is not None and cursor.number >= block_number:
                return True
            if time.monotonic() > deadline or self._stop.is_set():
                log.warning("block %s not indexed after %.0f s", block_number, INDEXED_WAIT_S)
                return False
            time.sleep(INDEXED_POLL_S)

    def read(self, what: str, call: Callable[[], T]) -> T:
        """A chain read, its outage typed as `ChainUnavailable` (a 503)."""
        try:
            return call()
        except (OSError, Web3Exception) as exc:
            raise ChainUnavailable(f"reading {what} from the chain failed: {exc}") from exc
