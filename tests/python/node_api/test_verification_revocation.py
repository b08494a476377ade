"""Governance revocation of an issuer's documents, as verification reports it, against a real
anvil and the deployed contracts.

A compromised issuer's forgeries must not verify again once it is reinstated: the banks vote
a cutoff, and every document the issuer anchored up to it counts as revoked for good. The
documents here are anchored straight through the registry with no stored content (the
content checks are `unavailable`), so the revocation check is what decides.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from chain_activity import register_vehicle, vehicle_id
from eth_account import Account
from web3 import Web3

from node_api.documents.embedded import EmbeddedDocumentStore
from node_api.verification import CheckName, DocumentVerifier, Outcome, Status
from vcl.cid import compute_cid
from vcl.config import DEV_PRIVATE_KEYS
from vcl.contract_enums import ActionType
from vcl.deploy import DEV_FOUNDERS, MemberKind
from vcl.eip712 import DocumentAnchor, DocumentType, document_message
from vcl.errors import TransactionReverted
from vcl.sender import TransactionSender

ZERO_ADDRESS = "0x" + "00" * 20
ZERO_KEY = b"\x00" * 32
BANKS = [index for index, kind, _ in DEV_FOUNDERS if kind is MemberKind.BANK]
ISSUER = next(index for index, kind, _ in DEV_FOUNDERS if kind is MemberKind.DOCUMENT_ISSUER)


def anchored(system: dict[str, Any], issuer: TransactionSender, vehicle: bytes) -> bytes:
    """A document the issuer signs and anchors itself: its id."""
    registry = system["VehicleRegistry"]
    w3 = issuer.w3
    fields = DocumentAnchor(
        vehicle,
        DocumentType.INSPECTION,
        compute_cid(os.urandom(64)).binary,
        os.urandom(32),
        int(w3.eth.get_block("latest")["timestamp"]),
    )
    message = document_message(fields, w3.eth.chain_id, registry.address)
    signature = Account.from_key(DEV_PRIVATE_KEYS[ISSUER]).sign_message(message).signature
    receipt = issuer.transact(
        registry.functions.anchorDocument(
            fields.vehicle_id,
            int(fields.doc_type),
            fields.cid,
            fields.content_hash,
            issuer.address,
            fields.issued_at,
            bytes(signature),
        )
    )
    events = registry.events.DocumentAnchored().process_receipt(receipt)
    return bytes(events[0]["args"]["documentId"])


def voted(system: dict[str, Any], banks: list[TransactionSender], action: tuple[Any, ...]) -> None:
    """Proposed by the first bank, voted yes by every bank, executed."""
    consortium = system["Consortium"]
    banks[0].transact(consortium.functions.propose(action))
    proposal_id = consortium.functions.proposalCount().call()
    for bank in banks:
        bank.transact(consortium.functions.vote(proposal_id, True))
    banks[0].transact(consortium.functions.execute(proposal_id))


def advance(w3: Web3, seconds: int) -> None:
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


@pytest.fixture
def verifier(system: dict[str, Any], sender: TransactionSender, tmp_path: Any) -> DocumentVerifier:
    # No document key: nothing is opened here (no content is stored).
    return DocumentVerifier(
        sender.w3,
        system["VehicleRegistry"],
        system["Consortium"],
        EmbeddedDocumentStore(tmp_path / "store"),
        None,  # a node that is no reader
    )


def test_a_governance_cutoff_revokes_the_issuers_earlier_documents_for_good(
    system: dict[str, Any],
    sender_for: Callable[[int], TransactionSender],
    verifier: DocumentVerifier,
) -> None:
    banks = [sender_for(index) for index in BANKS]
    issuer = sender_for(ISSUER)
    w3 = issuer.w3
    vehicle = vehicle_id("revocation")
    register_vehicle(banks[0], system["VehicleRegistry"], vehicle, 25_000_00)
    forged = anchored(system, issuer, vehicle)
    assert verifier.verify_document(forged).check(CheckName.NOT_REVOKED).passed

    cutoff = int(w3.eth.get_block("latest")["timestamp"])
    revoke = (ActionType.REVOKE_ISSUER_DOCUMENTS, issuer.address, 0, ZERO_KEY, cutoff)
    voted(system, banks, revoke)
    advance(w3, 5)
    later = anchored(system, issuer, vehicle)  # anchored after the cutoff: not covered

    result = verifier.verify_document(forged)
    assert result.status is Status.REVOKED
    check = result.check(CheckName.NOT_REVOKED)
    assert check.outcome is Outcome.FAILED
    assert "governance vote" in check.detail
    assert issuer.address in check.detail
    assert result.anchor.revoked is False  # the issuer itself revoked nothing
    assert result.anchor.revoked_by_governance
    assert result.anchor.revocation_cutoff == cutoff
    assert verifier.verify_document(later).check(CheckName.NOT_REVOKED).passed

    # Suspended and reinstated by vote, the issuer's earlier documents stay revoked.
    voted(system, banks, (ActionType.SUSPEND_MEMBER, issuer.address, 0, ZERO_KEY, 0))
    voted(system, banks, (ActionType.REINSTATE_MEMBER, issuer.address, 0, ZERO_KEY, 0))
    again = verifier.verify_document(forged)
    assert again.status is Status.REVOKED
    assert again.check(CheckName.ISSUER_ACTIVE).passed
    assert verifier.verify_document(later).check(CheckName.NOT_REVOKED).passed


def test_one_bank_cannot_revoke_an_issuers_documents_alone(
    system: dict[str, Any],
    sender_for: Callable[[int], TransactionSender],
    verifier: DocumentVerifier,
) -> None:
    bank = sender_for(BANKS[0])
    issuer = sender_for(ISSUER)
    vehicle = vehicle_id("revocation-alone")
    register_vehicle(bank, system["VehicleRegistry"], vehicle, 25_000_00)
    document = anchored(system, issuer, vehicle)
    cutoff = int(bank.w3.eth.get_block("latest")["timestamp"])
    with pytest.raises(TransactionReverted) as refused:
        bank.transact(
            system["VehicleRegistry"].functions.revokeIssuerDocuments(issuer.address, cutoff)
        )
    assert refused.value.error_name == "ConsortiumUnauthorizedAccount"
    # A proposal voted by one bank only has not passed: nothing is revoked.
    consortium = system["Consortium"]
    revoke = (ActionType.REVOKE_ISSUER_DOCUMENTS, issuer.address, 0, ZERO_KEY, cutoff)
    bank.transact(consortium.functions.propose(revoke))
    proposal_id = consortium.functions.proposalCount().call()
    bank.transact(consortium.functions.vote(proposal_id, True))
    with pytest.raises(TransactionReverted) as early:
        bank.transact(consortium.functions.execute(proposal_id))
    assert early.value.error_name == "ConsortiumProposalNotPassed"
    assert verifier.verify_document(document).check(CheckName.NOT_REVOKED).passed
