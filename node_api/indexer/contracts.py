"""The consortium's contracts as the indexer sees them: addresses to watch, logs to decode.

Every event whose inputs are elementary types (all of the consortium's) is decoded by a
decoder prepared once from its ABI: one `eth_abi` call for the indexed topics, one for the
data, addresses checksummed through a cache. That is web3's `get_event_data` without the
per-log ABI walking that made decoding most of an indexing step's CPU; the result is the
same (tests/python/node_api/test_indexer_decoding.py compares them on every event of the
ABIs). An event with tuple or array inputs is decoded by web3 itself.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from eth_abi.codec import ABICodec
from eth_typing import ABIEvent, BlockNumber, ChecksumAddress
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3._utils.abi import (
    exclude_indexed_event_inputs,
    get_indexed_event_inputs,
    normalize_event_input_types,
)
from web3._utils.events import get_event_abi_types_for_decoding
from web3.contract import Contract
from web3.contract.contract import ContractEvent
from web3.exceptions import LogTopicError, MismatchedABI
from web3.types import LogReceipt

from node_api.indexer.chain_reader import ChainLog, hex_of
from node_api.indexer.encoding import json_arguments
from vcl.artifacts import canonical_type, load_artifact
from vcl.config import Settings
from vcl.deploy import SYSTEM_CONTRACTS
from vcl.deployments import DeploymentRecord

log = logging.getLogger(__name__)

# Stored for a log no ABI explains, so that it is kept rather than lost.
UNDECODED_EVENT = "(undecoded)"

# Types `eth_abi` decodes to the value web3 returns, but for addresses (checksummed here).
_ELEMENTARY = re.compile(r"^(u?int[0-9]*|bool|address|bytes[0-9]*|string)$")


@dataclass(frozen=True)
class DecodedLog:
    contract_name: str
    contract_address: ChecksumAddress
    event_name: str
    args: dict[str, Any]  # JSON-safe, see `encoding.json_value`


@functools.lru_cache(maxsize=4096)
def _checksummed(address: str) -> str:
    return to_checksum_address(address)


class _ElementaryEvent:
    """Decodes the logs of one event ABI whose inputs are all elementary types."""

    def __init__(self, codec: ABICodec, event_abi: Mapping[str, Any]) -> None:
        abi = cast(ABIEvent, event_abi)
        topics = list(normalize_event_input_types(get_indexed_event_inputs(abi)))
        data = list(normalize_event_input_types(exclude_indexed_event_inputs(abi)))
        self.name: str = event_abi["name"]
        self._codec = codec
        self._topic_types = list(get_event_abi_types_for_decoding(topics))
        self._data_types = list(get_event_abi_types_for_decoding(data))
        self._topic_names = [str(i["name"]) for i in topics]
        self._data_names = [str(i["name"]) for i in data]

    @staticmethod
    def handles(event_abi: Mapping[str, Any]) -> bool:
        inputs = event_abi.get("inputs", [])
        names = [i.get("name") for i in inputs]
        return (
            all(_ELEMENTARY.match(i["type"]) for i in inputs)
            and all(names)
            and len(set(names)) == len(names)
        )

    def decode(self, topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
        if len(topics) - 1 != len(self._topic_types):
            raise LogTopicError(
                f"Expected {len(self._topic_types)} log topics.  Got {len(topics) - 1}"
            )
        indexed = self._codec.decode(self._topic_types, b"".join(topics[1:]))
        values = self._codec.decode(self._data_types, data)
        args: dict[str, Any] = {}
        for names, types, decoded in (
            (self._topic_names, self._topic_types, indexed),
            (self._data_names, self._data_types, values),
        ):
            for name, type_, value in zip(names, types, decoded, strict=True):
                args[name] = _checksummed(value) if type_ == "address" else value
        return args


class WatchedContracts:
    """Decodes a log by (emitting address, first topic) with that contract's event ABI."""

    def __init__(
        self,
        w3: Web3,
        addresses: Mapping[str, ChecksumAddress],
        abis: Mapping[str, list[dict[str, Any]]],
    ) -> None:
        self._names = {address.lower(): (name, address) for name, address in addresses.items()}
        self._events: dict[tuple[str, bytes], _ElementaryEvent | ContractEvent] = {}
        self.contracts: dict[str, Contract] = {}
        for name, address in addresses.items():
            contract = w3.eth.contract(address=address, abi=abis[name])
            self.contracts[name] = contract
            for entry in abis[name]:
                if entry.get("type") == "event" and not entry.get("anonymous", False):
                    key = (address.lower(), event_topic(entry))
                    if _ElementaryEvent.handles(entry):
                        self._events[key] = _ElementaryEvent(w3.codec, entry)
                    else:
                        self._events[key] = contract.events[entry["name"]]()

    @classmethod
    def from_settings(cls, w3: Web3, settings: Settings) -> WatchedContracts:
        """The four system contracts, at the addresses of the deployment record."""
        record = DeploymentRecord(settings.deployment_file)
        addresses = {name: record.address(settings.chain_id, name) for name in SYSTEM_CONTRACTS}
        abis = {name: load_artifact(settings.build_dir, name).abi for name in SYSTEM_CONTRACTS}
        return cls(w3, addresses, abis)

    @property
    def addresses(self) -> list[ChecksumAddress]:
        return sorted(address for _, address in self._names.values())

    def decode(self, entry: ChainLog) -> DecodedLog:
        name, address = self._names[entry.address]
        topics = entry.topics
        event = self._events.get((entry.address, topics[0])) if topics else None
        if event is not None:
            try:
                event_name, args = _decoded(event, entry, address)
            except (MismatchedABI, LogTopicError) as exc:
                log.warning("log %s of %s does not match its ABI: %s", _where(entry), name, exc)
            else:
                return DecodedLog(name, address, event_name, json_arguments(args))
        log.warning("log %s of %s has no event in the ABI; stored undecoded", _where(entry), name)
        raw = {"topics": [hex_of(t) for t in topics], "data": hex_of(entry.data)}
        return DecodedLog(name, address, UNDECODED_EVENT, raw)


def _decoded(
    event: _ElementaryEvent | ContractEvent, entry: ChainLog, address: ChecksumAddress
) -> tuple[str, Mapping[str, Any]]:
    if isinstance(event, _ElementaryEvent):
        return event.name, event.decode(entry.topics, entry.data)
    receipt: LogReceipt = {
        "address": address,
        "topics": [HexBytes(t) for t in entry.topics],
        "data": HexBytes(entry.data),
        "blockHash": HexBytes(entry.block_hash),
        "blockNumber": BlockNumber(entry.block_number),
        "transactionHash": HexBytes(entry.transaction_hash),
        "transactionIndex": entry.transaction_index,
        "logIndex": entry.log_index,
        "removed": entry.removed,
    }
    decoded = event.process_log(receipt)
    return decoded["event"], decoded["args"]


def event_topic(event_abi: Mapping[str, Any]) -> bytes:
    """keccak256 of the canonical signature: the first topic of every log of this event."""
    types = ",".join(canonical_type(i) for i in event_abi.get("inputs", []))
    return bytes(Web3.keccak(text=f"{event_abi['name']}({types})"))


def _where(entry: ChainLog) -> str:
    return f"{entry.transaction_hash.removeprefix('0x')}:{entry.log_index}"
