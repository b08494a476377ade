"""Condition reports for the API tests: a model version approved by the two banks' vote and
quorum-signed reports (dev operators 4, 5, 6) that give a vehicle a fresh score and value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from vcl.artifacts import load_artifact
from vcl.config import DEV_PRIVATE_KEYS, KeySource, Settings
from vcl.deployments import DeploymentRecord
from vcl.eip712 import Report, ReportEntry, report_message
from vcl.localchain import LocalChain
from vcl.sender import TransactionSender, sender_from_settings

SET_MODEL_APPROVAL = 5  # IConsortium.ActionType
ZERO_ADDRESS = "0x" + "00" * 20
BANKS = (1, 2)
OPERATORS = (4, 5, 6)
MODEL_VERSION = Web3.keccak(text="api-test-model-v1")


class Chain:
    """Senders for dev accounts the node processes do not use, on one deployment."""

    def __init__(self, anvil: LocalChain, deployment_file: Path, build_dir: Path) -> None:
        self.anvil = anvil
        self.deployment_file = deployment_file
        self.build_dir = build_dir
        self._senders: dict[int, TransactionSender] = {}
        settings = self.settings(0)
        record = DeploymentRecord(deployment_file)
        w3 = self.sender(0).w3
        self.contracts: dict[str, Any] = {
            name: w3.eth.contract(
                address=record.address(settings.chain_id, name),
                abi=load_artifact(build_dir, name).abi,
            )
            for name in ("Consortium", "ConditionOracle")
        }

    def settings(self, index: int) -> Settings:
        return Settings(
            rpc_url=self.anvil.rpc_url,
            key_source=KeySource.DEV,
            build_dir=self.build_dir,
            deployment_file=self.deployment_file,
            dev_account_index=index,
        )

    def sender(self, index: int) -> TransactionSender:
        if index not in self._senders:
            self._senders[index] = sender_from_settings(self.settings(index))
        return self._senders[index]

    def approve_model(self) -> None:
        """Propose the model's approval and pass it with both banks' votes (before the
        banks' node processes start: they send with the same keys)."""
        consortium = self.contracts["Consortium"]
        first, second = (self.sender(index) for index in BANKS)
        action = (SET_MODEL_APPROVAL, ZERO_ADDRESS, 0, MODEL_VERSION, 1)
        first.transact(consortium.functions.propose(action))
        proposal = consortium.functions.proposalCount().call()
        first.transact(consortium.functions.vote(proposal, True))
        second.transact(consortium.functions.vote(proposal, True))
        first.transact(consortium.functions.execute(proposal))

    def report(self, vehicle_id: str, *, score: int, value: int) -> Any:
        """Submit a quorum-signed report for one vehicle, observed now; the receipt."""
        oracle = self.contracts["ConditionOracle"]
        w3 = self.sender(OPERATORS[0]).w3
        now = int(w3.eth.get_block("latest")["timestamp"])
        observed = max(now, int(oracle.functions.latestObservedAt().call()))
        entry = ReportEntry(bytes.fromhex(vehicle_id[2:]), score, (5000,) * 12, value)
        report = Report(
            round_id=int(oracle.functions.latestRound().call()) + 1,
            model_version=MODEL_VERSION,
            observed_at=observed,
            scores=(entry,),
        )
        message = report_message(report, int(w3.eth.chain_id), oracle.address)
        signatures = [
            bytes(Account.from_key(DEV_PRIVATE_KEYS[i]).sign_message(message).signature)
            for i in OPERATORS
        ]
        transmitter = self.sender(OPERATORS[0])
        return transmitter.transact(oracle.functions.submitReport(report.as_abi(), signatures))
