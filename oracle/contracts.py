"""The oracle's view of the deployed contracts: the ConditionOracle and what it asks the
Consortium (operators, quorum, approved models).

The views are called with calldata encoded by eth_abi from a selector worked out once, sent
straight through the provider, not through `contract.functions.f().call()`: web3's argument
binding, formatters and middleware cost about 2 ms of CPU a view, several times the round
trip. Anything but a plain answer is asked again through web3, for its typed errors.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_typing import ChecksumAddress
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types, get_abi_output_types
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.types import RPCEndpoint

from vcl.artifacts import load_artifact
from vcl.config import Settings
from vcl.deployments import DeploymentRecord

ORACLE_ROLE = Web3.keccak(text="ORACLE_ROLE")
ORACLE_QUORUM = Web3.keccak(text="ORACLE_QUORUM")
ALERT_THRESHOLD_BPS = Web3.keccak(text="ALERT_THRESHOLD_BPS")


@dataclass(frozen=True)
class OracleContracts:
    w3: Web3
    chain_id: int
    oracle: Contract
    consortium: Contract
    registry: Contract

    @classmethod
    def from_settings(cls, w3: Web3, settings: Settings) -> OracleContracts:
        """Bind the contracts recorded for this chain in the deployment record."""
        chain_id = w3.eth.chain_id
        record = DeploymentRecord(settings.deployment_file)

        def bind(name: str) -> Contract:
            address = record.address(chain_id, name)
            return w3.eth.contract(address=address, abi=load_artifact(settings.build_dir, name).abi)

        oracle, consortium = bind("ConditionOracle"), bind("Consortium")
        return cls(w3, chain_id, oracle, consortium, bind("VehicleRegistry"))

    @property
    def oracle_address(self) -> ChecksumAddress:
        return self.oracle.address

    def latest_round(self) -> int:
        latest: int = self._view(self.oracle, "latestRound")
        return latest

    def latest_observed_at(self) -> int:
        observed: int = self._view(self.oracle, "latestObservedAt")
        return observed

    def quorum(self) -> int:
        """The governed number of distinct operator signatures a report needs."""
        quorum: int = self._view(self.consortium, "parameter", ORACLE_QUORUM)
        return quorum

    def alert_threshold_bps(self) -> int:
        threshold: int = self._view(self.consortium, "parameter", ALERT_THRESHOLD_BPS)
        return threshold

    def is_operator(self, account: str) -> bool:
        """Whether `account` is an active oracle operator now."""
        active: bool = self._view(
            self.consortium, "hasRole", ORACLE_ROLE, Web3.to_checksum_address(account)
        )
        return active

    def is_model_approved(self, version: bytes) -> bool:
        approved: bool = self._view(self.consortium, "isModelApproved", version)
        return approved

    def _view(self, contract: Contract, name: str, *args: Any) -> Any:
        """The single output of view `name` of `contract` called with `args`."""
        prepared = self._prepared.get((contract.address, name))
        if prepared is None:
            prepared = self._prepared[(contract.address, name)] = _PreparedView(contract, name)
        return prepared.call(self.w3, args)

    @functools.cached_property
    def _prepared(self) -> dict[tuple[str, str], _PreparedView]:
        return {}


class _PreparedView:
    """A single-output view function of one contract: its selector and ABI types."""

    def __init__(self, contract: Contract, name: str) -> None:
        (function,) = (
            item
            for item in contract.abi
            if item.get("type") == "function" and item.get("name") == name
        )
        self.contract = contract
        self.name = name
        self.address = contract.address
        self.selector = function_abi_to_4byte_selector(function)
        self.inputs = get_abi_input_types(function)
        self.outputs = get_abi_output_types(function)

    def call(self, w3: Web3, args: tuple[Any, ...]) -> Any:
        data = "0x" + (self.selector + encode(self.inputs, list(args))).hex()
        # Straight through the provider (its transport, not web3's middleware, whose
        # transaction validators alone cost 1 ms); anything but a plain answer is asked
        # again through web3, which raises its usual typed errors.
        answer = w3.provider.make_request(
            RPCEndpoint("eth_call"), [{"to": self.address, "data": data}, "latest"]
        )
        raw = answer.get("result")
        if "error" not in answer and isinstance(raw, str) and len(raw) > 2:
            try:
                (value,) = decode(self.outputs, HexBytes(raw))
                return value
            except DecodingError:
                pass
        return self.contract.functions[self.name](*args).call()
