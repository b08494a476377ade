"""Document anchoring and verification against a real anvil, the deployed contracts and the
embedded document store."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from chain_activity import register_vehicle, vehicle_id
from eth_account import Account
from sqlalchemy import Engine
from web3 import Web3

from node_api.anchoring import AnchoredDocument, Presigned, anchor_document
from node_api.config import NodeSettings
from node_api.db import make_engine, migrate
from node_api.documents.crypto import seal, sha256
from node_api.documents.embedded import EmbeddedDocumentStore
from node_api.documents.errors import EnvelopeTampered
from node_api.documents.policy import TEXT
from node_api.indexer import Indexer
from node_api.verification import (
    AnchorRecord,
    Check,
    CheckName,
    DocumentVerifier,
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
ISSUER_INDEX = 7
STRANGER_INDEX = 9
CHAIN_ID = 1337
REGISTRY = "0x" + "12" * 20


@dataclass
class Node:
    """One node's view: the contracts, a bank and the issuer, a store and the document key."""

    registry: Any
    consortium: Any
    bank: TransactionSender
    other_bank: TransactionSender
    issuer: TransactionSender
    store: EmbeddedDocumentStore
    store_root: Path
    key: bytes
    vehicle: bytes

    def verifier(
        self,
        store: EmbeddedDocumentStore | None = None,
        document_key: bytes | None = None,
        engine: Engine | None = None,
    ) -> DocumentVerifier:
        return DocumentVerifier(
            self.bank.w3,
            self.registry,
            self.consortium,
            store or self.store,
            document_key or self.key,
            engine=engine,
        )

    def anchor(self, text: str, vehicle: bytes | None = None) -> AnchoredDocument:
        """Anchored on the issuer's node: the node seals and signs with the issuer's key."""
        return anchor_document(
            text.encode(),
            TEXT,
            vehicle or self.vehicle,
            DocumentType.MAINTENANCE,
            self.issuer.account,
            store=self.store,
            document_key=self.key,
            sender=self.issuer,
            registry=self.registry,
        )

    def object_path(self, cid: str) -> Path:
        return self.store_root / "objects" / cid[-2:] / cid


@pytest.fixture
def node(
    system: dict[str, Any], sender_for: Callable[[int], TransactionSender], tmp_path: Path
) -> Node:
    bank = sender_for(1)
    vehicle = vehicle_id("documents")
    register_vehicle(bank, system["VehicleRegistry"], vehicle, 25_000_00)
    return Node(
        registry=system["VehicleRegistry"],
        consortium=system["Consortium"],
        bank=bank,
        other_bank=sender_for(2),
        issuer=sender_for(ISSUER_INDEX),
        store=EmbeddedDocumentStore(tmp_path / "store"),
        store_root=tmp_path / "store",
        key=os.urandom(32),
        vehicle=vehicle,
    )


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
    plaintext = b'{"insurer": "ACME", "policy": "P-1"}'
    envelope = seal(plaintext, node.key)  # sealed by the issuer's software
    issued_at = latest_timestamp(node)
    fields = DocumentAnchor(
        node.vehicle,
        DocumentType.INSURANCE,
        compute_cid(envelope).binary,
        sha256(plaintext),
        issued_at,
    )
    signature = signed_by(node, DEV_PRIVATE_KEYS[ISSUER_INDEX], fields)

    anchored = anchor_document(
        plaintext,
        "application/json",
        node.vehicle,
        DocumentType.INSURANCE,
        Presigned(node.issuer.address, issued_at, signature, envelope),
        store=node.store,
        document_key=node.key,
        sender=node.bank,
        registry=node.registry,
    )

    result = node.verifier().verify_document(anchored.document_id)
    assert result.status is Status.VERIFIED
    assert result.anchor.doc_type is DocumentType.INSURANCE


def test_a_presigned_envelope_of_other_bytes_is_refused_before_anything_is_stored(
    node: Node,
) -> None:
    envelope = seal(b"the real report", node.key)
    with pytest.raises(EnvelopeTampered):
        anchor_document(
            b"a nicer report",
            TEXT,
            node.vehicle,
            DocumentType.INSPECTION,
            Presigned(node.issuer.address, 1, b"\x00" * 65, envelope),
            store=node.store,
            document_key=node.key,
            sender=node.bank,
            registry=node.registry,
        )
    assert not node.store.is_pinned(str(compute_cid(envelope)))


def test_a_forged_signature_is_refused_at_anchoring_and_nothing_is_stored(node: Node) -> None:
    plaintext = b"no accident recorded"
    envelope = seal(plaintext, node.key)
    issued_at = latest_timestamp(node)
    fields = DocumentAnchor(
        node.vehicle,
        DocumentType.CLAIM,
        compute_cid(envelope).binary,
        sha256(plaintext),
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
            Presigned(node.issuer.address, issued_at, forged, envelope),
            store=node.store,
            document_key=node.key,
            sender=node.bank,
            registry=node.registry,
        )

    assert refused.value.error_name == "RegistryInvalidSigner"
    assert refused.value.args_decoded == (node.issuer.address, stranger)
    assert not node.store.is_pinned(str(compute_cid(envelope)))


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
    envelope = seal(b"mileage 42 000 km", node.key)
    cid = node.store.add(envelope)
    fields = DocumentAnchor(
        node.vehicle,
        DocumentType.INSPECTION,
        Cid.parse(cid).binary,
        sha256(b"mileage 12 000 km"),
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
    assert result[0].check(CheckName.ENVELOPE_OPENS).outcome is Outcome.FAILED
    assert result[0].check(CheckName.ISSUER_SIGNATURE).passed


def test_an_envelope_that_does_not_open_under_the_consortium_key_is_tampered(
    node: Node,
) -> None:
    anchored = node.anchor("timing belt replaced")

    result = node.verifier(document_key=os.urandom(32)).verify_document(anchored.document_id)

    assert result.status is Status.TAMPERED
    assert result.check(CheckName.ENVELOPE_OPENS).outcome is Outcome.FAILED


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
    content_hash=sha256(b"plaintext"),
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
        FIELDS.vehicle_id, FIELDS.doc_type, FIELDS.cid, sha256(b"other"), FIELDS.issued_at
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
