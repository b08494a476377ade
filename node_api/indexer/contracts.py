"""The consortium's contracts as the indexer sees them: addresses to watch, logs to decode."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract.contract import ContractEvent
from web3.exceptions import LogTopicError, MismatchedABI
from web3.types import LogReceipt

from node_api.indexer.encoding import json_arguments
from vcl.artifacts import canonical_type, load_artifact
from vcl.config import Settings
from vcl.deploy import SYSTEM_CONTRACTS
from vcl.deployments import DeploymentRecord

log = logging.getLogger(__name__)

# Stored for a log no ABI explains, so that it is kept rather than lost.
UNDECODED_EVENT = "(undecoded)"


@dataclass(frozen=True)
class DecodedLog:
    contract_name: str
    contract_address: ChecksumAddress
    event_name: str
    args: dict[str, Any]  # JSON-safe, see `encoding.json_value`


class WatchedContracts:
    """Decodes a log by (emitting address, first topic) with that contract's event ABI."""

    def __init__(
        self,
        w3: Web3,
        addresses: Mapping[str, ChecksumAddress],
        abis: Mapping[str, list[dict[str, Any]]],
    ) -> None:
        self._names = {address: name for name, address in addresses.items()}
        self._events: dict[tuple[ChecksumAddress, bytes], ContractEvent] = {}
        for name, address in addresses.items():
            contract = w3.eth.contract(address=address, abi=abis[name])
            for entry in abis[name]:
                if entry.get("type") == "event" and not entry.get("anonymous", False):
                    topic = event_topic(entry)
                    self._events[(address, topic)] = contract.events[entry["name"]]()

    @classmethod
    def from_settings(cls, w3: Web3, settings: Settings) -> WatchedContracts:
        """The four system contracts, at the addresses of the deployment record."""
        record = DeploymentRecord(settings.deployment_file)
        addresses = {name: record.address(settings.chain_id, name) for name in SYSTEM_CONTRACTS}
        abis = {name: load_artifact(settings.build_dir, name).abi for name in SYSTEM_CONTRACTS}
        return cls(w3, addresses, abis)

    @property
    def addresses(self) -> list[ChecksumAddress]:
        return sorted(self._names)

    def decode(self, entry: LogReceipt) -> DecodedLog:
        address = Web3.to_checksum_address(entry["address"])
        name = self._names[address]
        topics = entry["topics"]
        event = self._events.get((address, bytes(topics[0]))) if topics else None
        if event is not None:
            try:
                decoded = event.process_log(entry)
            except (MismatchedABI, LogTopicError) as exc:
                log.warning("log %s of %s does not match its ABI: %s", _where(entry), name, exc)
            else:
                return DecodedLog(name, address, decoded["event"], json_arguments(decoded["args"]))
        log.warning("log %s of %s has no event in the ABI; stored undecoded", _where(entry), name)
        raw = {
            "topics": ["0x" + bytes(t).hex() for t in topics],
            "data": "0x" + entry["data"].hex(),
        }
        return DecodedLog(name, address, UNDECODED_EVENT, raw)


def event_topic(event_abi: Mapping[str, Any]) -> bytes:
    """keccak256 of the canonical signature: the first topic of every log of this event."""
    types = ",".join(canonical_type(i) for i in event_abi.get("inputs", []))
    return bytes(Web3.keccak(text=f"{event_abi['name']}({types})"))


def _where(entry: LogReceipt) -> str:
    return f"{bytes(entry['transactionHash']).hex()}:{entry['logIndex']}"
