"""LoanManager: a lien needs the registering bank's consent, and an approval not disbursed in time
expires (issue 15, attack 2).

On the old code any bank could apply for a loan on any vehicle and, once approved, hold its lien
for ever: here each of those attempts reverts with the error a user would see.
"""

import brownie
import pytest
from brownie import LoanManager, chain, web3
from conftest import (
    APPLIED,
    APPRAISAL,
    APPROVED,
    BANK_ROLE,
    DAY,
    EXPIRED,
    LOAN_ACTIVE,
    LOAN_TERMS,
    MEMBER_ROLE,
    OWN_VEHICLE,
    SET_PARAMETER,
    SUSPEND,
    ZERO_ADDRESS,
    action,
    deploy_proxied,
    govern,
    key,
    new_vehicle,
    now,
    open_loan,
    reverts_with,
    sign_lien_consent,
)

PRINCIPAL, RATE, TERM, INTERVAL = (
    LOAN_TERMS[name] for name in ("principal", "rate", "term", "interval")
)
BORROWER = key("borrower:consent")
TTL = 14 * DAY


@pytest.fixture(scope="module")
def banks(system):
    return system.members.banks


@pytest.fixture(scope="module")
def loans(system):
    return system.loans


@pytest.fixture(scope="module")
def vehicle(system, reporter, banks):
    """A vehicle registered by the first bank (which did its owner's KYC), freshly scored."""
    vehicle_id = new_vehicle(system.registry, banks[0], "consent-test")
    reporter.submit([(vehicle_id, 8000, APPRAISAL)])
    return vehicle_id


def apply(loans, lender, vehicle, consent, principal=PRINCIPAL, borrower=BORROWER):
    return loans.applyForLoan(
        vehicle, borrower, principal, RATE, TERM, INTERVAL, consent, {"from": lender}
    )


# ---------------------------------------------------------------- consent


def test_registering_bank_applies_without_a_signature(loans, banks, vehicle):
    tx = apply(loans, banks[0], vehicle, OWN_VEHICLE)
    assert loans.loan(tx.return_value)["state"] == APPLIED


def test_other_bank_applies_with_the_registering_banks_consent(loans, banks, vehicle):
    consent = sign_lien_consent(banks[0], loans, vehicle, banks[1], BORROWER, PRINCIPAL)
    deadline, nonce, _ = consent
    digest = loans.lienConsentDigest(vehicle, banks[1], BORROWER, PRINCIPAL, deadline, nonce)
    assert not loans.isConsentUsed(digest)
    tx = apply(loans, banks[1], vehicle, consent)
    assert loans.loan(tx.return_value)["bank"] == banks[1]
    assert loans.isConsentUsed(digest)


def test_other_bank_without_consent_is_refused(loans, banks, vehicle):
    """The attack itself: a bank puts a lien on a vehicle it has nothing to do with."""
    with reverts_with("LoanInvalidConsent", vehicle, banks[0], ZERO_ADDRESS):
        apply(loans, banks[1], vehicle, (now() + DAY, key("n"), b""))
    assert loans.loanCount() == 0


def test_consent_signed_by_anyone_but_the_registering_bank_is_refused(loans, banks, vehicle):
    for signer in (banks[1], banks[2]):
        consent = sign_lien_consent(signer, loans, vehicle, banks[1], BORROWER, PRINCIPAL)
        with reverts_with("LoanInvalidConsent", vehicle, banks[0], signer):
            apply(loans, banks[1], vehicle, consent)


@pytest.mark.parametrize("changed", ["lender", "principal", "borrower", "vehicle"])
def test_consent_binds_lender_principal_borrower_and_vehicle(
    system, loans, banks, vehicle, changed
):
    """A consent given to one application cannot be used for another."""
    consent = sign_lien_consent(banks[0], loans, vehicle, banks[1], BORROWER, PRINCIPAL)
    lender, principal, borrower, target = banks[1], PRINCIPAL, BORROWER, vehicle
    if changed == "lender":
        lender = banks[2]
    elif changed == "principal":
        principal = PRINCIPAL * 2
    elif changed == "borrower":
        borrower = key("another borrower")
    else:
        target = new_vehicle(system.registry, banks[0], "consent-other")
    with reverts_with("LoanInvalidConsent"):
        apply(loans, lender, target, consent, principal=principal, borrower=borrower)


def test_consent_is_usable_once(loans, banks, vehicle):
    consent = sign_lien_consent(banks[0], loans, vehicle, banks[1], BORROWER, PRINCIPAL)
    apply(loans, banks[1], vehicle, consent)
    digest = loans.lienConsentDigest(vehicle, banks[1], BORROWER, PRINCIPAL, *consent[:2])
    with reverts_with("LoanConsentUsed", digest):
        apply(loans, banks[1], vehicle, consent)


def test_expired_consent_is_refused(loans, banks, vehicle):
    deadline = now() + 60
    consent = sign_lien_consent(
        banks[0], loans, vehicle, banks[1], BORROWER, PRINCIPAL, deadline=deadline
    )
    chain.sleep(120)
    chain.mine()
    with brownie.reverts(revert_pattern=rf"LoanConsentExpired: {deadline}, \d+"):
        apply(loans, banks[1], vehicle, consent)


def test_consent_for_another_chain_or_loan_manager_is_refused(
    system, loans, banks, vehicle, funded
):
    other_chain = sign_lien_consent(
        banks[0], loans, vehicle, banks[1], BORROWER, PRINCIPAL, chain_id=web3.eth.chain_id + 1
    )
    with reverts_with("LoanInvalidConsent"):
        apply(loans, banks[1], vehicle, other_chain)
    other = deploy_proxied(
        LoanManager, system.consortium, system.registry, system.oracle, {"from": funded.deployer}
    )
    elsewhere = sign_lien_consent(banks[0], other, vehicle, banks[1], BORROWER, PRINCIPAL)
    with reverts_with("LoanInvalidConsent"):
        apply(loans, banks[1], vehicle, elsewhere)


def test_consent_of_a_suspended_registering_bank_is_refused(system, loans, banks, vehicle):
    consent = sign_lien_consent(banks[0], loans, vehicle, banks[1], BORROWER, PRINCIPAL)
    govern(system.consortium, action(SUSPEND, banks[0]), banks[1:])
    with reverts_with("ConsortiumUnauthorizedAccount", banks[0], BANK_ROLE):
        apply(loans, banks[1], vehicle, consent)


# ---------------------------------------------------------------- approval expiry


def _approved(loans, bank, vehicle):
    loan_id = open_loan(loans, bank, vehicle)
    return loan_id, loans.approve(loan_id, {"from": bank})


def test_approval_records_its_time(loans, banks, vehicle):
    loan_id, tx = _approved(loans, banks[0], vehicle)
    assert loans.loan(loan_id)["approvedAt"] == tx.timestamp


def test_activation_within_the_ttl(loans, banks, vehicle):
    loan_id, _ = _approved(loans, banks[0], vehicle)
    chain.sleep(TTL - 60)
    loans.activate(loan_id, {"from": banks[0]})
    assert loans.loan(loan_id)["state"] == LOAN_ACTIVE


def test_approval_not_disbursed_in_time_expires_and_frees_the_vehicle(
    system, loans, banks, vehicle
):
    """On the old code an approved loan held its lien for ever."""
    loan_id, tx = _approved(loans, banks[0], vehicle)
    expires_at = tx.timestamp + TTL
    keeper = system.members.auditor  # any active member
    with reverts_with("LoanApprovalNotExpired", loan_id, expires_at):
        loans.expireApproval(loan_id, {"from": keeper})
    chain.sleep(TTL + 1)
    chain.mine()
    with reverts_with("LoanApprovalExpired", loan_id, expires_at):
        loans.activate(loan_id, {"from": banks[0]})
    tx = loans.expireApproval(loan_id, {"from": keeper})
    assert [(e["from"], e["to"]) for e in tx.events["LoanStateChanged"]] == [(APPROVED, EXPIRED)]
    assert dict(tx.events["LienReleased"]) == {
        "vehicleId": vehicle,
        "bank": banks[0],
        "loanId": loan_id,
    }
    assert not system.registry.lienOf(vehicle)["active"]
    with reverts_with("LoanInvalidState", loan_id, EXPIRED):
        loans.activate(loan_id, {"from": banks[0]})
    # The vehicle is free for another application.
    again = open_loan(loans, banks[0], vehicle)
    assert loans.loan(again)["state"] == APPLIED


def test_expire_only_approved_loans_and_only_by_members(system, loans, banks, vehicle):
    applied = open_loan(loans, banks[0], vehicle)
    chain.sleep(TTL + 1)
    with reverts_with("LoanInvalidState", applied, APPLIED):
        loans.expireApproval(applied, {"from": banks[1]})
    with reverts_with("LoanUnknown", 99):
        loans.expireApproval(99, {"from": banks[1]})
    with reverts_with("ConsortiumUnauthorizedAccount", system.members.stranger, MEMBER_ROLE):
        loans.expireApproval(applied, {"from": system.members.stranger})


def test_approval_ttl_is_governed(system, reporter, loans, banks, vehicle):
    govern(
        system.consortium,
        action(SET_PARAMETER, key_=key("APPROVAL_TTL"), value=3600),
        banks[:2],
    )
    loan_id, _ = _approved(loans, banks[0], vehicle)
    chain.sleep(3601)
    loans.expireApproval(loan_id, {"from": banks[1]})
    assert loans.loan(loan_id)["state"] == EXPIRED
