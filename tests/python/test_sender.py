"""The core sender against a real anvil and the real contracts."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from web3 import Web3

from vcl.errors import TransactionReverted
from vcl.sender import TransactionSender

APPRAISAL = 25_000_000  # minor units


def _register(registry: Any, label: str, appraised_at: int) -> Any:
    vehicle = Web3.keccak(text=f"vehicle:{label}")
    owner = Web3.keccak(text=f"owner:{label}")
    return registry.functions.registerVehicle(vehicle, owner, APPRAISAL, appraised_at)


def test_transactions_are_gasless_and_change_state(
    system: dict[str, Any], sender_for: Callable[[int], TransactionSender]
) -> None:
    bank = sender_for(1)
    registry = system["VehicleRegistry"]
    now = bank.w3.eth.get_block("latest")["timestamp"]
    receipt = bank.transact(_register(registry, "a", now))
    assert receipt["status"] == 1
    assert receipt["effectiveGasPrice"] == 0
    vehicle = registry.functions.vehicle(Web3.keccak(text="vehicle:a")).call()
    assert APPRAISAL in vehicle
    assert bank.address in vehicle


def test_revert_is_decoded_and_consumes_no_nonce(
    system: dict[str, Any], sender_for: Callable[[int], TransactionSender]
) -> None:
    bank = sender_for(1)
    registry = system["VehicleRegistry"]
    now = bank.w3.eth.get_block("latest")["timestamp"]
    bank.transact(_register(registry, "twice", now))
    nonce_before = bank.w3.eth.get_transaction_count(bank.address)
    with pytest.raises(TransactionReverted) as caught:
        bank.transact(_register(registry, "twice", now))
    assert caught.value.error_name == "RegistryVehicleExists"
    assert caught.value.args_decoded == (Web3.keccak(text="vehicle:twice"), bank.address)
    assert "RegistryVehicleExists(" in str(caught.value)
    assert bank.w3.eth.get_transaction_count(bank.address) == nonce_before


def test_concurrent_sends_never_share_a_nonce(
    system: dict[str, Any], sender_for: Callable[[int], TransactionSender]
) -> None:
    bank = sender_for(2)
    registry = system["VehicleRegistry"]
    now = bank.w3.eth.get_block("latest")["timestamp"]
    start = bank.w3.eth.get_transaction_count(bank.address)
    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = list(
            pool.map(lambda i: bank.transact(_register(registry, f"c{i}", now)), range(30))
        )
    nonces = sorted(bank.w3.eth.get_transaction(r["transactionHash"])["nonce"] for r in receipts)
    assert nonces == list(range(start, start + 30))
    assert all(r["status"] == 1 for r in receipts)


def test_submitted_transactions_take_consecutive_nonces_and_confirm_in_order(
    system: dict[str, Any], sender_for: Callable[[int], TransactionSender]
) -> None:
    bank = sender_for(1)
    registry = system["VehicleRegistry"]
    now = bank.w3.eth.get_block("latest")["timestamp"]
    start = bank.w3.eth.get_transaction_count(bank.address)
    calls = [_register(registry, label, now) for label in ("s1", "s2", "s1")]
    # All three are sent before any receipt is read; the third registers s1 again and,
    # sent with a gas limit (no estimate), is mined reverted.
    fields: dict[str, Any] = {"from": bank.address, "gas": 0, "gasPrice": 0}  # no fee lookups
    pending = [bank.submit(call.build_transaction(fields), gas=300_000) for call in calls]

    assert [p.tx["nonce"] for p in pending] == [start, start + 1, start + 2]
    first, second = (bank.confirm(p) for p in pending[:2])
    assert (first["status"], second["status"]) == (1, 1)
    with pytest.raises(TransactionReverted) as caught:
        bank.confirm(pending[2])
    assert caught.value.error_name == "RegistryVehicleExists"
    assert caught.value.tx_hash == pending[2].tx_hash
    assert bank.w3.eth.get_transaction_count(bank.address) == start + 3


def test_a_mined_revert_is_read_from_the_nodes_trace_not_a_replay(
    system: dict[str, Any], sender_for: Callable[[int], TransactionSender]
) -> None:
    """A replay of a reverted call on the state after its block can meet another error when
    a later transaction of that block changed what it reads; the trace cannot."""
    bank = sender_for(1)
    registry = system["VehicleRegistry"]
    now = bank.w3.eth.get_block("latest")["timestamp"]
    fields: dict[str, Any] = {"from": bank.address, "gas": 0, "gasPrice": 0}
    bank.transact(_register(registry, "t1", now))
    pending = bank.submit(_register(registry, "t1", now).build_transaction(fields), gas=300_000)
    bank.w3.eth.wait_for_transaction_receipt(pending.tx_hash)  # type: ignore[arg-type]
    traced = bank._traced_revert(pending.tx_hash)
    assert traced is not None
    assert bank.decoder.decode(traced)[0] == "RegistryVehicleExists"
    with pytest.raises(TransactionReverted, match="RegistryVehicleExists"):
        bank.confirm(pending)
