"""The oracle's view of the deployed contracts: the ConditionOracle and what it asks the
Consortium (operators, quorum, approved models).

The views go through `vcl.chain_views` (a selector worked out once, eth_abi, straight through
the provider), not `contract.functions.f().call()`: web3's argument binding, formatters and
middleware cost about 2 ms of CPU a view, several times the round trip. Anything but a plain
answer is asked again through web3, for its typed errors.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from vcl.artifacts import load_artifact
from vcl.chain_views import ChainViews
from vcl.config import Settings
from vcl.deployments import DeploymentRecord

ORACLE_ROLE = Web3.keccak(text="ORACLE_ROLE")
ORACLE_QUORUM = Web3.keccak(text="ORACLE_QUORUM")
ALERT_THRESHOLD_BPS = Web3.keccak(text="ALERT_THRESHOLD_BPS")
MAX_ROUND_GAP = Web3.keccak(text="MAX_ROUND_GAP")


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

    def max_round_gap(self) -> int:
        """The governed largest step from the latest round to the next report's."""
        gap: int = self._view(self.consortium, "parameter", MAX_ROUND_GAP)
        return gap

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
        return self._views.read(contract.address, name, *args)

    @functools.cached_property
    def _views(self) -> ChainViews:
        contracts = (self.oracle, self.consortium, self.registry)
        return ChainViews(self.w3, {contract.address: contract for contract in contracts})
