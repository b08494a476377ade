"""A deployed consortium ready for oracle reports: the model approved by the banks' vote and
the fleet's vehicles registered by a bank."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from web3 import Web3

from oracle.scoring import VehicleScore
from vcl.artifacts import load_artifact
from vcl.config import Settings
from vcl.deploy import SYSTEM_CONTRACTS, deploy_system, dev_founders
from vcl.sender import TransactionSender
from vcl.vin import vehicle_id

SET_MODEL_APPROVAL = 5  # IConsortium.ActionType
SET_PARAMETER = 4
ZERO_ADDRESS = "0x" + "00" * 20
BANKS = (1, 2)
OPERATORS = (4, 5, 6, 8)  # the dev founders' four operators; the quorum is 3
STRANGER = 9
DAY = 86_400
# `LienConsent` of a loan applied for by the bank that registered the vehicle: its own
# transaction is the consent (no signature, deadline or nonce).
OWN_CONSENT = (0, b"\x00" * 32, b"")


@dataclass
class System:
    contracts: dict[str, Any]
    settings: Settings
    sender_for: Callable[[int], TransactionSender]

    @property
    def oracle(self) -> Any:
        return self.contracts["ConditionOracle"]

    def govern(self, action: tuple[int, str, int, bytes, int]) -> None:
        """Propose `action` and pass it with both banks' votes."""
        consortium = self.contracts["Consortium"]
        first, second = (self.sender_for(index) for index in BANKS)
        first.transact(consortium.functions.propose(action))
        proposal = consortium.functions.proposalCount().call()
        first.transact(consortium.functions.vote(proposal, True))
        second.transact(consortium.functions.vote(proposal, True))
        first.transact(consortium.functions.execute(proposal))

    def approve_model(self, version: bytes) -> None:
        self.govern((SET_MODEL_APPROVAL, ZERO_ADDRESS, 0, version, 1))

    def set_parameter(self, name: str, value: int) -> None:
        self.govern((SET_PARAMETER, ZERO_ADDRESS, 0, Web3.keccak(text=name), value))

    def register(self, scores: Sequence[VehicleScore]) -> None:
        """Register every scored vehicle, appraised as its feeds say, by bank 1."""
        bank = self.sender_for(BANKS[0])
        registry = self.contracts["VehicleRegistry"]
        secret = self.settings.vin_secret.get_secret_value().encode()
        for score in scores:
            appraised = datetime.combine(score.as_of, time(0), tzinfo=UTC)
            bank.transact(
                registry.functions.registerVehicle(
                    vehicle_id(score.vin, secret),
                    Web3.keccak(os.urandom(16)),
                    score.appraisal_value_minor,
                    int(appraised.timestamp()),
                )
            )

    def pledge(self, scores: Sequence[VehicleScore]) -> None:
        """Bank 1 lends half the appraisal against each registered vehicle (6 %, 360 days,
        monthly installments, its own consent) and approves the loan: the lien is active."""
        bank = self.sender_for(BANKS[0])
        loans = self.contracts["LoanManager"]
        secret = self.settings.vin_secret.get_secret_value().encode()
        for score in scores:
            vid = vehicle_id(score.vin, secret)
            bank.transact(
                loans.functions.applyForLoan(
                    vid,
                    Web3.keccak(vid),
                    score.appraisal_value_minor // 2,
                    600,
                    360 * DAY,
                    30 * DAY,
                    OWN_CONSENT,
                )
            )
            bank.transact(loans.functions.approve(loans.functions.loanCount().call()))

    def scores_on_chain(self, scores: Sequence[VehicleScore]) -> list[tuple[int, int, bytes]]:
        """(score, estimated value, model version) the oracle holds for each vehicle."""
        secret = self.settings.vin_secret.get_secret_value().encode()
        found = []
        for score in scores:
            data = self.oracle.functions.latestRoundData(vehicle_id(score.vin, secret)).call()
            found.append((data[1], data[2], bytes(data[3])))
        return found


def expected(scores: Sequence[VehicleScore]) -> list[tuple[int, int, bytes]]:
    return [(s.score, s.estimated_value_minor, s.model_version) for s in scores]


def deploy(
    settings: Settings, sender_for: Callable[[int], TransactionSender], model_version: bytes
) -> System:
    """A fresh system with `model_version` approved."""
    deployer = sender_for(0)
    addresses = deploy_system(deployer, settings, dev_founders())
    contracts = {
        name: deployer.w3.eth.contract(
            address=addresses[name], abi=load_artifact(settings.build_dir, name).abi
        )
        for name in SYSTEM_CONTRACTS
    }
    system = System(contracts, settings, sender_for)
    system.approve_model(model_version)
    return system
