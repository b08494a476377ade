"""Anchoring a document: policy check, seal, sign (or accept a signature), store, anchor.

The issuer signs `DocumentAnchor(vehicleId, docType, cid, contentHash, issuedAt)`, and the
CID names the envelope, so whoever signs must know the envelope. `contentHash` is the
salted hash sha256(salt | plaintext), the salt sealed inside the envelope, so the anchor
confirms no guess of the document to anyone but a reader.

On an issuer's node the node seals for the current readers (active banks and auditors
with a published key, read from the chain now) and signs with the issuer's key. The issuer
node keeps no copy key of its own: a repair shop or insurer is not a reader, so it cannot
open what it anchored once the upload is done (it has the original). A bank or auditor
that uploads is a reader and so among the recipients anyway (and added if the chain does
not list it yet). On a bank's node the issuer's software has sealed and signed already:
the bank's node receives the plaintext, the envelope and the signature (`Presigned`),
opens the envelope with its own key, checks that it holds exactly that plaintext and is
sealed for exactly the current readers, and anchors it unchanged.

The anchoring call is tried against the chain (`eth_call`) before the envelope is stored,
so a document the registry would refuse (forged signature, unknown vehicle, issuer not
active) leaves nothing behind. If the transaction itself then fails, the envelope stays
in the store, unanchored: encrypted, and named by no anchor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from eth_abi.exceptions import DecodingError
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from web3.contract import Contract
from web3.exceptions import Web3Exception
from web3.types import TxParams

from node_api.documents.crypto import open_envelope, seal
from node_api.documents.errors import (
    EnvelopeRecipientsRefused,
    EnvelopeTampered,
    NotARecipient,
)
from node_api.documents.keys import DocumentKeyError, Keyring, Recipient, recipients_with
from node_api.documents.policy import DocumentPolicy
from node_api.documents.store import DocumentStore
from vcl.chain_views import View, view
from vcl.cid import compute_cid
from vcl.eip712 import DocumentAnchor, DocumentType, document_message
from vcl.errors import ChainUnavailable, TransactionError
from vcl.sender import TransactionSender


class Readers(Protocol):
    """Who may read a document sealed now (`readers.ReaderDirectory` reads the chain)."""

    def readers(self) -> tuple[Recipient, ...]: ...


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
    readers: Readers,
    keyring: Keyring | None,
    sender: TransactionSender,
    registry: Contract,
    policy: DocumentPolicy | None = None,
    issued_at: int | None = None,
) -> AnchoredDocument:
    """Anchor `plaintext` for `vehicle_id`, signed by `signer`: the issuer's key held by
    this node, or a `Presigned` envelope and signature. `readers` are read at sealing time;
    `keyring` is this node's own document keys (None on an issuer's node).

    Raises the policy's `DocumentTooLarge`/`ContentTypeRefused`; for a presigned envelope
    `EnvelopeTampered` (not this plaintext's) or `EnvelopeRecipientsRefused` (not sealed
    for exactly the current readers); `NoRecipients` when nobody could read it; a
    `DocumentStoreError`; or the registry's refusal as `TransactionReverted` (e.g.
    `RegistryInvalidSigner`). `issued_at` defaults to the latest block's timestamp.
    """
    content_type = (policy or DocumentPolicy()).check(plaintext, content_type)
    own = keyring.self_recipient() if keyring is not None else None
    recipients = recipients_with(readers.readers(), own)
    if isinstance(signer, Presigned):
        content_hash = _check_presigned(signer.envelope, plaintext, recipients, keyring)
        envelope = signer.envelope
        issuer = to_checksum_address(signer.issuer)
        issued_at = signer.issued_at
        signature = signer.signature
    else:
        sealed = seal(plaintext, recipients)
        envelope, content_hash = sealed.envelope, sealed.content_hash
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


def _check_presigned(
    envelope: bytes,
    plaintext: bytes,
    recipients: Sequence[Recipient],
    keyring: Keyring | None,
) -> bytes:
    """The salted hash of a presigned envelope, once it is known to hold `plaintext` and
    to be sealed for exactly `recipients`: a reader left out could never open it, and an
    outsider (a removed member, the issuer itself) named in it could."""
    if keyring is None:
        raise DocumentKeyError(
            "this node holds no document key, so it cannot check a pre-sealed envelope: "
            "anchor it through a bank's or auditor's node"
        )
    try:
        opened = open_envelope(envelope, keyring)
    except NotARecipient as exc:
        raise EnvelopeRecipientsRefused(
            f"the envelope is not sealed for this node: {exc}"
        ) from None
    if opened.plaintext != plaintext:
        raise EnvelopeTampered("the envelope holds other bytes than the uploaded document")
    expected = {r.key_id for r in recipients}
    named = set(opened.recipients)
    if named != expected:
        missing = ", ".join(sorted(str(k) for k in expected - named)) or "none"
        extra = ", ".join(sorted(str(k) for k in named - expected)) or "none"
        raise EnvelopeRecipientsRefused(
            "the envelope is not sealed for exactly the current readers: "
            f"missing {missing}; not readers {extra}"
        )
    return opened.content_hash


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
