"""Anchoring a document: policy check, seal, sign (or accept a signature), store, anchor.

The issuer signs `DocumentAnchor(vehicleId, docType, cid, contentHash, issuedAt)`, and the
CID names the envelope, so whoever signs must know the envelope. On an issuer's node the
node seals and signs with the issuer's key. On a bank's node the issuer's software has
sealed the plaintext and signed already: the bank's node receives the plaintext, the
envelope and the signature (`Presigned`), checks that the envelope opens to exactly that
plaintext, and anchors it unchanged.

The anchoring call is tried against the chain (`eth_call`) before the envelope is stored,
so a document the registry would refuse (forged signature, unknown vehicle, issuer not
active) leaves nothing behind. If the transaction itself then fails, the envelope stays
in the store, unanchored: encrypted, and named by no anchor.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi.exceptions import DecodingError
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from web3.contract import Contract
from web3.exceptions import Web3Exception
from web3.types import TxParams

from node_api.documents.crypto import open_envelope, seal, sha256
from node_api.documents.policy import DocumentPolicy
from node_api.documents.store import DocumentStore
from vcl.chain_views import View, view
from vcl.cid import compute_cid
from vcl.eip712 import DocumentAnchor, DocumentType, document_message
from vcl.errors import ChainUnavailable, TransactionError
from vcl.sender import TransactionSender


@dataclass(frozen=True)
class Presigned:
    """A document the issuer sealed and signed elsewhere."""

    issuer: ChecksumAddress
    issued_at: int
    signature: bytes
    envelope: bytes


@dataclass(frozen=True)
class AnchoredDocument:
    document_id: bytes
    cid: str
    content_hash: bytes
    content_type: str
    issuer: ChecksumAddress
    issued_at: int
    transaction_hash: str
    block_number: int


def anchor_document(
    plaintext: bytes,
    content_type: str,
    vehicle_id: bytes,
    doc_type: DocumentType,
    signer: LocalAccount | Presigned,
    *,
    store: DocumentStore,
    document_key: bytes,
    sender: TransactionSender,
    registry: Contract,
    policy: DocumentPolicy | None = None,
    issued_at: int | None = None,
) -> AnchoredDocument:
    """Anchor `plaintext` for `vehicle_id`, signed by `signer`: the issuer's key held by
    this node, or a `Presigned` envelope and signature.

    Raises the policy's `DocumentTooLarge`/`ContentTypeRefused`, `EnvelopeTampered` when
    a presigned envelope is not this plaintext's, a `DocumentStoreError`, or the
    registry's refusal as `TransactionReverted` (e.g. `RegistryInvalidSigner`).
    `issued_at` defaults to the latest block's timestamp (never in the chain's future).
    """
    content_type = (policy or DocumentPolicy()).check(plaintext, content_type)
    content_hash = sha256(plaintext)
    if isinstance(signer, Presigned):
        open_envelope(signer.envelope, document_key, content_hash)
        envelope = signer.envelope
        issuer = to_checksum_address(signer.issuer)
        issued_at = signer.issued_at
        signature = signer.signature
    else:
        envelope = seal(plaintext, document_key)
        issuer = signer.address
        if issued_at is None:
            issued_at = _latest_timestamp(sender)
        fields = DocumentAnchor(
            vehicle_id=vehicle_id,
            doc_type=doc_type,
            cid=compute_cid(envelope).binary,
            content_hash=content_hash,
            issued_at=issued_at,
        )
        message = document_message(fields, sender.chain_id, registry.address)
        signature = bytes(signer.sign_message(message).signature)

    cid = compute_cid(envelope)
    anchor = _anchor_function(registry)
    tx = anchor.transaction(
        vehicle_id, int(doc_type), cid.binary, content_hash, issuer, issued_at, signature
    )
    document_id = _preflight(anchor, tx, sender)
    stored = store.add(envelope)
    if stored != str(cid):
        raise TransactionError(f"the store named the envelope {stored}, not {cid}")
    receipt = sender.send(tx)
    return AnchoredDocument(
        document_id=document_id,
        cid=str(cid),
        content_hash=content_hash,
        content_type=content_type,
        issuer=issuer,
        issued_at=issued_at,
        transaction_hash="0x" + bytes(receipt["transactionHash"]).hex(),
        block_number=receipt["blockNumber"],
    )


# `anchorDocument` of each registry this process anchors on, prepared once.
_ANCHOR_FUNCTIONS: dict[str, View] = {}


def _anchor_function(registry: Contract) -> View:
    found = _ANCHOR_FUNCTIONS.get(registry.address)
    if found is None:
        found = _ANCHOR_FUNCTIONS[registry.address] = view(registry, "anchorDocument")
    return found


def _preflight(anchor: View, tx: TxParams, sender: TransactionSender) -> bytes:
    """The document id the anchoring would return, or the registry's refusal, typed."""
    try:
        return bytes(anchor.result(sender.preflight(tx)))
    except (OSError, Web3Exception, DecodingError, ValueError) as exc:
        raise ChainUnavailable(f"anchorDocument preflight failed: {exc}") from exc


def _latest_timestamp(sender: TransactionSender) -> int:
    try:
        return int(sender.w3.eth.get_block("latest")["timestamp"])
    except (OSError, Web3Exception) as exc:
        raise ChainUnavailable(f"reading the latest block failed: {exc}") from exc
