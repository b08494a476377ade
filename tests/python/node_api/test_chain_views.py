"""The read endpoints' batched view calls (`vcl.chain_views`) answer exactly what web3's
`call()` answers, on a real anvil with the consortium deployed; and anything but a plain
answer is None (the caller then reads through web3). And web3 asks the chain id once, not
before every call, on either provider of `vcl.rpc_transport`."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from web3 import HTTPProvider, Web3
from web3.contract import Contract

from vcl.chain_views import ChainViews
from vcl.errors import TransactionReverted
from vcl.localchain import LocalChain
from vcl.rpc_transport import KeepAliveHTTPProvider, stock_provider
from vcl.sender import TransactionSender

BANK = 1


def _registered(system: dict[str, Contract], bank: TransactionSender) -> bytes:
    registry = bank.w3.eth.contract(
        address=system["VehicleRegistry"].address, abi=system["VehicleRegistry"].abi
    )
    vid = os.urandom(32)
    latest = bank.w3.eth.get_block("latest")["timestamp"]
    bank.transact(registry.functions.registerVehicle(vid, os.urandom(32), 2_500_000, latest))
    return vid


def test_views_answer_as_web3_does(
    system: dict[str, Contract], sender_for: Callable[[int], TransactionSender]
) -> None:
    bank = sender_for(BANK)
    vid = _registered(system, bank)
    views = ChainViews(bank.w3, system)
    wanted: list[tuple[str, str, tuple[Any, ...]]] = [
        ("VehicleRegistry", "vehicle", (vid,)),  # a struct with an address
        ("VehicleRegistry", "lienOf", (vid,)),  # no lien: the zero address
        ("VehicleRegistry", "vehicle", (os.urandom(32),)),  # unknown: all zero
        ("ConditionOracle", "latestRoundData", (vid,)),  # several outputs
        ("Consortium", "memberOf", (bank.address,)),
        ("Consortium", "ISSUER_ROLE", ()),  # bytes32
        ("LoanManager", "loan", (1,)),  # never applied for: state None
    ]
    found = views.call(*((views.view(c, f), args) for c, f, args in wanted))
    expected = [getattr(system[c].functions, f)(*args).call() for c, f, args in wanted]
    assert found == expected
    assert found is not None
    vehicle = found[0]
    assert vehicle[3] == bank.address  # checksummed, as web3 gives it
    assert vehicle[5] is True
    # Structs by their fields' names, on the batched path and through web3 alike.
    assert vehicle.registeredBy == bank.address
    assert vehicle.exists is True
    assert type(vehicle).__name__ == "Vehicle"
    fallback = views.view("VehicleRegistry", "vehicle").shaped(
        system["VehicleRegistry"].functions.vehicle(vid).call()
    )
    assert fallback == vehicle
    assert fallback.appraisalValue == 2_500_000
    assert views.read("LoanManager", "loan", 1).state == 0  # never applied for


def test_a_view_that_reverts_makes_the_batch_none(
    system: dict[str, Contract], sender_for: Callable[[int], TransactionSender]
) -> None:
    bank = sender_for(BANK)
    vid = _registered(system, bank)
    views = ChainViews(bank.w3, system)
    registry_view = (views.view("VehicleRegistry", "vehicle"), (vid,))
    # No valuation for a loan that does not exist: the contract refuses.
    refused = (views.view("LoanManager", "loanToValueBps"), (12345,))
    assert views.call(registry_view, refused) is None
    assert views.call(registry_view) is not None


@pytest.mark.parametrize("make_provider", [KeepAliveHTTPProvider, stock_provider])
def test_chain_id_is_asked_once(
    system: dict[str, Contract],
    anvil: LocalChain,
    make_provider: Callable[[str, float], HTTPProvider],
) -> None:
    """web3 asks the chain id before every eth_call; it is answered from memory, also with
    many threads reading at once (web3's own cache validation would race there)."""
    w3 = Web3(make_provider(anvil.rpc_url, 30.0))
    provider = w3.provider
    asked: list[str] = []
    original = provider._make_request  # type: ignore[attr-defined]

    def counting(method: Any, request_data: bytes) -> Any:  # what goes over the wire
        asked.append(str(method))
        return original(method, request_data)

    provider._make_request = counting  # type: ignore[attr-defined]
    registry = w3.eth.contract(
        address=system["VehicleRegistry"].address, abi=system["VehicleRegistry"].abi
    )

    def read(_: int) -> None:
        for _ in range(10):
            registry.functions.vehicle(os.urandom(32)).call()

    threads = 8
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(read, range(threads)))
    assert asked.count("eth_call") == threads * 10
    assert asked.count("eth_chainId") <= threads


def test_a_write_sent_from_prepared_calldata_is_what_web3_would_send(
    system: dict[str, Contract], sender_for: Callable[[int], TransactionSender]
) -> None:
    """The write endpoints encode their transactions with the views' prepared functions; the
    calldata is web3's byte for byte, and a refusal is still decoded before anything is sent."""
    bank = sender_for(BANK)
    views = ChainViews(bank.w3, system)
    registry = system["VehicleRegistry"]
    vid, commitment = os.urandom(32), os.urandom(32)
    latest = views.latest_timestamp()
    assert latest == bank.w3.eth.get_block("latest")["timestamp"]
    args = (vid, commitment, 2_500_000, latest)
    tx = views.view("VehicleRegistry", "registerVehicle").transaction(*args)
    web3_tx = registry.functions.registerVehicle(*args).build_transaction(
        {"from": bank.address, "gasPrice": 0, "gas": 0}
    )
    assert tx == {"to": registry.address, "data": web3_tx["data"]}
    receipt = bank.send(tx)
    assert receipt["status"] == 1
    assert views.read("VehicleRegistry", "vehicle", vid)[3] == bank.address
    nonce = bank.w3.eth.get_transaction_count(bank.address)
    with pytest.raises(TransactionReverted) as refused:
        bank.send(tx)  # registered already
    assert refused.value.error_name == "RegistryVehicleExists"
    assert bank.w3.eth.get_transaction_count(bank.address) == nonce  # nothing was signed
