"""Document anchoring and verification against a real anvil, the deployed contracts and the
embedded document store."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from chain_activity import register_vehicle, vehicle_id
from eth_account import Account
from sqlalchemy import Engine
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint, RPCResponse

from node_api.anchoring import AnchoredDocument, Presigned, anchor_document
from node_api.config import NodeSettings
from node_api.db import make_engine, migrate
from node_api.documents.crypto import open_envelope, recipients_of, seal
from node_api.documents.embedded import EmbeddedDocumentStore
from node_api.documents.errors import EnvelopeRecipientsRefused, EnvelopeTampered
from node_api.documents.keys import KeyId, Keyring, Recipient, load_keyring, new_keyring
from node_api.documents.policy import TEXT
from node_api.documents.publishing import ensure_published, rotate
from node_api.documents.readers import ReaderDirectory
from node_api.indexer import Indexer
from node_api.verification import (
    AnchorRecord,
    Check,
    CheckName,
    DocumentVerifier,
    IndexBehind,
    Outcome,
    Status,
    UnknownDocument,
    check_issuer_signature,
    overall_status,
)
from vcl.cid import Cid, compute_cid
from vcl.config import DEV_PRIVATE_KEYS, Settings
from vcl.eip712 import DocumentAnchor, DocumentType, document_digest, document_message
from vcl.errors import TransactionReverted
from vcl.sender import TransactionSender

SUSPEND_MEMBER = 1  # IConsortium.ActionType.SuspendMember
REINSTATE_MEMBER = 2  # IConsortium.ActionType.ReinstateMember
REMOVE_MEMBER = 3  # IConsortium.ActionType.RemoveMember
REVOKE_ISSUER_DOCUMENTS = 8  # IConsortium.ActionType.RevokeIssuerDocuments
BANK_INDEX, OTHER_BANK_INDEX, AUDITOR_INDEX = 1, 2, 3
OPERATOR_INDEX = 4
ISSUER_INDEX = 7
STRANGER_INDEX = 9
CHAIN_ID = 1337
REGISTRY = "0x" + "12" * 20


@dataclass
class Node:
    """The contracts, a bank and the issuer, a store, and the document keys the two banks
    and the auditor published (their keyring files under `key_dir`)."""

    registry: Any
    consortium: Any
    bank: TransactionSender
    other_bank: TransactionSender
    issuer: TransactionSender
    store: EmbeddedDocumentStore
    store_root: Path
    key_dir: Path
    vehicle: bytes
    sender_for: Callable[[int], TransactionSender]

    def keyring(self, index: int) -> Keyring:
        return load_keyring(self.key_file(index))

    def key_file(self, index: int) -> Path:
        return self.key_dir / f"member-{index}.json"

    @property
    def readers(self) -> ReaderDirectory:
        return ReaderDirectory(self.bank.w3, self.consortium)

    def verifier(
        self,
        store: EmbeddedDocumentStore | None = None,
        engine: Engine | None = None,
        *,
        reader: int | None = BANK_INDEX,
    ) -> DocumentVerifier:
        """The verifier of member `reader`'s node (None: a node without document keys)."""
        return DocumentVerifier(
            self.bank.w3,
            self.registry,
            self.consortium,
            store or self.store,
            None if reader is None else self.keyring(reader),
            engine=engine,
        )

    def anchor(self, text: str, vehicle: bytes | None = None) -> AnchoredDocument:
        """Anchored on the issuer's node: the node seals for the readers and signs with the
        issuer's key; it keeps no key of its own."""
        return anchor_document(
            text.encode(),
            TEXT,
            vehicle or self.vehicle,
            DocumentType.MAINTENANCE,
            self.issuer.account,
            store=self.store,
            readers=self.readers,
            keyring=None,
            sender=self.issuer,
            registry=self.registry,
        )

    def presigned(
        self, plaintext: bytes, doc_type: DocumentType, recipients: tuple[Recipient, ...]
    ) -> tuple[Presigned, bytes]:
        """What the issuer's software sends a bank's node: sealed for `recipients` and signed."""
        sealed = seal(plaintext, recipients)
        issued_at = latest_timestamp(self)
        fields = DocumentAnchor(
            self.vehicle,
            doc_type,
            compute_cid(sealed.envelope).binary,
            sealed.content_hash,
            issued_at,
        )
        signature = signed_by(self, DEV_PRIVATE_KEYS[ISSUER_INDEX], fields)
        return Presigned(
            self.issuer.address, issued_at, signature, sealed.envelope
        ), sealed.content_hash

    def anchor_on_bank(
        self, plaintext: bytes, presigned: Presigned, doc_type: DocumentType
    ) -> AnchoredDocument:
        """The bank's node checks the issuer's envelope with its own key, then anchors it."""
        return anchor_document(
            plaintext,
            TEXT,
            self.vehicle,
            doc_type,
            presigned,
            store=self.store,
            readers=self.readers,
            keyring=self.keyring(BANK_INDEX),
            sender=self.bank,
            registry=self.registry,
        )

    def govern(self, action_type: int, member: str) -> None:
        """Both banks vote an action on `member` through."""
        action = (action_type, member, 0, b"\x00" * 32, 0)
        self.bank.transact(self.consortium.functions.propose(action))
        proposal_id = self.consortium.functions.proposalCount().call()
        self.bank.transact(self.consortium.functions.vote(proposal_id, True))
        self.other_bank.transact(self.consortium.functions.vote(proposal_id, True))
        self.bank.transact(self.consortium.functions.execute(proposal_id))

    def object_path(self, cid: str) -> Path:
        return self.store_root / "objects" / cid[-2:] / cid


@pytest.fixture
def node(
    system: dict[str, Any], sender_for: Callable[[int], TransactionSender], tmp_path: Path
) -> Node:
    bank = sender_for(BANK_INDEX)
    vehicle = vehicle_id("documents")
    register_vehicle(bank, system["VehicleRegistry"], vehicle, 25_000_00)
    node = Node(
        registry=system["VehicleRegistry"],
        consortium=system["Consortium"],
        bank=bank,
        other_bank=sender_for(OTHER_BANK_INDEX),
        issuer=sender_for(ISSUER_INDEX),
        store=EmbeddedDocumentStore(tmp_path / "store"),
        store_root=tmp_path / "store",
        key_dir=tmp_path / "keys",
        vehicle=vehicle,
        sender_for=sender_for,
    )
    # Each account's one sender: two senders of an account would reuse a nonce.
    for index, member in ((BANK_INDEX, node.bank), (OTHER_BANK_INDEX, node.other_bank)):
        ensure_published(node.key_file(index), member, node.consortium)
    ensure_published(node.key_file(AUDITOR_INDEX), sender_for(AUDITOR_INDEX), node.consortium)
    return node


def signed_by(node: Node, private_key: str, fields: DocumentAnchor) -> bytes:
    message = document_message(fields, node.bank.w3.eth.chain_id, node.registry.address)
    return bytes(Account.from_key(private_key).sign_message(message).signature)


def latest_timestamp(node: Node) -> int:
    return int(node.bank.w3.eth.get_block("latest")["timestamp"])


def outcomes(result: Any) -> dict[str, str]:
    return {check.name.value: check.outcome.value for check in result.checks}


def test_a_document_anchored_by_the_issuers_node_verifies(node: Node) -> None:
    anchored = node.anchor("oil changed at 42 000 km")

    result = node.verifier().verify_document(anchored.document_id)

    assert result.status is Status.VERIFIED
    assert set(outcomes(result).values()) == {"passed"}
    assert outcomes(result).keys() == {name.value for name in CheckName}
    assert result.anchor.issuer == node.issuer.address
    assert result.anchor.cid_text == anchored.cid
    assert result.anchor.transaction_hash == anchored.transaction_hash
    shown = result.as_json()
    assert shown["status"] == "verified"
    assert shown["document_id"] == "0x" + anchored.document_id.hex()
    # The same answer by CID and by hex id.
    assert node.verifier().verify_document(anchored.cid).anchor == result.anchor
    hex_id = "0x" + anchored.document_id.hex()
    assert node.verifier().verify_document(hex_id).status is Status.VERIFIED


def test_a_presigned_document_is_anchored_by_a_banks_node(node: Node) -> None:
    plaintext = b"insurer ACME, policy P-1"
    # Sealed by the issuer's software for the readers the chain lists now.
    presigned, content_hash = node.presigned(
        plaintext, DocumentType.INSURANCE, node.readers.readers()
    )

    anchored = node.anchor_on_bank(plaintext, presigned, DocumentType.INSURANCE)

    assert anchored.content_hash == content_hash
    result = node.verifier().verify_document(anchored.document_id)
    assert result.status is Status.VERIFIED
    assert result.anchor.doc_type is DocumentType.INSURANCE


def test_a_presigned_envelope_of_other_bytes_is_refused_before_anything_is_stored(
    node: Node,
) -> None:
    presigned, _ = node.presigned(
        b"the real report", DocumentType.INSPECTION, node.readers.readers()
    )
    with pytest.raises(EnvelopeTampered, match="other bytes"):
        node.anchor_on_bank(b"a nicer report", presigned, DocumentType.INSPECTION)
    assert not node.store.is_pinned(str(compute_cid(presigned.envelope)))


def test_a_presigned_envelope_must_be_sealed_for_exactly_the_readers(node: Node) -> None:
    """A dishonest issuer leaves a reader out (it could never open the document), or adds
    a key of its own (it could open what only readers may): the bank's node refuses both."""
    readers = node.readers.readers()
    plaintext = b"claim C-7"
    auditor = node.sender_for(AUDITOR_INDEX).address
    without_auditor = tuple(r for r in readers if r.key_id.member != auditor)
    presigned, _ = node.presigned(plaintext, DocumentType.CLAIM, without_auditor)
    with pytest.raises(
        EnvelopeRecipientsRefused, match=f"missing {auditor} key v1; not readers none"
    ):
        node.anchor_on_bank(plaintext, presigned, DocumentType.CLAIM)

    issuer_keys = new_keyring(node.issuer.address)
    own = Recipient(KeyId(node.issuer.address, 1), issuer_keys.current.public_key)
    presigned, _ = node.presigned(plaintext, DocumentType.CLAIM, (*readers, own))
    with pytest.raises(EnvelopeRecipientsRefused, match=f"not readers {node.issuer.address}"):
        node.anchor_on_bank(plaintext, presigned, DocumentType.CLAIM)

    not_for_this_bank = tuple(r for r in readers if r.key_id.member != node.bank.address)
    presigned, _ = node.presigned(plaintext, DocumentType.CLAIM, not_for_this_bank)
    with pytest.raises(EnvelopeRecipientsRefused, match="not sealed for this node"):
        node.anchor_on_bank(plaintext, presigned, DocumentType.CLAIM)
    assert not node.store.is_pinned(str(compute_cid(presigned.envelope)))


def test_a_forged_signature_is_refused_at_anchoring_and_nothing_is_stored(node: Node) -> None:
    plaintext = b"no accident recorded"
    sealed = seal(plaintext, node.readers.readers())
    issued_at = latest_timestamp(node)
    fields = DocumentAnchor(
        node.vehicle,
        DocumentType.CLAIM,
        compute_cid(sealed.envelope).binary,
        sealed.content_hash,
        issued_at,
    )
    # A stranger signs, claiming to be the consortium's issuer.
    forged = signed_by(node, DEV_PRIVATE_KEYS[STRANGER_INDEX], fields)
    stranger = Account.from_key(DEV_PRIVATE_KEYS[STRANGER_INDEX]).address

    with pytest.raises(TransactionReverted) as refused:
        anchor_document(
            plaintext,
            TEXT,
            node.vehicle,
            DocumentType.CLAIM,
            Presigned(node.issuer.address, issued_at, forged, sealed.envelope),
            store=node.store,
            readers=node.readers,
            keyring=node.keyring(BANK_INDEX),
            sender=node.bank,
            registry=node.registry,
        )

    assert refused.value.error_name == "RegistryInvalidSigner"
    assert refused.value.args_decoded == (node.issuer.address, stranger)
    assert not node.store.is_pinned(str(compute_cid(sealed.envelope)))


def test_flipped_bytes_in_the_store_are_tampered(node: Node) -> None:
    anchored = node.anchor("brakes replaced")
    path = node.object_path(anchored.cid)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    result = node.verifier().verify_document(anchored.document_id)

    assert result.status is Status.TAMPERED
    assert result.check(CheckName.CONTENT_MATCHES_CID).outcome is Outcome.FAILED
    assert result.check(CheckName.ENVELOPE_OPENS).outcome is Outcome.SKIPPED
    # The anchor itself is sound: signature, revocation and issuer still pass.
    assert result.check(CheckName.ISSUER_SIGNATURE).passed
    assert result.check(CheckName.ISSUER_ACTIVE).passed


def test_an_envelope_anchored_under_another_hash_is_tampered(node: Node) -> None:
    """The issuer signed and anchored the hash of other bytes than the envelope holds."""
    readers = node.readers.readers()
    sealed = seal(b"mileage 42 000 km", readers)
    cid = node.store.add(sealed.envelope)
    fields = DocumentAnchor(
        node.vehicle,
        DocumentType.INSPECTION,
        Cid.parse(cid).binary,
        seal(b"mileage 12 000 km", readers).content_hash,
        latest_timestamp(node),
    )
    signature = signed_by(node, DEV_PRIVATE_KEYS[ISSUER_INDEX], fields)
    node.bank.transact(
        node.registry.functions.anchorDocument(
            fields.vehicle_id,
            int(fields.doc_type),
            fields.cid,
            fields.content_hash,
            node.issuer.address,
            fields.issued_at,
            signature,
        )
    )

    result = node.verifier().verify_cid(cid)

    assert [r.status for r in result] == [Status.TAMPERED]
    assert result[0].check(CheckName.CONTENT_MATCHES_CID).passed
    assert result[0].check(CheckName.ENVELOPE_OPENS).passed
    content_hash = result[0].check(CheckName.CONTENT_HASH)
    assert content_hash.outcome is Outcome.FAILED
    assert "not the anchored hash" in content_hash.detail
    assert result[0].check(CheckName.ISSUER_SIGNATURE).passed


def test_the_anchored_hash_is_salted_and_only_readers_check_the_content(node: Node) -> None:
    """On-chain, sha256(document) would confirm a guess; the anchor is sha256(salt |
    document). The other bank and the auditor open the issuer's envelope; the issuer's node
    and an oracle operator hold no key for it: their answer is unavailable, not tampered."""
    plaintext = b"inspection passed, brakes 80%"
    anchored = node.anchor(plaintext.decode())
    on_chain = node.registry.functions.document(anchored.document_id).call()[1]
    assert bytes(on_chain) == anchored.content_hash != hashlib.sha256(plaintext).digest()

    envelope = node.store.cat(anchored.cid)
    for reader in (BANK_INDEX, OTHER_BANK_INDEX, AUDITOR_INDEX):
        opened = open_envelope(envelope, node.keyring(reader), anchored.content_hash)
        assert opened.plaintext == plaintext
        assert node.verifier(reader=reader).verify_document(anchored.document_id).status is (
            Status.VERIFIED
        )

    for_issuer = node.verifier(reader=None).verify_document(anchored.document_id)
    assert for_issuer.status is Status.UNAVAILABLE
    assert for_issuer.check(CheckName.ENVELOPE_OPENS).outcome is Outcome.UNAVAILABLE
    assert for_issuer.check(CheckName.CONTENT_HASH).outcome is Outcome.SKIPPED
    assert for_issuer.check(CheckName.ISSUER_SIGNATURE).passed
    # An operator that made itself a key pair: the contract refuses to publish it, and no
    # envelope names it.
    operator = node.sender_for(OPERATOR_INDEX)
    assert ensure_published(node.key_dir / "operator.json", operator, node.consortium) is None
    with pytest.raises(TransactionReverted) as refused:
        operator.transact(node.consortium.functions.setDocumentKey(b"\x09" * 32))
    assert refused.value.error_name == "ConsortiumUnauthorizedAccount"
    outsider = new_keyring(operator.address)
    verifier = DocumentVerifier(node.bank.w3, node.registry, node.consortium, node.store, outsider)
    result = verifier.verify_document(anchored.document_id)
    assert result.status is Status.UNAVAILABLE
    assert "not sealed for this member" in result.check(CheckName.ENVELOPE_OPENS).detail


def test_a_member_removed_before_sealing_gets_no_wrapped_key(node: Node) -> None:
    before = node.anchor("sealed while the auditor was a member")
    auditor = node.sender_for(AUDITOR_INDEX).address
    node.govern(REMOVE_MEMBER, auditor)

    assert auditor not in {r.key_id.member for r in node.readers.readers()}
    after = node.anchor("sealed after the auditor left")

    assert auditor not in {k.member for k in recipients_of(node.store.cat(after.cid))}
    assert node.verifier(reader=AUDITOR_INDEX).verify_document(after.document_id).status is (
        Status.UNAVAILABLE
    )
    # What it could read while a member stays readable to it: it held the key then.
    assert node.verifier(reader=AUDITOR_INDEX).verify_document(before.document_id).status is (
        Status.VERIFIED
    )
    assert node.verifier(reader=OTHER_BANK_INDEX).verify_document(after.document_id).status is (
        Status.VERIFIED
    )


def test_a_bank_publishing_an_unusable_key_cannot_block_uploads(node: Node) -> None:
    """A low-order point makes every X25519 shared secret zero: sealing for it would fail
    (or be readable by anyone). The readers leave that bank out; everyone else still reads."""
    node.other_bank.transact(node.consortium.functions.setDocumentKey(b"\x01" + bytes(31)))

    readers = {r.key_id.member for r in node.readers.readers()}
    assert node.other_bank.address not in readers
    assert node.bank.address in readers
    anchored = node.anchor("sealed while bank B's key is junk")
    assert node.verifier(reader=AUDITOR_INDEX).verify_document(anchored.document_id).status is (
        Status.VERIFIED
    )


def test_after_rotation_old_and_new_documents_open(node: Node) -> None:
    old = node.anchor("sealed for key v1")
    published = rotate(node.key_file(OTHER_BANK_INDEX), node.other_bank, node.consortium)
    assert published.version == 2
    on_chain = node.consortium.functions.documentKeyOf(node.other_bank.address).call()
    assert (bytes(on_chain[0]), on_chain[1]) == (published.keyring.current.public_key, 2)

    new = node.anchor("sealed for key v2")

    assert KeyId(node.other_bank.address, 2) in recipients_of(node.store.cat(new.cid))
    assert KeyId(node.other_bank.address, 1) not in recipients_of(node.store.cat(new.cid))
    verifier = node.verifier(reader=OTHER_BANK_INDEX)
    assert verifier.verify_document(old.document_id).status is Status.VERIFIED
    assert verifier.verify_document(new.document_id).status is Status.VERIFIED


def test_a_document_revoked_by_its_issuer_is_revoked(node: Node) -> None:
    anchored = node.anchor("inspection passed")
    node.issuer.transact(node.registry.functions.revokeDocument(anchored.document_id))

    result = node.verifier().verify_document(anchored.document_id)

    assert result.status is Status.REVOKED
    assert result.check(CheckName.NOT_REVOKED).outcome is Outcome.FAILED
    assert result.check(CheckName.CONTENT_HASH).passed


def test_documents_of_an_issuer_suspended_by_governance_have_an_unknown_issuer(
    node: Node,
) -> None:
    anchored = node.anchor("tyres replaced")
    assert node.verifier().verify_document(anchored.document_id).status is Status.VERIFIED

    action = (SUSPEND_MEMBER, node.issuer.address, 0, b"\x00" * 32, 0)
    node.bank.transact(node.consortium.functions.propose(action))
    proposal_id = node.consortium.functions.proposalCount().call()
    node.bank.transact(node.consortium.functions.vote(proposal_id, True))
    node.other_bank.transact(node.consortium.functions.vote(proposal_id, True))
    node.bank.transact(node.consortium.functions.execute(proposal_id))

    result = node.verifier().verify_document(anchored.document_id)

    assert result.status is Status.UNKNOWN_ISSUER
    issuer_check = result.check(CheckName.ISSUER_ACTIVE)
    assert issuer_check.outcome is Outcome.FAILED
    assert "suspended" in issuer_check.detail
    assert result.check(CheckName.ISSUER_SIGNATURE).passed


def test_a_document_the_store_cannot_deliver_is_unavailable(node: Node, tmp_path: Path) -> None:
    anchored = node.anchor("windscreen replaced")
    elsewhere = EmbeddedDocumentStore(tmp_path / "other-node")

    result = node.verifier(store=elsewhere).verify_document(anchored.document_id)

    assert result.status is Status.UNAVAILABLE
    available = result.check(CheckName.CONTENT_AVAILABLE)
    assert available.outcome is Outcome.UNAVAILABLE
    assert anchored.cid in available.detail
    assert result.check(CheckName.CONTENT_HASH).outcome is Outcome.SKIPPED
    assert result.check(CheckName.ISSUER_SIGNATURE).passed


def test_an_unavailable_document_that_is_revoked_answers_revoked(
    node: Node, tmp_path: Path
) -> None:
    anchored = node.anchor("recalled part fitted")
    node.issuer.transact(node.registry.functions.revokeDocument(anchored.document_id))
    elsewhere = EmbeddedDocumentStore(tmp_path / "other-node")

    result = node.verifier(store=elsewhere).verify_document(anchored.document_id)

    assert result.status is Status.REVOKED


def test_all_documents_of_a_vehicle_are_verified_again_on_demand(node: Node) -> None:
    kept = node.anchor("service 1")
    revoked = node.anchor("service 2")
    corrupted = node.anchor("service 3")
    other_vehicle = vehicle_id("other")
    register_vehicle(node.bank, node.registry, other_vehicle, 10_000_00)
    node.anchor("someone else's car", other_vehicle)
    verifier = node.verifier()

    before = verifier.verify_vehicle_documents(node.vehicle)
    assert [r.anchor.document_id for r in before] == [
        kept.document_id,
        revoked.document_id,
        corrupted.document_id,
    ]
    assert {r.status for r in before} == {Status.VERIFIED}

    node.issuer.transact(node.registry.functions.revokeDocument(revoked.document_id))
    node.object_path(corrupted.cid).write_bytes(b"VCL1" + os.urandom(40))

    after = verifier.verify_vehicle_documents(node.vehicle)
    assert [r.status for r in after] == [Status.VERIFIED, Status.REVOKED, Status.TAMPERED]
    assert all(r.checked_at_block > before[0].checked_at_block for r in after)
    assert verifier.verify_vehicle_documents(vehicle_id("never registered")) == ()


def test_a_cid_is_found_through_the_indexed_events(
    node: Node, settings: Settings, tmp_path: Path
) -> None:
    anchored = node.anchor("found through the node database")
    database_url = f"sqlite:///{tmp_path / 'node.db'}"
    migrate(database_url)
    engine = make_engine(database_url)
    Indexer.from_settings(settings, NodeSettings(), engine).catch_up()
    verifier = node.verifier(engine=engine)

    assert verifier.document_ids_for_cid(anchored.cid) == [anchored.document_id]
    assert verifier.verify_document(anchored.cid).status is Status.VERIFIED


def test_an_unknown_document_is_an_error_not_a_result(node: Node) -> None:
    verifier = node.verifier()
    with pytest.raises(UnknownDocument):
        verifier.verify_document(Web3.keccak(text="never anchored"))
    with pytest.raises(UnknownDocument):
        verifier.verify_document(str(compute_cid(b"never stored")))


# Signature recovery and the status precedence, without a chain.

FIELDS = DocumentAnchor(
    vehicle_id=b"\x01" * 32,
    doc_type=DocumentType.MAINTENANCE,
    cid=compute_cid(b"envelope").binary,
    content_hash=hashlib.sha256(b"salt" + b"plaintext").digest(),
    issued_at=1_700_000_000,
)


def sign(private_key: str, fields: DocumentAnchor = FIELDS) -> bytes:
    message = document_message(fields, CHAIN_ID, REGISTRY)
    return bytes(Account.from_key(private_key).sign_message(message).signature)


def signature_check(signature: bytes, document_id: bytes | None = None) -> Check:
    return check_issuer_signature(
        FIELDS,
        signature,
        issuer=Account.from_key(DEV_PRIVATE_KEYS[ISSUER_INDEX]).address,
        document_id=document_id or document_digest(FIELDS, CHAIN_ID, REGISTRY),
        chain_id=CHAIN_ID,
        registry_address=REGISTRY,
    )


def test_the_issuers_own_signature_passes() -> None:
    assert signature_check(sign(DEV_PRIVATE_KEYS[ISSUER_INDEX])).passed


def test_a_signature_by_another_key_is_a_bad_signature() -> None:
    check = signature_check(sign(DEV_PRIVATE_KEYS[STRANGER_INDEX]))

    assert check.outcome is Outcome.FAILED
    stranger = Account.from_key(DEV_PRIVATE_KEYS[STRANGER_INDEX]).address
    assert stranger in check.detail
    assert overall_status([check]) is Status.BAD_SIGNATURE


def test_a_signature_over_other_fields_is_a_bad_signature() -> None:
    altered = DocumentAnchor(
        FIELDS.vehicle_id,
        FIELDS.doc_type,
        FIELDS.cid,
        hashlib.sha256(b"other").digest(),
        FIELDS.issued_at,
    )
    check = signature_check(sign(DEV_PRIVATE_KEYS[ISSUER_INDEX], altered))
    assert check.outcome is Outcome.FAILED


def test_fields_that_do_not_hash_to_the_document_id_are_a_bad_signature() -> None:
    check = signature_check(sign(DEV_PRIVATE_KEYS[ISSUER_INDEX]), document_id=b"\x02" * 32)
    assert check.outcome is Outcome.FAILED
    assert "document id" in check.detail


def test_a_malformed_signature_is_a_bad_signature() -> None:
    check = signature_check(sign(DEV_PRIVATE_KEYS[ISSUER_INDEX])[:64])
    assert check.outcome is Outcome.FAILED
    assert "65 bytes" in check.detail


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ({}, Status.VERIFIED),
        ({CheckName.ISSUER_ACTIVE: Outcome.FAILED}, Status.UNKNOWN_ISSUER),
        (
            {CheckName.ISSUER_ACTIVE: Outcome.FAILED, CheckName.NOT_REVOKED: Outcome.FAILED},
            Status.REVOKED,
        ),
        (
            {CheckName.ISSUER_SIGNATURE: Outcome.FAILED, CheckName.NOT_REVOKED: Outcome.FAILED},
            Status.BAD_SIGNATURE,
        ),
        (
            {CheckName.CONTENT_HASH: Outcome.FAILED, CheckName.ISSUER_SIGNATURE: Outcome.FAILED},
            Status.TAMPERED,
        ),
        (
            {
                CheckName.CONTENT_AVAILABLE: Outcome.UNAVAILABLE,
                CheckName.CONTENT_MATCHES_CID: Outcome.SKIPPED,
                CheckName.ENVELOPE_OPENS: Outcome.SKIPPED,
                CheckName.CONTENT_HASH: Outcome.SKIPPED,
            },
            Status.UNAVAILABLE,
        ),
        (
            {
                CheckName.CONTENT_AVAILABLE: Outcome.UNAVAILABLE,
                CheckName.CONTENT_MATCHES_CID: Outcome.SKIPPED,
                CheckName.ENVELOPE_OPENS: Outcome.SKIPPED,
                CheckName.CONTENT_HASH: Outcome.SKIPPED,
                CheckName.ISSUER_ACTIVE: Outcome.FAILED,
            },
            Status.UNKNOWN_ISSUER,
        ),
    ],
)
def test_the_most_severe_result_decides_the_status(
    results: dict[CheckName, Outcome], expected: Status
) -> None:
    checks = [Check(name, results.get(name, Outcome.PASSED), "") for name in CheckName]
    assert overall_status(checks) is expected


def test_anchor_record_shows_a_malformed_cid_as_hex() -> None:
    record = AnchorRecord(
        b"\x00" * 32,
        b"\x01" * 32,
        DocumentType.CLAIM,
        b"\xff\xfe",
        b"\x02" * 32,
        Account.from_key(DEV_PRIVATE_KEYS[ISSUER_INDEX]).address,
        1,
        False,
        "0x",
        1,
    )
    assert record.cid_text == "0xfffe"


# On a node: from the index, with a cache invalidated by the events that change a result.


class CountingProvider(HTTPProvider):
    """Anvil's RPC, recording the method of every request the verifier makes."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.methods: list[str] = []

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        self.methods.append(str(method))
        return super().make_request(method, params)


@dataclass
class IndexedNode:
    verifier: DocumentVerifier
    provider: CountingProvider
    indexer: Indexer

    def calls(self) -> list[str]:
        """The chain calls since the last look."""
        made, self.provider.methods = self.provider.methods, []
        return made


@pytest.fixture
def indexed(node: Node, settings: Settings, tmp_path: Path) -> Iterator[IndexedNode]:
    database_url = f"sqlite:///{tmp_path / 'indexed.db'}"
    migrate(database_url)
    engine = make_engine(database_url)
    indexer = Indexer.from_settings(settings, NodeSettings(), engine)
    provider = CountingProvider(settings.rpc_url)
    w3 = Web3(provider)
    verifier = DocumentVerifier(
        w3,
        w3.eth.contract(address=node.registry.address, abi=node.registry.abi),
        w3.eth.contract(address=node.consortium.address, abi=node.consortium.abi),
        node.store,
        node.keyring(BANK_INDEX),
        engine=engine,
        cache_entries=8,
    )
    provider.methods.clear()  # the chain id, read once when the verifier is made
    yield IndexedNode(verifier, provider, indexer)
    engine.dispose()


def test_a_cold_verification_makes_one_chain_call_and_a_cached_one_none(
    node: Node, indexed: IndexedNode
) -> None:
    anchored = node.anchor("verified from the index")
    other = node.anchor("another document, the same issuer")
    indexed.indexer.catch_up()
    cursor = indexed.indexer.store.cursor()
    assert cursor is not None

    cold = indexed.verifier.verify_document(anchored.cid)
    assert cold.status is Status.VERIFIED
    assert cold.checked_at_block == cursor.number  # the indexed block, not the chain's head
    assert indexed.calls() == ["eth_getTransactionByHash"]  # the signature's calldata only

    cached = indexed.verifier.verify_document(anchored.cid)
    assert cached == cold
    assert indexed.verifier.verify_cid(anchored.cid) == (cold,)
    assert indexed.calls() == []

    # The index moved on (a block with nothing about this document): still no chain call.
    indexed.verifier.verify_document(other.document_id)
    node.anchor("a third one")
    indexed.indexer.catch_up()
    indexed.calls()
    again = indexed.verifier.verify_document(anchored.document_id)
    assert again.status is Status.VERIFIED
    assert again.checked_at_block > cold.checked_at_block
    assert indexed.calls() == []

    # The same answer as the chain's own path (a verifier without the node database).
    from_chain = node.verifier().verify_document(anchored.document_id)
    assert from_chain.as_json() | {"checked_at_block": 0} == cold.as_json() | {
        "checked_at_block": 0
    }


def test_a_revocation_by_the_issuer_ends_a_cached_verification(
    node: Node, indexed: IndexedNode
) -> None:
    anchored = node.anchor("revoked later")
    kept = node.anchor("not revoked")
    indexed.indexer.catch_up()
    assert indexed.verifier.verify_document(anchored.document_id).status is Status.VERIFIED
    assert indexed.verifier.verify_document(kept.document_id).status is Status.VERIFIED

    node.issuer.transact(node.registry.functions.revokeDocument(anchored.document_id))
    # Not indexed yet: the answer is the index's, at its block.
    assert indexed.verifier.verify_document(anchored.document_id).status is Status.VERIFIED
    indexed.indexer.catch_up()
    indexed.calls()

    result = indexed.verifier.verify_document(anchored.document_id)
    assert result.status is Status.REVOKED
    assert result.check(CheckName.NOT_REVOKED).detail == "revoked by its issuer"
    assert indexed.verifier.verify_document(kept.document_id).status is Status.VERIFIED
    assert indexed.calls() == []  # content and calldata were kept: no chain call either


def test_a_governance_cutoff_and_a_suspension_end_cached_verifications(
    node: Node, indexed: IndexedNode
) -> None:
    anchored = node.anchor("before the cutoff")
    indexed.indexer.catch_up()
    assert indexed.verifier.verify_document(anchored.document_id).status is Status.VERIFIED

    # Suspended: unknown issuer; reinstated: verified again.
    node.govern(SUSPEND_MEMBER, node.issuer.address)
    indexed.indexer.catch_up()
    suspended = indexed.verifier.verify_document(anchored.document_id)
    assert suspended.status is Status.UNKNOWN_ISSUER
    assert "suspended" in suspended.check(CheckName.ISSUER_ACTIVE).detail
    node.govern(REINSTATE_MEMBER, node.issuer.address)
    indexed.indexer.catch_up()
    assert indexed.verifier.verify_document(anchored.document_id).status is Status.VERIFIED

    # A governance cutoff revokes it for good, reinstated issuer or not.
    cutoff = latest_timestamp(node)
    action = (REVOKE_ISSUER_DOCUMENTS, node.issuer.address, 0, b"\x00" * 32, cutoff)
    node.bank.transact(node.consortium.functions.propose(action))
    proposal_id = node.consortium.functions.proposalCount().call()
    node.bank.transact(node.consortium.functions.vote(proposal_id, True))
    node.other_bank.transact(node.consortium.functions.vote(proposal_id, True))
    node.bank.transact(node.consortium.functions.execute(proposal_id))
    indexed.indexer.catch_up()
    indexed.calls()
    revoked = indexed.verifier.verify_document(anchored.document_id)
    assert revoked.status is Status.REVOKED
    assert "governance vote" in revoked.check(CheckName.NOT_REVOKED).detail
    assert revoked.anchor.revoked_by_governance
    assert indexed.calls() == []
    # The chain's own path says the same.
    from_chain = node.verifier().verify_document(anchored.document_id)
    assert from_chain.status is Status.REVOKED
    assert from_chain.check(CheckName.NOT_REVOKED) == revoked.check(CheckName.NOT_REVOKED)


def test_a_document_not_indexed_yet_is_looked_up_once_the_index_reaches_the_head(
    node: Node, indexed: IndexedNode
) -> None:
    indexed.indexer.catch_up()
    anchored = node.anchor("anchored past the index")

    with pytest.raises(IndexBehind):  # a verifier that cannot wait for its index
        indexed.verifier.verify_document(anchored.cid)
    assert indexed.calls() == ["eth_blockNumber"]

    def catch_up(block: int) -> bool:
        indexed.indexer.catch_up()
        cursor = indexed.indexer.store.cursor()
        return cursor is not None and cursor.number >= block

    indexed.verifier.await_indexed = catch_up
    assert indexed.verifier.verify_document(anchored.cid).status is Status.VERIFIED
    with pytest.raises(UnknownDocument):
        indexed.verifier.verify_document(str(compute_cid(b"anchored by nobody")))
    with pytest.raises(UnknownDocument):
        indexed.verifier.verify_cid(str(compute_cid(b"anchored by nobody")))


def test_the_cache_is_bounded(node: Node, indexed: IndexedNode) -> None:
    documents = [node.anchor(f"document {i}") for i in range(3)]
    indexed.indexer.catch_up()
    indexed.verifier.cache_entries = 2
    for document in documents:
        indexed.verifier.verify_document(document.document_id)
    indexed.calls()
    assert len(indexed.verifier._results) == 2
    indexed.verifier.verify_document(documents[0].document_id)  # evicted: computed again
    assert len(indexed.verifier._results) == 2


def test_a_result_whose_content_was_not_delivered_is_not_kept(
    node: Node, indexed: IndexedNode
) -> None:
    anchored = node.anchor("delivered later")
    indexed.indexer.catch_up()
    path = node.object_path(anchored.cid)
    envelope = path.read_bytes()
    path.unlink()
    assert indexed.verifier.verify_document(anchored.cid).status is Status.UNAVAILABLE

    path.write_bytes(envelope)  # what a fetch from a peer brings
    assert indexed.verifier.verify_document(anchored.cid).status is Status.VERIFIED
    path.unlink()  # once passed, the content checks are kept: immutable bytes
    assert indexed.verifier.verify_document(anchored.cid).status is Status.VERIFIED


def test_a_reorg_that_removes_a_revocation_makes_the_document_verified_again(
    node: Node, indexed: IndexedNode
) -> None:
    anchored = node.anchor("revoked on a fork")
    indexed.indexer.catch_up()
    assert indexed.verifier.verify_document(anchored.document_id).status is Status.VERIFIED
    node.issuer.transact(node.registry.functions.revokeDocument(anchored.document_id))
    indexed.indexer.catch_up()
    assert indexed.verifier.verify_document(anchored.document_id).status is Status.REVOKED

    # anvil replaces the revocation's block by an empty one: the index rewinds and refolds.
    answer = node.bank.w3.provider.make_request("anvil_reorg", [1, []])  # type: ignore[arg-type]
    assert "error" not in answer, answer
    indexed.indexer.catch_up()
    assert indexed.verifier.verify_document(anchored.document_id).status is Status.VERIFIED
