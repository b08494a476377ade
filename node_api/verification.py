"""Off-chain verification of anchored documents ("on-chain data + off-chain verification").

A document is trusted for what is signed and anchored, never for where its bytes came
from. Verifying one reads its anchor from the chain (the registry's `document(id)` view
and its `DocumentAnchored` event, which alone carries the CID), fetches the envelope by
CID from the document store, and runs these checks, each reported with its outcome:

- `content_available`: the store delivered bytes for the CID.
- `content_matches_cid`: those bytes hash to the CID (the store re-hashes what it reads).
- `envelope_opens`: this node's document key unwraps the envelope's data key and the
  envelope authenticates. A node that is not a recipient (an issuer's or an operator's
  node, a member that was no reader at sealing) cannot make this check: `unavailable`,
  never `tampered`, since another reader may open it.
- `content_hash`: the salted hash sha256(salt | plaintext), the salt taken from inside the
  envelope, equals the anchored contentHash.
- `issuer_signature`: the issuer's EIP-712 signature, read back from the calldata of the
  anchoring transaction, recovers to the anchored issuer, and the signed fields hash to
  the document id. The registry refuses a bad signature at anchoring; this re-checks it
  without trusting the node that reports the anchor.
- `not_revoked`: the registry does not count the document revoked (`isDocumentRevoked`):
  neither its issuer revoked it nor did a governance vote revoke its issuer's documents
  anchored up to a cutoff (`RevokeIssuerDocuments`), which holds even after the issuer is
  reinstated. The detail says which.
- `issuer_active`: the issuer holds ISSUER_ROLE now (a registered member of kind
  DocumentIssuer with status Active).

The overall status is decided by precedence, most severe first:

    tampered > bad_signature > revoked > unknown_issuer > unavailable > verified

A check that fails names its status (`content_matches_cid`, `envelope_opens` and
`content_hash` -> tampered; `issuer_signature` -> bad_signature; `not_revoked` -> revoked;
`issuer_active` -> unknown_issuer), and the most severe failure wins. `unavailable`
means that no check failed but one could not be made (the store cannot deliver the
bytes, or the signature is not in the anchoring transaction's calldata): it ranks below
every definite failure, so an unreachable store never hides that a document is revoked
or its issuer suspended, and `verified` needs every check passed. Checks that depend on
one that did not pass are `skipped`.

Chain reads are pinned to one block (`checked_at_block`), so the view and the events
agree. A chain that does not answer raises `ChainUnavailable`; an id or CID with no
anchor raises `UnknownDocument`: neither is a verification result.

On a node (a verifier with the node database, `engine`) the anchor, its CID, both
revocations and the issuer's status come from the index instead (`proj_documents`,
`proj_members`, the indexed `IssuerDocumentsRevoked` events), read at the index's cursor:
`checked_at_block` is the indexed block. The one chain call of a cold verification is the
anchoring transaction (`eth_getTransactionByHash`) for the signature, kept per hash after.
(No event carries the signature; storing it at indexing would cost the indexer a
transaction read per anchor and a migration, for a check the registry already made.) A
document the index does not hold yet is looked up again once the index reaches the chain's
head (one `eth_blockNumber`, only then): `UnknownDocument` if it is still not there,
`IndexBehind` if the index does not get there.

Results are cached (an LRU of `cache_entries` documents, and the documents of each CID),
as of an indexed block: when the index moves on, one indexed query reads the events since
and drops what they change: a result on `DocumentRevoked` of its document,
`IssuerDocumentsRevoked` or a membership change (`MemberAdmitted/Suspended/Reinstated/
Removed`) of its issuer; a CID's documents on a new anchor; everything on a reorg (the
block last swept no longer on the indexed chain). A cached answer costs the cursor's read,
and no chain call. The content checks
(store, CID, envelope, salted hash) depend only on immutable bytes: once all passed they are
kept for good, so a document verified once stays so while its store is unreachable (the
node's readiness says the store is down; a store damaged later is noticed by whoever reads
the bytes: the store re-hashes them). A result whose content checks did not all pass is not
kept: the store may deliver the bytes (or the right ones) next time.
"""

from __future__ import annotations

import hmac
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_typing import ChecksumAddress
from eth_utils.abi import function_abi_to_4byte_selector
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError
from web3 import Web3
from web3.contract import Contract
from web3.types import BlockIdentifier, EventData

from node_api.documents.crypto import open_envelope
from node_api.documents.errors import (
    DocumentIntegrityError,
    DocumentStoreError,
    NotARecipient,
)
from node_api.documents.keys import Keyring
from node_api.documents.store import DocumentStore
from node_api.models import (
    BlockHash,
    ChainEvent,
    IndexCursor,
    ProjectedDocument,
    ProjectedMember,
)
from vcl.chain import chain_read, make_web3
from vcl.chain_views import ChainViews
from vcl.cid import Cid, InvalidCid
from vcl.config import Settings
from vcl.contract_enums import solidity_name
from vcl.contracts import deployed_contract
from vcl.deploy import MemberKind
from vcl.eip712 import (
    DocumentAnchor,
    DocumentType,
    TypedDataError,
    document_digest,
    document_message,
    recover_signer,
)
from vcl.errors import VclError
from vcl.timestamps import iso

# Anchoring transactions whose calldata is kept in memory (a few hundred bytes each).
KNOWN_CALLS = 4096
# Verification results kept in memory by default (a few kilobytes each).
CACHE_ENTRIES = 10_000
# Indexed events after which a cached result of a document (or of its issuer's) is stale.
ISSUER_EVENTS = (
    "IssuerDocumentsRevoked",
    "MemberAdmitted",
    "MemberSuspended",
    "MemberReinstated",
    "MemberRemoved",
)
DOCUMENT_TYPES = {solidity_name(t.name): t for t in DocumentType}
REGISTRY = "VehicleRegistry"
CONSORTIUM = "Consortium"
ANCHORED_EVENT = "DocumentAnchored"
# Most blocks past the index's cursor read from the chain to find a CID (unfiltered: the CID
# is not an indexed event argument). The indexer's lag is a poll interval when healthy.
UNINDEXED_SCAN_LIMIT = 1000
ANCHOR_FUNCTION = "anchorDocument"
_ZERO_ADDRESS = "0x" + "00" * 20


class VerificationError(VclError):
    """Verification could not produce a result (other than the chain being unreachable)."""


class UnknownDocument(VerificationError):
    """No document is anchored under this id or CID."""


class IndexBehind(VerificationError):
    """The node's index is too far behind the chain to say that a CID is not anchored."""

    def __init__(self, blocks: int, limit: int | None = None) -> None:
        self.blocks = blocks
        more = "" if limit is None else f" (more than {limit})"
        super().__init__(
            f"the node's index is {blocks} blocks behind the chain{more}: retry when the "
            "indexer has caught up"
        )


class AmbiguousDocument(VerificationError):
    """Several anchors name this CID (one envelope anchored with different signed fields)."""

    def __init__(self, cid: str, document_ids: Sequence[bytes]) -> None:
        self.cid = cid
        self.document_ids = tuple(document_ids)
        shown = ", ".join("0x" + d.hex() for d in document_ids)
        super().__init__(f"{cid} is anchored as several documents ({shown}): verify one by id")


class Status(StrEnum):
    VERIFIED = "verified"
    TAMPERED = "tampered"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_ISSUER = "unknown_issuer"
    REVOKED = "revoked"
    UNAVAILABLE = "unavailable"


# Most severe first; see the module docstring.
PRECEDENCE: tuple[Status, ...] = (
    Status.TAMPERED,
    Status.BAD_SIGNATURE,
    Status.REVOKED,
    Status.UNKNOWN_ISSUER,
    Status.UNAVAILABLE,
    Status.VERIFIED,
)


class CheckName(StrEnum):
    CONTENT_AVAILABLE = "content_available"
    CONTENT_MATCHES_CID = "content_matches_cid"
    ENVELOPE_OPENS = "envelope_opens"
    CONTENT_HASH = "content_hash"
    ISSUER_SIGNATURE = "issuer_signature"
    NOT_REVOKED = "not_revoked"
    ISSUER_ACTIVE = "issuer_active"


# The status a failed check stands for. `content_available` never fails: it is
# passed or unavailable.
FAILURE_STATUS: dict[CheckName, Status] = {
    CheckName.CONTENT_AVAILABLE: Status.UNAVAILABLE,
    CheckName.CONTENT_MATCHES_CID: Status.TAMPERED,
    CheckName.ENVELOPE_OPENS: Status.TAMPERED,
    CheckName.CONTENT_HASH: Status.TAMPERED,
    CheckName.ISSUER_SIGNATURE: Status.BAD_SIGNATURE,
    CheckName.NOT_REVOKED: Status.REVOKED,
    CheckName.ISSUER_ACTIVE: Status.UNKNOWN_ISSUER,
}


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"  # could not be made: no verdict either way
    SKIPPED = "skipped"  # depends on a check that did not pass


class MemberStatus(IntEnum):
    """Mirrors `IConsortium.MemberStatus`."""

    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    REMOVED = 3


@dataclass(frozen=True)
class Check:
    name: CheckName
    outcome: Outcome
    detail: str

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED


def overall_status(checks: Sequence[Check]) -> Status:
    """The most severe status among failed checks; `unavailable` if none failed but one
    could not be made; `verified` only when every check passed."""
    found = {FAILURE_STATUS[c.name] for c in checks if c.outcome is Outcome.FAILED}
    if any(c.outcome is Outcome.UNAVAILABLE for c in checks):
        found.add(Status.UNAVAILABLE)
    if not found and not all(c.passed for c in checks):
        # A skipped check without a failed or unavailable one is a bug in the order.
        raise VerificationError("a check was skipped although nothing before it failed")
    return next((status for status in PRECEDENCE if status in found), Status.VERIFIED)


@dataclass(frozen=True)
class AnchorRecord:
    """A document as anchored on-chain: the registry's view and its `DocumentAnchored` event."""

    document_id: bytes
    vehicle_id: bytes
    doc_type: DocumentType
    cid: bytes  # binary CID, as the event carries it
    content_hash: bytes
    issuer: ChecksumAddress
    issued_at: int
    revoked: bool  # by its issuer
    transaction_hash: str
    block_number: int
    revoked_by_governance: bool = False  # under its issuer's governance cutoff
    revocation_cutoff: int = 0  # that cutoff (unix time), 0 if none
    anchored_at: int = 0  # block time of anchoring, what the cutoff is compared with

    @property
    def signed_fields(self) -> DocumentAnchor:
        return DocumentAnchor(
            vehicle_id=self.vehicle_id,
            doc_type=self.doc_type,
            cid=self.cid,
            content_hash=self.content_hash,
            issued_at=self.issued_at,
        )

    @property
    def cid_text(self) -> str:
        """The CID as Kubo prints it, or the raw hex when the anchored bytes are not a CID."""
        try:
            return str(Cid.from_binary(self.cid))
        except InvalidCid:
            return "0x" + self.cid.hex()


@dataclass(frozen=True)
class DocumentVerification:
    """The answer for one document: every check, and the overall status they decide."""

    anchor: AnchorRecord
    status: Status
    checks: tuple[Check, ...]
    checked_at_block: int

    def check(self, name: CheckName) -> Check:
        return next(c for c in self.checks if c.name is name)

    def as_json(self) -> dict[str, Any]:
        """JSON-safe (hashes as 0x hex), for the REST layer and audit exports."""
        a = self.anchor
        return {
            "document_id": "0x" + a.document_id.hex(),
            "vehicle_id": "0x" + a.vehicle_id.hex(),
            "doc_type": a.doc_type.name.lower(),
            "cid": a.cid_text,
            "content_hash": "0x" + a.content_hash.hex(),
            "issuer": a.issuer,
            "issued_at": a.issued_at,
            "anchored_in": {"transaction_hash": a.transaction_hash, "block": a.block_number},
            "status": self.status.value,
            "checks": [
                {"name": c.name.value, "outcome": c.outcome.value, "detail": c.detail}
                for c in self.checks
            ],
            "checked_at_block": self.checked_at_block,
        }


def check_issuer_signature(
    anchor: DocumentAnchor,
    signature: bytes,
    *,
    issuer: str,
    document_id: bytes,
    chain_id: int,
    registry_address: str,
) -> Check:
    """Whether `signature` over `anchor` (domain: this chain and registry) is `issuer`'s,
    and the signed fields are the ones that hash to `document_id`."""
    name = CheckName.ISSUER_SIGNATURE
    digest = document_digest(anchor, chain_id, registry_address)
    if not hmac.compare_digest(digest, document_id):
        return Check(
            name,
            Outcome.FAILED,
            f"the signed fields hash to 0x{digest.hex()}, not to the document id",
        )
    try:
        recovered = recover_signer(document_message(anchor, chain_id, registry_address), signature)
    except TypedDataError as exc:
        return Check(name, Outcome.FAILED, str(exc))
    expected = to_checksum_address(issuer)
    if recovered != expected:
        return Check(
            name, Outcome.FAILED, f"signature recovers to {recovered}, the issuer is {expected}"
        )
    return Check(name, Outcome.PASSED, f"EIP-712 signature recovers to the issuer {expected}")


class DocumentVerifier:
    """Verifies anchored documents for this node: its chain, store and document keys
    (`keyring`, None on a node that is no reader: it checks everything but the content).

    `engine` (the node database) only speeds up finding anchors by CID through the
    indexed events; every anchor found there is read again from the chain. Without it,
    or when the indexer has not reached the anchor yet, the chain's logs are scanned
    from `from_block` (the deployment block saves reading empty history).
    """

    def __init__(
        self,
        w3: Web3,
        registry: Contract,
        consortium: Contract,
        store: DocumentStore,
        keyring: Keyring | None,
        *,
        engine: Engine | None = None,
        from_block: int = 0,
        cache_entries: int = CACHE_ENTRIES,
        await_indexed: Callable[[int], bool] | None = None,
    ) -> None:
        self.w3 = w3
        self.registry = registry
        self.consortium = consortium
        self.store = store
        self.keyring = keyring
        self.engine = engine
        self.from_block = from_block
        self._issuer_role: bytes | None = None
        self._chain_id_read: int | None = None
        self._views = ChainViews(w3, {REGISTRY: registry, CONSORTIUM: consortium})
        # Transaction hash -> (to, input): a hash commits to the signed transaction, so
        # what it calls never changes; whether it is anchored is read fresh each time.
        self._calls: OrderedDict[str, tuple[str | None, bytes]] = OrderedDict()
        self._calls_lock = threading.Lock()
        self._anchor_abi: tuple[bytes, tuple[str, ...], tuple[str, ...]] | None = None
        # On a node: waits (briefly) until the index holds a block; None: no waiting.
        self.await_indexed = await_indexed
        self.cache_entries = cache_entries
        # Document id -> its result, and binary CID -> its documents: both as of `_swept_to`,
        # the indexed block (number, hash) up to which invalidating events were applied.
        self._results: OrderedDict[bytes, DocumentVerification] = OrderedDict()
        self._cid_ids: OrderedDict[bytes, tuple[bytes, ...]] = OrderedDict()
        self._swept_to: tuple[int, str] | None = None
        # Document id -> its content checks, once all passed (immutable bytes).
        self._content: OrderedDict[bytes, tuple[Check, ...]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._sweep_lock = threading.Lock()
        if engine is not None:
            self._chain_id()  # once, so that no verification spends a chain call on it

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: DocumentStore,
        keyring: Keyring | None,
        *,
        engine: Engine | None = None,
        from_block: int = 0,
    ) -> DocumentVerifier:
        w3 = make_web3(settings)
        contracts = {
            name: deployed_contract(w3, settings, name)
            for name in ("VehicleRegistry", "Consortium")
        }
        return cls(
            w3,
            contracts["VehicleRegistry"],
            contracts["Consortium"],
            store,
            keyring,
            engine=engine,
            from_block=from_block,
        )

    def verify_document(self, ref: bytes | str) -> DocumentVerification:
        """Verify one document, named by its id (32 bytes or 0x hex) or by its CID string."""
        if self.engine is not None:
            return self._from_index(lambda c, current: [self._indexed_id(c, ref, current)])[0]
        block = self._head()
        document_id = self._resolve(ref, block)
        event = self._anchored_event(document_id, block)
        return self._verify(self._anchor(event, block), block)

    def verify_cid(self, cid: str) -> tuple[DocumentVerification, ...]:
        """Every anchor of the envelope `cid` (usually one), each verified."""
        if self.engine is not None:
            binary = Cid.parse(cid).binary

            def anchors(connection: Connection, current: bool) -> list[bytes]:
                found = self._ids_for_cid(connection, binary, current)
                if not found:
                    raise UnknownDocument(f"no document is anchored with CID {cid}")
                return found

            return self._from_index(anchors)
        block = self._head()
        ids = self.document_ids_for_cid(cid, block)
        if not ids:
            raise UnknownDocument(f"no document is anchored with CID {cid}")
        return tuple(
            self._verify(self._anchor(self._anchored_event(i, block), block), block) for i in ids
        )

    def verify_vehicle_documents(self, vehicle_id: bytes) -> tuple[DocumentVerification, ...]:
        """A verification of every document anchored for `vehicle_id`, oldest first."""
        if self.engine is not None:
            found = self._from_index(
                lambda c, _: self._indexed_ids(c, vehicle_id=vehicle_id), missing_ok=True
            )
            return found
        block = self._head()
        events = self._get_logs({"vehicleId": vehicle_id}, block)
        return tuple(self._verify(self._anchor(event, block), block) for event in events)

    def document_ids_for_cid(self, cid: str, block: BlockIdentifier = "latest") -> list[bytes]:
        """The documents anchored with envelope `cid`, oldest first. On a node (`engine`) the
        answer comes from the index: the indexed anchors, and from the chain only the
        blocks the indexer has not reached (its lag, at most `UNINDEXED_SCAN_LIMIT`), so
        asking for CIDs nobody anchored costs no scan of the chain's history."""
        binary = Cid.parse(cid).binary
        if self.engine is None:  # a tool without a node database: read every anchor
            return self._scanned_ids_for_cid(binary, self.from_block, block)
        ids, indexed_to = self._indexed_ids_for_cid(binary)
        head = block if isinstance(block, int) else self._head()
        start = self.from_block if indexed_to is None else max(indexed_to + 1, self.from_block)
        if start > head:
            return ids
        if head - start + 1 > UNINDEXED_SCAN_LIMIT:
            raise IndexBehind(head - start + 1, UNINDEXED_SCAN_LIMIT)
        return ids + self._scanned_ids_for_cid(binary, start, head)

    def _scanned_ids_for_cid(
        self, binary: bytes, start: int, block: BlockIdentifier
    ) -> list[bytes]:
        # `cid` is not an indexed event argument: read the range's anchors and compare.
        event = self.registry.events[ANCHORED_EVENT]()
        with chain_read(f"{ANCHORED_EVENT} logs"):
            found = event.get_logs(from_block=start, to_block=block)
        return [
            bytes(e["args"]["documentId"])
            for e in sorted(found, key=lambda e: (e["blockNumber"], e["logIndex"]))
            if bytes(e["args"]["cid"]) == binary
        ]

    def _indexed_ids_for_cid(self, binary: bytes) -> tuple[list[bytes], int | None]:
        """The indexed anchors of `binary` and the last block the index holds in full (None
        before the indexer's first step)."""
        assert self.engine is not None
        query = (
            select(ChainEvent.document_id)
            .where(
                ChainEvent.event_name == ANCHORED_EVENT,
                ChainEvent.contract_address == self.registry.address,
                ChainEvent.args["cid"].as_string() == "0x" + binary.hex(),
            )
            .order_by(ChainEvent.block_number, ChainEvent.log_index)
        )
        cursor = select(IndexCursor.block_number).where(IndexCursor.chain_id == self._chain_id())
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(query).scalars().all()
                indexed_to = connection.execute(cursor).scalar()
        except SQLAlchemyError as exc:
            raise VerificationError(f"cannot read indexed anchors: {exc}") from exc
        return [bytes.fromhex(row[2:]) for row in rows if row is not None], indexed_to

    # --- on a node: from the index -----------------------------------------------------------

    def _from_index(
        self, find: Callable[[Connection, bool], list[bytes]], *, missing_ok: bool = False
    ) -> tuple[DocumentVerification, ...]:
        """The verifications of the documents `find` names in the index, at its cursor; a miss
        is looked up again once the index reached the chain's head."""
        assert self.engine is not None
        try:
            with self.engine.connect() as connection:
                cursor = self._cursor(connection)
                current = self._sweep(connection, cursor)
                try:
                    ids = find(connection, current)
                except UnknownDocument:
                    ids = []
                if not ids:
                    connection.rollback()
                    cursor = self._confirm_miss(connection, cursor)
                    current = self._sweep(connection, cursor)
                    try:
                        ids = find(connection, current)
                    except UnknownDocument:
                        if missing_ok:
                            return ()
                        raise
                    if not ids:
                        return ()
                assert cursor is not None  # something was found
                return tuple(
                    self._indexed_verification(connection, i, cursor, current) for i in ids
                )
        except SQLAlchemyError as exc:
            raise VerificationError(f"cannot read the index: {exc}") from exc

    def _confirm_miss(
        self, connection: Connection, cursor: tuple[int, str] | None
    ) -> tuple[int, str] | None:
        """The cursor once the index holds the chain's head (one chain call); `IndexBehind`
        if it does not get there."""
        head = self._head()
        if cursor is not None and cursor[0] >= head:
            return cursor
        if self.await_indexed is None or not self.await_indexed(head):
            behind = head - (self.from_block - 1 if cursor is None else cursor[0])
            raise IndexBehind(max(behind, 1))
        connection.rollback()  # a new snapshot: the blocks just indexed
        return self._cursor(connection)

    def _cursor(self, connection: Connection) -> tuple[int, str] | None:
        row = connection.execute(
            select(IndexCursor.block_number, IndexCursor.block_hash).where(
                IndexCursor.chain_id == self._chain_id()
            )
        ).first()
        return None if row is None else (int(row[0]), str(row[1]))

    def _indexed_id(self, connection: Connection, ref: bytes | str, current: bool) -> bytes:
        if isinstance(ref, bytes):
            if len(ref) != 32:
                raise ValueError("a document id is 32 bytes")
            with self._cache_lock:
                if current and ref in self._results:
                    return ref
            found = self._indexed_ids(connection, document_id=ref)
            if not found:
                raise UnknownDocument(f"no document 0x{ref.hex()} is anchored")
            return found[0]
        if ref.startswith("0x"):
            try:
                document_id = bytes.fromhex(ref[2:])
            except ValueError:
                raise ValueError(f"{ref!r} is not a hex document id") from None
            return self._indexed_id(connection, document_id, current)
        ids = self._ids_for_cid(connection, Cid.parse(ref).binary, current)
        if not ids:
            raise UnknownDocument(f"no document is anchored with CID {ref}")
        if len(ids) > 1:
            raise AmbiguousDocument(ref, ids)
        return ids[0]

    def _indexed_ids(
        self,
        connection: Connection,
        *,
        document_id: bytes | None = None,
        cid: bytes | None = None,
        vehicle_id: bytes | None = None,
    ) -> list[bytes]:
        """The indexed documents by id, CID or vehicle, in chain order."""
        table = ProjectedDocument
        query = select(table.document_id).where(table.chain_id == self._chain_id())
        if document_id is not None:
            query = query.where(table.document_id == "0x" + document_id.hex())
        if cid is not None:
            query = query.where(table.cid == "0x" + cid.hex())
        if vehicle_id is not None:
            query = query.where(table.vehicle_id == "0x" + vehicle_id.hex())
        rows = connection.execute(query.order_by(table.block_number, table.log_index)).scalars()
        return [bytes.fromhex(row[2:]) for row in rows]

    def _ids_for_cid(self, connection: Connection, cid: bytes, current: bool) -> list[bytes]:
        """The indexed documents of `cid`, kept while no new anchor is indexed."""
        with self._cache_lock:
            known = self._cid_ids.get(cid) if current else None
            if known is not None:
                self._cid_ids.move_to_end(cid)
                return list(known)
        found = self._indexed_ids(connection, cid=cid)
        if found and current:
            with self._cache_lock:
                self._cid_ids[cid] = tuple(found)
                while len(self._cid_ids) > self.cache_entries:
                    self._cid_ids.popitem(last=False)
        return found

    def _indexed_verification(
        self, connection: Connection, document_id: bytes, cursor: tuple[int, str], current: bool
    ) -> DocumentVerification:
        if current:
            with self._cache_lock:
                cached = self._results.get(document_id)
                if cached is not None:
                    self._results.move_to_end(document_id)
                    return replace(cached, checked_at_block=cursor[0])
        anchor = self._indexed_anchor(connection, document_id)
        content = self._cached_content_checks(anchor)
        checks = [
            *content,
            self._signature_check(anchor),
            _revocation_check(anchor),
            self._indexed_issuer_check(connection, anchor.issuer),
        ]
        result = DocumentVerification(anchor, overall_status(checks), tuple(checks), cursor[0])
        if not all(c.passed for c in content):
            return result  # the store may deliver (other) bytes next time: not kept
        with self._cache_lock:
            if self._swept_to == cursor:  # no sweep ran past this request's block meanwhile
                self._results[document_id] = result
                self._results.move_to_end(document_id)
                while len(self._results) > self.cache_entries:
                    self._results.popitem(last=False)
        return result

    def _sweep(self, connection: Connection, cursor: tuple[int, str] | None) -> bool:
        """Bring the caches to the index's `cursor`: drop the results that an event indexed
        since the last sweep changes (a revocation of the document, a governance cutoff or a
        membership change of its issuer) and the documents of a CID anchored again; all of
        them after a reorg. One indexed query per block the index moves on, none while it
        stays. False when the caches cannot serve this request (a read behind them)."""
        if cursor is None:
            return False
        with self._sweep_lock:
            with self._cache_lock:
                swept = self._swept_to
            if swept == cursor:
                return True
            if swept is not None and cursor[0] < swept[0]:
                return False  # an older snapshot than another request's (or a rewind)
            if swept is None or not self._same_block(connection, swept, cursor):
                with self._cache_lock:
                    self._results.clear()
                    self._cid_ids.clear()
                    self._swept_to = cursor
                return True
            changes = connection.execute(
                select(ChainEvent.event_name, ChainEvent.document_id, ChainEvent.args).where(
                    ChainEvent.chain_id == self._chain_id(),
                    ChainEvent.block_number > swept[0],
                    ChainEvent.block_number <= cursor[0],
                    ChainEvent.event_name.in_(("DocumentRevoked", ANCHORED_EVENT, *ISSUER_EVENTS)),
                )
            ).all()
            with self._cache_lock:
                issuers: set[str] = set()
                for name, document_id, args in changes:
                    if name == "DocumentRevoked" and document_id is not None:
                        self._results.pop(bytes.fromhex(document_id[2:]), None)
                    elif name == ANCHORED_EVENT:
                        self._cid_ids.pop(bytes.fromhex(str(args["cid"])[2:]), None)
                    elif name == ISSUER_EVENTS[0]:
                        issuers.add(str(args["issuer"]))
                    else:
                        issuers.add(str(args["account"]))
                if issuers:
                    for key in [k for k, r in self._results.items() if r.anchor.issuer in issuers]:
                        del self._results[key]
                self._swept_to = cursor
            return True

    def _same_block(
        self, connection: Connection, swept: tuple[int, str], cursor: tuple[int, str]
    ) -> bool:
        """Whether the block last swept is still on the indexed chain (no reorg replaced
        it). A hash the index no longer records is older than its reorg window: final."""
        if swept[0] == cursor[0]:
            return swept[1] == cursor[1]
        recorded = connection.execute(
            select(BlockHash.block_hash).where(
                BlockHash.chain_id == self._chain_id(), BlockHash.block_number == swept[0]
            )
        ).scalar()
        return recorded is None or str(recorded) == swept[1]

    def _indexed_anchor(self, connection: Connection, document_id: bytes) -> AnchorRecord:
        table = ProjectedDocument
        chain_id = self._chain_id()
        row = connection.execute(
            select(table).where(
                table.chain_id == chain_id, table.document_id == "0x" + document_id.hex()
            )
        ).first()
        if row is None:
            raise UnknownDocument(f"no document 0x{document_id.hex()} is anchored")
        doc = row
        revoked = doc.revoked_at is not None
        # The cutoff in force is the largest (as `GET /v1/vehicles/{vin}/documents` reads it).
        cutoffs = connection.execute(
            select(ChainEvent.args["cutoff"].as_string()).where(
                ChainEvent.chain_id == chain_id,
                ChainEvent.event_name == ISSUER_EVENTS[0],
                ChainEvent.args["issuer"].as_string() == doc.issuer,
            )
        ).scalars()
        cutoff = max((int(c) for c in cutoffs if c is not None), default=0)
        under_cutoff = cutoff != 0 and int(doc.anchored_at) <= cutoff
        return AnchorRecord(
            document_id=document_id,
            vehicle_id=bytes.fromhex(doc.vehicle_id[2:]),
            doc_type=_document_type(doc.doc_type),
            cid=bytes.fromhex(doc.cid[2:]),
            content_hash=bytes.fromhex(doc.content_hash[2:]),
            issuer=to_checksum_address(doc.issuer),
            issued_at=int(doc.issued_at),
            revoked=revoked,
            transaction_hash=doc.transaction_hash,
            block_number=int(doc.block_number),
            revoked_by_governance=under_cutoff and not revoked,
            revocation_cutoff=cutoff if under_cutoff else 0,
            anchored_at=int(doc.anchored_at),
        )

    def _indexed_issuer_check(self, connection: Connection, issuer: ChecksumAddress) -> Check:
        """ISSUER_ROLE is held by exactly the members of kind DocumentIssuer that are active
        (`Consortium` grants it at admission and reinstatement, revokes it otherwise)."""
        name = CheckName.ISSUER_ACTIVE
        table = ProjectedMember
        row = connection.execute(
            select(table.kind, table.status).where(
                table.chain_id == self._chain_id(), table.account == issuer
            )
        ).first()
        if row is None:
            return Check(name, Outcome.FAILED, f"{issuer} is no member: no ISSUER_ROLE")
        kind, status = str(row[0]), str(row[1])
        shown = f"member kind {kind}, status {status.lower()}"
        if kind == solidity_name(MemberKind.DOCUMENT_ISSUER.name) and status == "Active":
            return Check(name, Outcome.PASSED, f"{issuer} holds ISSUER_ROLE ({shown})")
        return Check(name, Outcome.FAILED, f"{issuer} does not hold ISSUER_ROLE ({shown})")

    def _cached_content_checks(self, anchor: AnchorRecord) -> list[Check]:
        with self._cache_lock:
            known = self._content.get(anchor.document_id)
            if known is not None:
                self._content.move_to_end(anchor.document_id)
                return list(known)
        checks = self._content_checks(anchor)
        if all(c.passed for c in checks):
            with self._cache_lock:
                self._content[anchor.document_id] = tuple(checks)
                while len(self._content) > self.cache_entries:
                    self._content.popitem(last=False)
        return checks

    def _chain_id(self) -> int:
        if self._chain_id_read is None:
            with chain_read("the chain id"):
                self._chain_id_read = int(self.w3.eth.chain_id)
        return self._chain_id_read

    def _resolve(self, ref: bytes | str, block: BlockIdentifier) -> bytes:
        if isinstance(ref, bytes):
            if len(ref) != 32:
                raise ValueError("a document id is 32 bytes")
            return ref
        if ref.startswith("0x"):
            try:
                document_id = bytes.fromhex(ref[2:])
            except ValueError:
                raise ValueError(f"{ref!r} is not a hex document id") from None
            return self._resolve(document_id, block)
        ids = self.document_ids_for_cid(ref, block)
        if not ids:
            raise UnknownDocument(f"no document is anchored with CID {ref}")
        if len(ids) > 1:
            raise AmbiguousDocument(ref, ids)
        return ids[0]

    def _verify(self, anchor: AnchorRecord, block: int) -> DocumentVerification:
        checks = [
            *self._content_checks(anchor),
            self._signature_check(anchor),
            _revocation_check(anchor),
            self._issuer_check(anchor.issuer, block),
        ]
        return DocumentVerification(anchor, overall_status(checks), tuple(checks), block)

    def _content_checks(self, anchor: AnchorRecord) -> list[Check]:
        later = (CheckName.CONTENT_MATCHES_CID, CheckName.ENVELOPE_OPENS, CheckName.CONTENT_HASH)
        try:
            cid = str(Cid.from_binary(anchor.cid))
        except InvalidCid as exc:
            # The issuer signed bytes that are not a CID this node can fetch or check.
            return [
                Check(CheckName.CONTENT_AVAILABLE, Outcome.UNAVAILABLE, f"anchored CID: {exc}"),
                *_skipped(later, "no content"),
            ]
        try:
            envelope = self.store.cat(cid)
        except DocumentIntegrityError as exc:
            return [
                Check(CheckName.CONTENT_AVAILABLE, Outcome.PASSED, f"the store answered for {cid}"),
                Check(CheckName.CONTENT_MATCHES_CID, Outcome.FAILED, str(exc)),
                *_skipped(later[1:], "the bytes are not the anchored ones"),
            ]
        except DocumentStoreError as exc:  # not found, backend down, over the size limit
            return [
                Check(CheckName.CONTENT_AVAILABLE, Outcome.UNAVAILABLE, str(exc)),
                *_skipped(later, "no content"),
            ]
        return [
            Check(CheckName.CONTENT_AVAILABLE, Outcome.PASSED, f"{len(envelope)} bytes for {cid}"),
            Check(CheckName.CONTENT_MATCHES_CID, Outcome.PASSED, "the bytes hash to the CID"),
            *self._envelope_checks(envelope, anchor),
        ]

    def _envelope_checks(self, envelope: bytes, anchor: AnchorRecord) -> list[Check]:
        """`envelope_opens` and `content_hash` of an envelope that matches its CID."""
        later = (CheckName.CONTENT_HASH,)
        if self.keyring is None:
            return [
                Check(
                    CheckName.ENVELOPE_OPENS,
                    Outcome.UNAVAILABLE,
                    "this node holds no document key (not a reader): it cannot open envelopes",
                ),
                *_skipped(later, "the envelope was not opened"),
            ]
        try:
            opened = open_envelope(envelope, self.keyring)
        except NotARecipient as exc:
            return [
                Check(CheckName.ENVELOPE_OPENS, Outcome.UNAVAILABLE, str(exc)),
                *_skipped(later, "the envelope was not opened"),
            ]
        except DocumentIntegrityError as exc:  # EnvelopeFormatError, EnvelopeTampered
            return [
                Check(CheckName.ENVELOPE_OPENS, Outcome.FAILED, str(exc)),
                *_skipped(later, "the envelope does not open"),
            ]
        opens = Check(
            CheckName.ENVELOPE_OPENS,
            Outcome.PASSED,
            f"opened with this node's key, sealed for {len(opened.recipients)} readers",
        )
        # The salt comes out of the authenticated body: only a reader can recompute this.
        digest = opened.content_hash
        if hmac.compare_digest(digest, anchor.content_hash):
            return [
                opens,
                Check(
                    CheckName.CONTENT_HASH,
                    Outcome.PASSED,
                    "sha256(salt | plaintext) equals the anchored hash",
                ),
            ]
        return [
            opens,
            Check(
                CheckName.CONTENT_HASH,
                Outcome.FAILED,
                f"sha256(salt | plaintext) is 0x{digest.hex()}, not the anchored hash",
            ),
        ]

    def _signature_check(self, anchor: AnchorRecord) -> Check:
        name = CheckName.ISSUER_SIGNATURE
        target, calldata = self._transaction_call(anchor.transaction_hash)
        chain_id = self._chain_id()
        if target is None or to_checksum_address(target) != self.registry.address:
            return Check(
                name,
                Outcome.UNAVAILABLE,
                f"anchored through {target}, not by a direct call: the signature is not "
                "in the transaction's calldata",
            )
        try:
            params = self._anchor_call(calldata)
            if params is None:  # another function: web3 names it (a slow lookup, rare)
                function, params = self.registry.decode_function_input(calldata)
                if function.fn_name != ANCHOR_FUNCTION:
                    return Check(
                        name, Outcome.UNAVAILABLE, f"the transaction calls {function.fn_name}"
                    )
        except (ValueError, DecodingError) as exc:
            return Check(name, Outcome.UNAVAILABLE, f"cannot decode the calldata: {exc}")
        called = (
            bytes(params["vehicleId"]),
            int(params["docType"]),
            bytes(params["cid"]),
            bytes(params["contentHash"]),
            to_checksum_address(params["issuer"]),
            int(params["issuedAt"]),
        )
        anchored = (
            anchor.vehicle_id,
            int(anchor.doc_type),
            anchor.cid,
            anchor.content_hash,
            anchor.issuer,
            anchor.issued_at,
        )
        if called != anchored:
            return Check(name, Outcome.FAILED, "the calldata's fields differ from the anchor's")
        return check_issuer_signature(
            anchor.signed_fields,
            bytes(params["signature"]),
            issuer=anchor.issuer,
            document_id=anchor.document_id,
            chain_id=chain_id,
            registry_address=self.registry.address,
        )

    def _anchor_call(self, calldata: bytes) -> dict[str, Any] | None:
        """The arguments of an `anchorDocument` call, decoded with its ABI found once (web3's
        `decode_function_input` hashes every function's signature per call); None for a
        call of another function."""
        if self._anchor_abi is None:
            abi = next(
                entry
                for entry in self.registry.abi
                if entry.get("type") == "function" and entry.get("name") == ANCHOR_FUNCTION
            )
            inputs: list[dict[str, Any]] = list(abi.get("inputs", ()))  # type: ignore[call-overload]
            self._anchor_abi = (
                bytes(function_abi_to_4byte_selector(abi)),
                tuple(str(i["type"]) for i in inputs),
                tuple(str(i["name"]) for i in inputs),
            )
        selector, types, names = self._anchor_abi
        if calldata[:4] != selector:
            return None
        return dict(zip(names, abi_decode(types, calldata[4:]), strict=True))

    def _transaction_call(self, tx_hash: str) -> tuple[str | None, bytes]:
        """The anchoring transaction's target and calldata, from the chain once per hash."""
        with self._calls_lock:
            known = self._calls.get(tx_hash)
            if known is not None:
                self._calls.move_to_end(tx_hash)
                return known
        with chain_read(f"transaction {tx_hash}"):
            tx = self.w3.eth.get_transaction(HexBytes(tx_hash))
        call = (tx.get("to"), bytes(tx["input"]))
        with self._calls_lock:
            self._calls[tx_hash] = call
            if len(self._calls) > KNOWN_CALLS:
                self._calls.popitem(last=False)
        return call

    def _issuer_role_id(self) -> bytes:
        """`ISSUER_ROLE`, a constant of the contract: read once."""
        if self._issuer_role is None:
            with chain_read("ISSUER_ROLE"):
                self._issuer_role = bytes(self.consortium.functions.ISSUER_ROLE().call())
        return self._issuer_role

    def _issuer_check(self, issuer: ChecksumAddress, block: int) -> Check:
        name = CheckName.ISSUER_ACTIVE
        role = self._issuer_role_id()
        with chain_read(f"membership of {issuer}"):
            found = self._views.call(
                (self._views.view(CONSORTIUM, "hasRole"), (role, issuer)),
                (self._views.view(CONSORTIUM, "memberOf"), (issuer,)),
                block=block,
            )
            if found is None:  # not a plain answer: web3 raises what it is
                found = [
                    self.consortium.functions.hasRole(role, issuer).call(block_identifier=block),
                    self.consortium.functions.memberOf(issuer).call(block_identifier=block),
                ]
        has_role, (kind, status, *_) = found
        shown = f"member kind {_kind_name(kind)}, status {MemberStatus(status).name.lower()}"
        if has_role:
            return Check(name, Outcome.PASSED, f"{issuer} holds ISSUER_ROLE ({shown})")
        return Check(name, Outcome.FAILED, f"{issuer} does not hold ISSUER_ROLE ({shown})")

    def _anchor(self, event: EventData, block: int) -> AnchorRecord:
        args = event["args"]
        document_id = bytes(args["documentId"])
        with chain_read(f"document 0x{document_id.hex()}"):
            found = self._views.call(
                (self._views.view(REGISTRY, "document"), (document_id,)),
                (self._views.view(REGISTRY, "isDocumentRevoked"), (document_id,)),
                block=block,
            )
            if found is None:  # not a plain answer: web3 raises what it is
                views = self.registry.functions
                found = [
                    views.document(document_id).call(block_identifier=block),
                    views.isDocumentRevoked(document_id).call(block_identifier=block),
                ]
        viewed, revoked_now = found
        vehicle_id, content_hash, issuer, issued_at, doc_type, revoked, anchored_at = viewed
        if issuer == _ZERO_ADDRESS:
            raise UnknownDocument(f"no document 0x{document_id.hex()} at block {block}")
        record = AnchorRecord(
            document_id=document_id,
            vehicle_id=bytes(vehicle_id),
            doc_type=DocumentType(doc_type),
            cid=bytes(args["cid"]),
            content_hash=bytes(content_hash),
            issuer=to_checksum_address(issuer),
            issued_at=int(issued_at),
            revoked=bool(revoked),
            transaction_hash="0x" + bytes(event["transactionHash"]).hex(),
            block_number=int(event["blockNumber"]),
            revoked_by_governance=bool(revoked_now) and not revoked,
            revocation_cutoff=self._revocation_cutoff(issuer, block) if revoked_now else 0,
            anchored_at=int(anchored_at),
        )
        from_event = (
            bytes(args["vehicleId"]),
            int(args["docType"]),
            bytes(args["contentHash"]),
            to_checksum_address(args["issuer"]),
            int(args["issuedAt"]),
        )
        from_view = (
            record.vehicle_id,
            int(record.doc_type),
            record.content_hash,
            record.issuer,
            record.issued_at,
        )
        if from_event != from_view:
            raise VerificationError(
                f"document 0x{document_id.hex()}: the registry's view and its event disagree"
            )
        return record

    def _revocation_cutoff(self, issuer: str, block: int) -> int:
        """The governance cutoff of `issuer`'s documents: read only for a revoked one."""
        with chain_read(f"the revocation cutoff of {issuer}"):
            cutoff = self.registry.functions.issuerRevocationCutoff(issuer).call(
                block_identifier=block
            )
        return int(cutoff)

    def _anchored_event(self, document_id: bytes, block: int) -> EventData:
        events = self._get_logs({"documentId": document_id}, block)
        if not events:
            raise UnknownDocument(f"no document 0x{document_id.hex()} is anchored")
        return events[0]

    def _get_logs(self, filters: dict[str, Any] | None, block: BlockIdentifier) -> list[EventData]:
        event = self.registry.events[ANCHORED_EVENT]()
        with chain_read(f"{ANCHORED_EVENT} logs"):
            found = event.get_logs(
                argument_filters=filters, from_block=self.from_block, to_block=block
            )
        return sorted(found, key=lambda e: (e["blockNumber"], e["logIndex"]))

    def _head(self) -> int:
        with chain_read("the head block"):
            return self.w3.eth.block_number


def _revocation_check(anchor: AnchorRecord) -> Check:
    name = CheckName.NOT_REVOKED
    if anchor.revoked:
        return Check(name, Outcome.FAILED, "revoked by its issuer")
    if anchor.revoked_by_governance:
        return Check(
            name,
            Outcome.FAILED,
            f"revoked by a governance vote: every document issuer {anchor.issuer} anchored up to "
            f"{iso(anchor.revocation_cutoff)} is revoked, and this one was anchored at "
            f"{iso(anchor.anchored_at)}",
        )
    return Check(name, Outcome.PASSED, "not revoked")


def _kind_name(kind: int) -> str:
    """A member kind by the contract's name (`DocumentIssuer`), as the index stores it."""
    try:
        return solidity_name(MemberKind(kind).name)
    except ValueError:
        return str(kind)


def _document_type(indexed: str) -> DocumentType:
    """A document type by the name the index stores (its number for one unknown here)."""
    found = DOCUMENT_TYPES.get(indexed)
    return DocumentType(int(indexed)) if found is None else found


def _skipped(names: Sequence[CheckName], why: str) -> list[Check]:
    return [Check(name, Outcome.SKIPPED, why) for name in names]


def verification_body(
    verifier: DocumentVerifier, cid: str, count: Callable[[str], None]
) -> dict[str, Any]:
    """A fresh verification of every anchor of `cid`, shaped as the verification endpoint
    answers; `count` receives each result's status (the metrics)."""
    results = verifier.verify_cid(cid)
    for result in results:
        count(result.status.value)
    return {
        "cid": cid,
        "verified_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "documents": [r.as_json() for r in results],
    }
