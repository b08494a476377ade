"""VehicleRegistry: vehicles, appraisals, ownership, the single lien, EIP-712 anchored documents."""

import pytest
from brownie import VehicleRegistry, chain, web3
from conftest import (
    BANK_ROLE,
    CLAIM,
    INSURANCE,
    ISSUER_ROLE,
    MAINTENANCE,
    REGISTRATION,
    REINSTATE,
    REMOVE,
    REVOKE_ISSUER_DOCUMENTS,
    SUSPEND,
    SYSTEM_ROLE,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    action,
    deploy_proxied,
    govern,
    key,
    now,
    plain,
    reverts_with,
    sign_document,
)

VEHICLE = key(
    "hmac:LSVAU2180N2183294"
)  # stands for HMAC(consortium secret, VIN), computed off-chain
OWNER = key("owner-commitment:1")
NEW_OWNER = key("owner-commitment:2")
APPRAISAL = 150_000 * 10**2  # 150,000.00 in cents
CID = b"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"  # CIDv1 text, 59 bytes
CONTENT = key("document bytes")
REGISTER_VEHICLE_GAS_BUDGET = 150_000
# 130,000 before issue 15: a document now records its anchoring time (a new storage slot, about
# 22,000 gas), which a governance revocation cutoff is compared with.
ANCHOR_DOCUMENT_GAS_BUDGET = 165_000


@pytest.fixture
def registered(registry, funded):
    """VEHICLE registered by the first bank, per test (tests using ``registry`` see no vehicle)."""
    registry.registerVehicle(VEHICLE, OWNER, APPRAISAL, now() - 3600, {"from": funded.banks[0]})
    return registry


@pytest.fixture
def keeper(consortium, registry, funded):
    """An account bound as the LoanManager (a system contract); the binding is undone per test."""
    manager = funded.candidate
    consortium.bindSystemContracts(registry, funded.stranger, manager, {"from": funded.deployer})
    assert consortium.hasRole(SYSTEM_ROLE, manager)
    return manager


def anchor(
    registry,
    signer,
    sender=None,
    *,
    vehicle=VEHICLE,
    doc_type=INSURANCE,
    cid=CID,
    content=CONTENT,
    issued_at=None,
    issuer=None,
    chain_id=None,
    verifying=None,
):
    """Signs a document with ``signer`` and anchors it (claiming ``issuer``, default the signer)."""
    issued_at = issued_at if issued_at is not None else now() - 60
    signature, digest = sign_document(
        signer,
        verifying or registry.address,
        vehicle,
        doc_type,
        cid,
        content,
        issued_at,
        chain_id=chain_id,
    )
    tx = registry.anchorDocument(
        vehicle,
        doc_type,
        cid,
        content,
        issuer or signer,
        issued_at,
        signature,
        {"from": sender or signer},
    )
    return tx, digest


# ---------------------------------------------------------------- vehicles


def test_register_vehicle_records_and_emits(registry, funded):
    bank = funded.banks[0]
    appraised_at = now() - 3600
    tx = registry.registerVehicle(VEHICLE, OWNER, APPRAISAL, appraised_at, {"from": bank})
    assert plain(tx.events["VehicleRegistered"][0].values()) == [
        VEHICLE,
        bank,
        OWNER,
        APPRAISAL,
        appraised_at,
    ]
    assert plain(registry.vehicle(VEHICLE)) == [
        OWNER,
        APPRAISAL,
        appraised_at,
        bank,
        tx.timestamp,
        True,
    ]
    assert plain(registry.collateralOf(VEHICLE)) == [APPRAISAL, ZERO_ADDRESS, 0]


def test_register_vehicle_gas_within_budget(registry, funded):
    tx = registry.registerVehicle(
        VEHICLE, OWNER, APPRAISAL, now() - 3600, {"from": funded.banks[0]}
    )
    print(f"registerVehicle gas: {tx.gas_used}")
    assert tx.gas_used <= REGISTER_VEHICLE_GAS_BUDGET


def test_unknown_vehicle_reads_as_zero(registry):
    assert plain(registry.vehicle(VEHICLE)) == [ZERO_BYTES32, 0, 0, ZERO_ADDRESS, 0, False]
    assert plain(registry.collateralOf(VEHICLE)) == [0, ZERO_ADDRESS, 0]
    assert plain(registry.lienOf(VEHICLE)) == [ZERO_ADDRESS, 0, False, 0]


def test_register_refuses_zero_id(registry, funded):
    with reverts_with("RegistryInvalidVehicleId", ZERO_BYTES32):
        registry.registerVehicle(
            ZERO_BYTES32, OWNER, APPRAISAL, now() - 1, {"from": funded.banks[0]}
        )


def test_register_refuses_a_registered_vehicle_even_from_another_bank(registered, funded):
    with reverts_with("RegistryVehicleExists", VEHICLE, funded.banks[0]):
        registered.registerVehicle(
            VEHICLE, NEW_OWNER, APPRAISAL, now() - 1, {"from": funded.banks[1]}
        )


def test_register_refuses_zero_owner_commitment(registry, funded):
    with reverts_with("RegistryInvalidOwnerCommitment", VEHICLE):
        registry.registerVehicle(
            VEHICLE, ZERO_BYTES32, APPRAISAL, now() - 1, {"from": funded.banks[0]}
        )


def test_register_refuses_zero_or_future_appraisal(registry, funded):
    with reverts_with("RegistryInvalidAppraisal", VEHICLE, 0, 1):
        registry.registerVehicle(VEHICLE, OWNER, 0, 1, {"from": funded.banks[0]})
    future = chain.time() + 3600
    with reverts_with("RegistryInvalidAppraisal", VEHICLE, APPRAISAL, future):
        registry.registerVehicle(VEHICLE, OWNER, APPRAISAL, future, {"from": funded.banks[0]})


def test_reappraise_by_registering_bank(registered, funded):
    appraised_at = now() - 10
    tx = registered.reappraise(VEHICLE, APPRAISAL // 2, appraised_at, {"from": funded.banks[0]})
    assert plain(tx.events["VehicleReappraised"][0].values()) == [
        VEHICLE,
        funded.banks[0],
        APPRAISAL,
        APPRAISAL // 2,
        appraised_at,
    ]
    vehicle = registered.vehicle(VEHICLE)
    assert (vehicle["appraisalValue"], vehicle["appraisedAt"]) == (APPRAISAL // 2, appraised_at)
    assert registered.collateralOf(VEHICLE)[0] == APPRAISAL // 2


def test_reappraise_by_lien_holder_only_while_the_lien_is_active(registered, keeper, funded):
    """Issue 15, attack 2: the registering bank could lower-then-raise the appraisal of a vehicle
    pledged to another bank (closing that bank's value alert as recovered); now, under a lien,
    only the lienholder appraises."""
    registrar, lender = funded.banks[0], funded.banks[1]
    registered.placeLien(VEHICLE, lender, 7, {"from": keeper})
    with reverts_with("RegistryNotAuthorized", VEHICLE, registrar):
        registered.reappraise(VEHICLE, APPRAISAL // 2, now() - 5, {"from": registrar})
    registered.reappraise(VEHICLE, APPRAISAL - 1, now() - 5, {"from": lender})
    assert registered.vehicle(VEHICLE)["appraisalValue"] == APPRAISAL - 1
    registered.releaseLien(VEHICLE, 7, {"from": keeper})
    with reverts_with("RegistryNotAuthorized", VEHICLE, lender):
        registered.reappraise(VEHICLE, APPRAISAL, now() - 1, {"from": lender})
    registered.reappraise(VEHICLE, APPRAISAL, now() - 1, {"from": registrar})
    assert registered.vehicle(VEHICLE)["appraisalValue"] == APPRAISAL


def test_reappraise_refused_to_other_banks(registered, funded):
    with reverts_with("RegistryNotAuthorized", VEHICLE, funded.banks[2]):
        registered.reappraise(VEHICLE, APPRAISAL, now() - 1, {"from": funded.banks[2]})


def test_reappraise_refuses_bad_appraisals(registered, funded):
    bank = funded.banks[0]
    current = registered.vehicle(VEHICLE)["appraisedAt"]
    future = chain.time() + 3600
    for value, appraised_at in ((0, current), (APPRAISAL, future), (APPRAISAL, current - 1)):
        with reverts_with("RegistryInvalidAppraisal", VEHICLE, value, appraised_at):
            registered.reappraise(VEHICLE, value, appraised_at, {"from": bank})


def test_reappraise_and_transfer_of_unknown_vehicle(registry, funded):
    with reverts_with("RegistryUnknownVehicle", VEHICLE):
        registry.reappraise(VEHICLE, APPRAISAL, now() - 1, {"from": funded.banks[0]})
    with reverts_with("RegistryUnknownVehicle", VEHICLE):
        registry.transferOwnership(VEHICLE, NEW_OWNER, {"from": funded.banks[0]})


def test_transfer_ownership(registered, funded):
    tx = registered.transferOwnership(VEHICLE, NEW_OWNER, {"from": funded.banks[0]})
    assert plain(tx.events["VehicleOwnershipTransferred"][0].values()) == [
        VEHICLE,
        funded.banks[0],
        OWNER,
        NEW_OWNER,
    ]
    assert registered.vehicle(VEHICLE)["ownerCommitment"] == NEW_OWNER


def test_transfer_ownership_only_by_registering_bank(registered, funded):
    with reverts_with("RegistryNotAuthorized", VEHICLE, funded.banks[1]):
        registered.transferOwnership(VEHICLE, NEW_OWNER, {"from": funded.banks[1]})


def test_transfer_ownership_refuses_zero_commitment(registered, funded):
    with reverts_with("RegistryInvalidOwnerCommitment", VEHICLE):
        registered.transferOwnership(VEHICLE, ZERO_BYTES32, {"from": funded.banks[0]})


def test_transfer_ownership_blocked_while_a_lien_is_active(registered, keeper, funded):
    registered.placeLien(VEHICLE, funded.banks[1], 3, {"from": keeper})
    with reverts_with("RegistryLienActive", VEHICLE, 3, funded.banks[1]):
        registered.transferOwnership(VEHICLE, NEW_OWNER, {"from": funded.banks[0]})
    registered.releaseLien(VEHICLE, 3, {"from": keeper})
    registered.transferOwnership(VEHICLE, NEW_OWNER, {"from": funded.banks[0]})
    assert registered.vehicle(VEHICLE)["ownerCommitment"] == NEW_OWNER


# ---------------------------------------------------------------- liens


def test_place_lien_records_and_emits(registered, keeper, funded):
    tx = registered.placeLien(VEHICLE, funded.banks[1], 42, {"from": keeper})
    assert plain(tx.events["LienPlaced"][0].values()) == [VEHICLE, funded.banks[1], 42]
    assert plain(registered.lienOf(VEHICLE)) == [funded.banks[1], 42, True, tx.timestamp]
    assert plain(registered.collateralOf(VEHICLE)) == [APPRAISAL, funded.banks[1], 42]


def test_second_pledge_reverts_naming_the_existing_lien(registered, keeper, funded):
    registered.placeLien(VEHICLE, funded.banks[1], 42, {"from": keeper})
    for bank, loan_id in ((funded.banks[2], 43), (funded.banks[1], 44)):
        with reverts_with("RegistryLienExists", VEHICLE, 42, funded.banks[1]):
            registered.placeLien(VEHICLE, bank, loan_id, {"from": keeper})


def test_place_lien_refuses_zero_bank_or_loan_and_unknown_vehicle(registered, keeper, funded):
    with reverts_with("RegistryInvalidLien", VEHICLE, ZERO_ADDRESS, 1):
        registered.placeLien(VEHICLE, ZERO_ADDRESS, 1, {"from": keeper})
    with reverts_with("RegistryInvalidLien", VEHICLE, funded.banks[0], 0):
        registered.placeLien(VEHICLE, funded.banks[0], 0, {"from": keeper})
    other = key("hmac:unregistered")
    with reverts_with("RegistryUnknownVehicle", other):
        registered.placeLien(other, funded.banks[0], 1, {"from": keeper})


def test_release_lien_then_pledge_again(registered, keeper, funded):
    registered.placeLien(VEHICLE, funded.banks[1], 42, {"from": keeper})
    tx = registered.releaseLien(VEHICLE, 42, {"from": keeper})
    assert plain(tx.events["LienReleased"][0].values()) == [VEHICLE, funded.banks[1], 42]
    assert registered.lienOf(VEHICLE)["active"] is False
    assert plain(registered.collateralOf(VEHICLE)) == [APPRAISAL, ZERO_ADDRESS, 0]
    registered.placeLien(VEHICLE, funded.banks[2], 43, {"from": keeper})
    assert plain(registered.collateralOf(VEHICLE)) == [APPRAISAL, funded.banks[2], 43]


def test_release_lien_needs_the_active_lien_of_that_loan(registered, keeper, funded):
    with reverts_with("RegistryLienNotFound", VEHICLE, 42):
        registered.releaseLien(VEHICLE, 42, {"from": keeper})
    registered.placeLien(VEHICLE, funded.banks[1], 42, {"from": keeper})
    with reverts_with("RegistryLienNotFound", VEHICLE, 41):
        registered.releaseLien(VEHICLE, 41, {"from": keeper})
    registered.releaseLien(VEHICLE, 42, {"from": keeper})
    with reverts_with("RegistryLienNotFound", VEHICLE, 42):
        registered.releaseLien(VEHICLE, 42, {"from": keeper})


def test_liens_only_by_system_contracts(registered, funded):
    with reverts_with("ConsortiumUnauthorizedAccount", funded.banks[0], SYSTEM_ROLE):
        registered.placeLien(VEHICLE, funded.banks[0], 1, {"from": funded.banks[0]})
    with reverts_with("ConsortiumUnauthorizedAccount", funded.banks[0], SYSTEM_ROLE):
        registered.releaseLien(VEHICLE, 1, {"from": funded.banks[0]})


# ---------------------------------------------------------------- documents


def test_eip712_domain(registry):
    domain = registry.eip712Domain()
    assert (domain["name"], domain["version"], domain["chainId"], domain["verifyingContract"]) == (
        "VehicleRegistry",
        "1",
        web3.eth.chain_id,
        registry.address,
    )


def test_anchor_document_by_its_issuer(registered, funded):
    issuer = funded.issuers[0]
    issued_at = now() - 600
    tx, digest = anchor(registered, issuer, doc_type=MAINTENANCE, issued_at=issued_at)
    assert tx.return_value == digest
    assert registered.documentDigest(VEHICLE, MAINTENANCE, CID, CONTENT, issued_at) == digest
    assert plain(tx.events["DocumentAnchored"][0].values()) == [
        digest,
        VEHICLE,
        issuer,
        MAINTENANCE,
        "0x" + CID.hex(),
        CONTENT,
        issued_at,
    ]
    assert plain(registered.document(digest)) == [
        VEHICLE,
        CONTENT,
        issuer,
        issued_at,
        MAINTENANCE,
        False,
        tx.timestamp,
    ]
    assert not registered.isDocumentRevoked(digest)


def test_anchor_document_relayed_by_a_bank(registered, funded):
    tx, digest = anchor(registered, funded.issuers[1], sender=funded.banks[2], doc_type=CLAIM)
    assert tx.events["DocumentAnchored"][0]["issuer"] == funded.issuers[1]
    assert registered.document(digest)["issuer"] == funded.issuers[1]


def test_anchor_document_gas_within_budget(registered, funded):
    tx, _ = anchor(registered, funded.issuers[0], sender=funded.banks[0])
    print(f"anchorDocument gas: {tx.gas_used}")
    assert tx.gas_used <= ANCHOR_DOCUMENT_GAS_BUDGET


def test_same_signed_document_anchors_once(registered, funded):
    issued_at = now() - 60
    _, digest = anchor(registered, funded.issuers[0], issued_at=issued_at)
    with reverts_with("RegistryDocumentExists", digest):
        anchor(registered, funded.issuers[0], sender=funded.banks[0], issued_at=issued_at)


def test_signature_for_another_chain_is_refused(registered, funded):
    with reverts_with("RegistryInvalidSigner"):
        anchor(registered, funded.issuers[0], chain_id=web3.eth.chain_id + 1)


def test_signature_for_another_registry_is_refused(registered, consortium, funded):
    other = deploy_proxied(VehicleRegistry, consortium, {"from": funded.deployer})
    other.registerVehicle(VEHICLE, OWNER, APPRAISAL, now() - 1, {"from": funded.banks[0]})
    issued_at = now() - 60
    anchor(registered, funded.issuers[0], issued_at=issued_at)
    # the same signature, replayed on another registry
    with reverts_with("RegistryInvalidSigner"):
        anchor(other, funded.issuers[0], issued_at=issued_at, verifying=registered.address)


def test_signature_by_someone_else_is_refused(registered, funded):
    with reverts_with("RegistryInvalidSigner", funded.issuers[0], funded.issuers[1]):
        anchor(registered, funded.issuers[1], issuer=funded.issuers[0])


def test_altered_document_is_refused(registered, funded):
    issuer = funded.issuers[0]
    issued_at = now() - 60
    signature, _ = sign_document(
        issuer, registered.address, VEHICLE, INSURANCE, CID, CONTENT, issued_at
    )
    altered = [
        (VEHICLE, INSURANCE, CID, key("other bytes"), issued_at),
        (VEHICLE, CLAIM, CID, CONTENT, issued_at),
        (VEHICLE, INSURANCE, CID + b"x", CONTENT, issued_at),
        (VEHICLE, INSURANCE, CID, CONTENT, issued_at - 1),
    ]
    for vehicle, doc_type, cid, content, at in altered:
        with reverts_with("RegistryInvalidSigner"):
            registered.anchorDocument(
                vehicle, doc_type, cid, content, issuer, at, signature, {"from": issuer}
            )


def test_malformed_signature_is_refused(registered, funded):
    issuer = funded.issuers[0]
    with reverts_with("RegistryInvalidSigner", issuer, ZERO_ADDRESS):
        registered.anchorDocument(
            VEHICLE, INSURANCE, CID, CONTENT, issuer, 1, b"\x01" * 64, {"from": issuer}
        )


def test_signer_must_be_an_active_issuer(registered, consortium, funded):
    # a bank's own signature does not make it an issuer
    with reverts_with("ConsortiumUnauthorizedAccount", funded.banks[0], ISSUER_ROLE):
        anchor(registered, funded.banks[0])
    govern(consortium, action(SUSPEND, funded.issuers[0]), funded.banks[:2])
    with reverts_with("ConsortiumUnauthorizedAccount", funded.issuers[0], ISSUER_ROLE):
        anchor(registered, funded.issuers[0], sender=funded.banks[0])


def test_anchor_refuses_unknown_vehicle_empty_document_and_future_date(registered, funded):
    issuer = funded.issuers[0]
    other = key("hmac:unregistered")
    with reverts_with("RegistryUnknownVehicle", other):
        anchor(registered, issuer, vehicle=other)
    with reverts_with("RegistryInvalidDocument", VEHICLE, CONTENT, 0):
        anchor(registered, issuer, cid=b"")
    with reverts_with("RegistryInvalidDocument", VEHICLE, ZERO_BYTES32, len(CID)):
        anchor(registered, issuer, content=ZERO_BYTES32)
    future = chain.time() + 3600
    with reverts_with("RegistryIssuedInFuture"):
        anchor(registered, issuer, issued_at=future)


def test_revoke_document_by_its_issuer(registered, funded):
    issuer = funded.issuers[0]
    _, digest = anchor(registered, issuer, doc_type=REGISTRATION)
    tx = registered.revokeDocument(digest, {"from": issuer})
    assert plain(tx.events["DocumentRevoked"][0].values()) == [digest, VEHICLE, issuer]
    assert registered.document(digest)["revoked"] is True
    assert registered.isDocumentRevoked(digest)
    with reverts_with("RegistryDocumentAlreadyRevoked", digest):
        registered.revokeDocument(digest, {"from": issuer})


def test_revoke_refused_to_other_issuers_and_unknown_documents(registered, funded):
    _, digest = anchor(registered, funded.issuers[0])
    with reverts_with("RegistryNotIssuer", digest, funded.issuers[1]):
        registered.revokeDocument(digest, {"from": funded.issuers[1]})
    with reverts_with("ConsortiumUnauthorizedAccount", funded.banks[0], ISSUER_ROLE):
        registered.revokeDocument(digest, {"from": funded.banks[0]})
    unknown = key("no such document")
    with reverts_with("RegistryUnknownDocument", unknown):
        registered.revokeDocument(unknown, {"from": funded.issuers[0]})


def test_revoked_document_cannot_be_anchored_again(registered, funded):
    issued_at = now() - 60
    _, digest = anchor(registered, funded.issuers[0], issued_at=issued_at)
    registered.revokeDocument(digest, {"from": funded.issuers[0]})
    with reverts_with("RegistryDocumentExists", digest):
        anchor(registered, funded.issuers[0], issued_at=issued_at)


def test_anchor_by_non_bank_non_issuer_is_refused(registered, funded):
    with reverts_with("ConsortiumUnauthorizedAccount", funded.auditor, BANK_ROLE):
        anchor(registered, funded.issuers[0], sender=funded.auditor)


def test_consortium_getter(registry, consortium):
    assert registry.consortium() == consortium


def test_unknown_document_reads_as_zero(registry):
    assert plain(registry.document(key("nothing"))) == [
        ZERO_BYTES32,
        ZERO_BYTES32,
        ZERO_ADDRESS,
        0,
        0,
        False,
        0,
    ]
    assert not registry.isDocumentRevoked(key("nothing"))


# ---------------------------------------------------------------- governance revocation


def test_governance_revocation_outlives_the_issuers_reinstatement(
    registered, keeper, consortium, funded
):
    """Issue 15, item 8: a compromised issuer anchors a forgery; on the old code only the issuer
    could revoke it, and once reinstated its forgeries verified again. Governance now revokes
    every document it anchored up to a cutoff, for good; later documents are not revoked."""
    issuer, banks = funded.issuers[0], funded.banks[:2]
    _, forgery = anchor(registered, issuer, content=key("forged invoice"))
    govern(consortium, action(SUSPEND, issuer), banks)
    cutoff = now()
    tx = govern(consortium, action(REVOKE_ISSUER_DOCUMENTS, issuer, value=cutoff), banks)
    assert dict(tx.events["IssuerDocumentsRevoked"][0]) == {"issuer": issuer, "cutoff": cutoff}
    assert registered.issuerRevocationCutoff(issuer) == cutoff
    assert registered.isDocumentRevoked(forgery)
    assert not registered.document(forgery)["revoked"]  # not revoked by its issuer

    govern(consortium, action(REINSTATE, issuer), banks)
    assert registered.isDocumentRevoked(forgery)
    chain.sleep(5)
    _, later = anchor(registered, issuer, content=key("honest invoice"))
    assert registered.document(later)["anchoredAt"] > cutoff
    assert not registered.isDocumentRevoked(later)

    # A later proposal with an earlier cutoff cannot bring the forgery back.
    tx = govern(consortium, action(REVOKE_ISSUER_DOCUMENTS, issuer, value=cutoff - 100), banks)
    assert tx.events["IssuerDocumentsRevoked"][0]["cutoff"] == cutoff
    assert registered.issuerRevocationCutoff(issuer) == cutoff
    assert registered.isDocumentRevoked(forgery)


def test_removed_issuers_documents_can_be_revoked(registered, keeper, consortium, funded):
    issuer, banks = funded.issuers[1], funded.banks[:2]
    _, digest = anchor(registered, issuer)
    govern(consortium, action(REMOVE, issuer), banks)
    govern(consortium, action(REVOKE_ISSUER_DOCUMENTS, issuer, value=now()), banks)
    assert registered.isDocumentRevoked(digest)


@pytest.mark.parametrize(
    ("who", "cutoff", "key_", "error"),
    [
        ("bank", "now", ZERO_BYTES32, "ConsortiumInvalidAction"),
        ("issuer", 0, ZERO_BYTES32, "ConsortiumInvalidAction"),
        ("issuer", "future", ZERO_BYTES32, "ConsortiumInvalidAction"),
        ("issuer", "now", key("not zero"), "ConsortiumInvalidAction"),
        ("stranger", "now", ZERO_BYTES32, "ConsortiumNotMember"),
    ],
    ids=["not-an-issuer", "zero-cutoff", "future-cutoff", "key-set", "never-a-member"],
)
def test_revoke_issuer_documents_proposal_is_validated(
    registered, keeper, consortium, funded, who, cutoff, key_, error
):
    account = {"bank": funded.banks[1], "issuer": funded.issuers[0], "stranger": funded.stranger}
    value = {"now": now(), "future": now() + 3600}.get(cutoff, cutoff)
    with reverts_with(error):
        consortium.propose(
            action(REVOKE_ISSUER_DOCUMENTS, account[who], key_=key_, value=value),
            {"from": funded.banks[0]},
        )
