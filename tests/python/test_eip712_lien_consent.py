"""The registering bank's `LienConsent` (vcl.eip712) against eth_account's generic EIP-712
encoder and against the deployed LoanManager's own digest."""

from __future__ import annotations

import os
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from vcl.config import DEV_PRIVATE_KEYS
from vcl.eip712 import (
    LienConsent,
    TypedDataError,
    lien_consent_digest,
    lien_consent_message,
    lien_consent_typed_data,
    recover_signer,
)
from vcl.sender import TransactionSender

CHAIN_ID = 31337
MANAGER = "0x" + "34" * 20
LENDER = Account.from_key(DEV_PRIVATE_KEYS[2]).address


def consent(**changes: Any) -> LienConsent:
    fields: dict[str, Any] = {
        "vehicle_id": b"\x01" * 32,
        "lender": LENDER,
        "borrower_commitment": b"\x02" * 32,
        "principal": 1_000_000,
        "deadline": 1_900_000_000,
        "nonce": b"\x03" * 32,
        **changes,
    }
    return LienConsent(**fields)


def test_the_message_is_the_generic_encoders_and_recovers_to_the_signer() -> None:
    made = consent()
    message = lien_consent_message(made, CHAIN_ID, MANAGER)
    generic = encode_typed_data(full_message=lien_consent_typed_data(made, CHAIN_ID, MANAGER))
    assert message == generic
    signer = Account.from_key(DEV_PRIVATE_KEYS[1])
    signature = bytes(signer.sign_message(message).signature)
    assert recover_signer(message, signature) == signer.address
    # Any other lender, principal or contract is another message.
    for other in (consent(lender=signer.address), consent(principal=1_000_001)):
        assert recover_signer(lien_consent_message(other, CHAIN_ID, MANAGER), signature) != (
            signer.address
        )
    elsewhere = lien_consent_message(made, CHAIN_ID, "0x" + "35" * 20)
    assert recover_signer(elsewhere, signature) != signer.address


@pytest.mark.parametrize(
    "changes",
    [
        {"principal": 0},
        {"principal": 2**128},
        {"deadline": 2**64},
        {"nonce": b"\x03" * 31},
        {"vehicle_id": b""},
        {"lender": "0x1234"},
    ],
)
def test_a_value_that_does_not_fit_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(TypedDataError):
        consent(**changes)


def test_the_digest_is_the_loan_managers(system: dict[str, Any], sender: TransactionSender) -> None:
    manager = system["LoanManager"]
    made = consent(nonce=os.urandom(32), borrower_commitment=os.urandom(32))
    on_chain = manager.functions.lienConsentDigest(
        made.vehicle_id,
        made.lender,
        made.borrower_commitment,
        made.principal,
        made.deadline,
        made.nonce,
    ).call()
    assert bytes(on_chain) == lien_consent_digest(made, sender.chain_id, manager.address)
