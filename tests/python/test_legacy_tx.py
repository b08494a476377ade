"""The fast legacy signer (`vcl.legacy_tx`) makes exactly eth_account's bytes, and leaves
every other form to eth_account."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_keys.datatypes import PrivateKey

from vcl.config import DEV_PRIVATE_KEYS
from vcl.legacy_tx import sign_legacy

ACCOUNT = Account.from_key(DEV_PRIVATE_KEYS[3])
KEY = PrivateKey(bytes(ACCOUNT.key))
REPORT_DATA = bytes(range(256)) * 470  # a report's size: about 120 KB of calldata


@pytest.mark.parametrize(
    "tx",
    [
        # A report: bytes calldata, the sender's own fields.
        {
            "from": ACCOUNT.address,
            "to": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "data": REPORT_DATA,
            "gas": 15_000_000,
            "gasPrice": 0,
            "nonce": 7,
            "chainId": 31337,
        },
        # As web3's build_transaction leaves it: hex calldata, a value.
        {
            "from": ACCOUNT.address,
            "to": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
            "data": "0xa9059cbb" + "00" * 64,
            "value": 10**18,
            "gas": 21_000,
            "gasPrice": 10**9,
            "nonce": 0,
            "chainId": 1337,
        },
        # A deployment: no `to`.
        {"data": "0x6080604052", "gas": 500_000, "gasPrice": 0, "nonce": 2**40, "chainId": 5},
    ],
)
def test_the_signed_bytes_are_eth_accounts(tx: dict[str, Any]) -> None:
    assert sign_legacy(tx, KEY, ACCOUNT.address) == bytes(
        ACCOUNT.sign_transaction(tx).raw_transaction
    )


@pytest.mark.parametrize(
    "tx",
    [
        {"type": 2, "maxFeePerGas": 1, "gas": 1, "nonce": 0, "chainId": 1},  # EIP-1559
        {"gas": 1, "gasPrice": 0, "nonce": 0},  # no chain id: not replay-protected
        {"gas": 1, "gasPrice": 0, "nonce": 0, "chainId": 1, "from": "0x" + "00" * 20},
        {"gas": 1, "gasPrice": 0, "nonce": 0, "chainId": 1, "from": ACCOUNT.address.lower()},
        {"gas": 1, "gasPrice": 0, "nonce": 0, "chainId": 1, "to": "0x" + "ab" * 20},
        {"gas": 1, "gasPrice": 0, "nonce": -1, "chainId": 1},
        {"gas": 1, "gasPrice": 0, "nonce": 0, "chainId": 1, "to": "0x1234"},
        {"gas": 1, "gasPrice": 0, "nonce": 0, "chainId": 1, "data": "0xzz"},
        {"gas": "1", "gasPrice": 0, "nonce": 0, "chainId": 1},
    ],
)
def test_any_other_form_is_left_to_eth_account(tx: dict[str, Any]) -> None:
    assert sign_legacy(tx, KEY, ACCOUNT.address) is None
