"""The indexer's prepared event decoders give exactly what web3's own event decoding gives,
for every event of the consortium's contracts, including the extreme values of each type."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from eth_abi import encode
from hexbytes import HexBytes
from web3 import Web3

from node_api.indexer.chain_reader import ChainLog
from node_api.indexer.contracts import UNDECODED_EVENT, WatchedContracts, event_topic
from node_api.indexer.encoding import json_arguments
from vcl.artifacts import load_artifact
from vcl.deploy import SYSTEM_CONTRACTS
from vcl.localchain import REPO_ROOT

BUILD_DIR = REPO_ROOT / "build/contracts"
SAMPLES_PER_EVENT = 12


def _value(type_: str, rng: random.Random, extreme: int) -> Any:
    """A random value of an ABI type; `extreme` 0/1 picks the type's lowest/highest."""
    if match := re.fullmatch(r"uint(\d*)", type_):
        top = 2 ** int(match.group(1) or 256) - 1
        return (0, top)[extreme] if extreme >= 0 else rng.randint(0, top)
    if match := re.fullmatch(r"int(\d*)", type_):
        half = 2 ** (int(match.group(1) or 256) - 1)
        return (-half, half - 1)[extreme] if extreme >= 0 else rng.randint(-half, half - 1)
    if type_ == "bool":
        return bool(extreme) if extreme >= 0 else rng.random() < 0.5
    if type_ == "address":
        return Web3.to_checksum_address(rng.randbytes(20))
    if match := re.fullmatch(r"bytes(\d+)", type_):
        return rng.randbytes(int(match.group(1)))
    if type_ == "bytes":
        return rng.randbytes(rng.randint(0, 70))
    if type_ == "string":
        return "".join(rng.choice("aé漢 0") for _ in range(rng.randint(0, 40)))
    raise AssertionError(f"no generator for {type_}")


def _log(address: str, event: dict[str, Any], values: list[Any]) -> ChainLog:
    indexed = [(i, v) for i, v in zip(event["inputs"], values, strict=True) if i["indexed"]]
    plain = [(i, v) for i, v in zip(event["inputs"], values, strict=True) if not i["indexed"]]
    topics = [event_topic(event)] + [encode([i["type"]], [v]) for i, v in indexed]
    data = encode([i["type"] for i, _ in plain], [v for _, v in plain])
    return ChainLog(
        address=address.lower(),
        topics=tuple(topics),
        data=data,
        block_number=7,
        block_hash="0x" + "ab" * 32,
        transaction_hash="0x" + "cd" * 32,
        transaction_index=0,
        log_index=3,
        removed=False,
    )


def _web3_args(w3: Web3, address: str, abi: list[Any], event: dict[str, Any], log: ChainLog) -> Any:
    receipt = {
        "address": address,
        "topics": [HexBytes(t) for t in log.topics],
        "data": HexBytes(log.data),
        "blockHash": HexBytes(log.block_hash),
        "blockNumber": log.block_number,
        "transactionHash": HexBytes(log.transaction_hash),
        "transactionIndex": log.transaction_index,
        "logIndex": log.log_index,
    }
    contract = w3.eth.contract(address=address, abi=abi)  # type: ignore[call-overload]
    return contract.events[event["name"]]().process_log(receipt)["args"]


@pytest.mark.parametrize("contract_name", SYSTEM_CONTRACTS)
def test_every_event_decodes_as_web3_decodes_it(contract_name: str) -> None:
    w3 = Web3()
    abis = {name: load_artifact(BUILD_DIR, name).abi for name in SYSTEM_CONTRACTS}
    addresses = {
        name: Web3.to_checksum_address(f"0x{index + 1:040x}")
        for index, name in enumerate(SYSTEM_CONTRACTS)
    }
    watched = WatchedContracts(w3, addresses, abis)
    address = addresses[contract_name]
    events = [e for e in abis[contract_name] if e["type"] == "event" and not e["anonymous"]]
    assert events
    rng = random.Random(f"decoding {contract_name}")
    for event in events:
        for sample in range(SAMPLES_PER_EVENT):
            extreme = sample if sample < 2 else -1
            values = [_value(i["type"], rng, extreme) for i in event["inputs"]]
            log = _log(address, event, values)

            decoded = watched.decode(log)

            expected = json_arguments(_web3_args(w3, address, abis[contract_name], event, log))
            assert (decoded.contract_name, decoded.event_name) == (contract_name, event["name"])
            assert decoded.contract_address == address
            assert decoded.args == expected
            assert list(decoded.args) == list(expected)  # the stored JSON's key order too


def test_a_log_its_abi_does_not_explain_is_stored_undecoded() -> None:
    w3 = Web3()
    registry = load_artifact(BUILD_DIR, "VehicleRegistry").abi
    address = Web3.to_checksum_address("0x" + "11" * 20)
    watched = WatchedContracts(w3, {"VehicleRegistry": address}, {"VehicleRegistry": registry})
    registered = next(e for e in registry if e.get("name") == "VehicleRegistered")
    values = [_value(i["type"], random.Random(1), -1) for i in registered["inputs"]]
    good = _log(address, registered, values)
    missing_topic = ChainLog(**{**good.__dict__, "topics": good.topics[:-1]})
    unknown = ChainLog(**{**good.__dict__, "topics": (b"\x01" * 32, *good.topics[1:])})

    for log in (missing_topic, unknown):
        decoded = watched.decode(log)
        assert decoded.event_name == UNDECODED_EVENT
        assert decoded.args == {
            "topics": ["0x" + t.hex() for t in log.topics],
            "data": "0x" + log.data.hex(),
        }
