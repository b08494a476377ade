"""The whole system deployed by the core package (not Brownie) on a real anvil."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from web3 import Web3

from vcl.config import Settings
from vcl.deploy import (
    DEFAULT_PARAMETERS,
    deployed_and_live,
    dev_founders,
)
from vcl.errors import TransactionReverted
from vcl.sender import TransactionSender

ZERO_ADDRESS = "0x" + "00" * 20
ROLE_OF_KIND = {1: "BANK_ROLE", 2: "AUDITOR_ROLE", 3: "ORACLE_ROLE", 4: "ISSUER_ROLE"}


def test_founders_hold_their_roles_and_parameters_are_set(
    system: dict[str, Any], sender: TransactionSender, settings: Settings
) -> None:
    consortium = system["Consortium"]
    for founder in dev_founders():
        role = Web3.keccak(text=ROLE_OF_KIND[int(founder.kind)])
        assert consortium.functions.hasRole(role, founder.address).call()
    stranger = sender.w3.eth.accounts[9]
    assert not consortium.functions.hasRole(Web3.keccak(text="BANK_ROLE"), stranger).call()
    for key, value in DEFAULT_PARAMETERS.items():
        assert consortium.functions.parameter(Web3.keccak(text=key)).call() == value
    assert consortium.functions.loanManager().call() == system["LoanManager"].address
    recorded = deployed_and_live(sender.w3, settings)
    assert recorded is not None
    assert recorded["VehicleRegistry"] == system["VehicleRegistry"].address


def test_a_stranger_is_refused_with_the_decoded_error(
    system: dict[str, Any], sender_for: Callable[[int], TransactionSender]
) -> None:
    stranger = sender_for(9)
    action = (0, stranger.address, 1, b"\x00" * 32, 0)  # AdmitMember(stranger, Bank)
    with pytest.raises(TransactionReverted) as caught:
        stranger.transact(system["Consortium"].functions.propose(action))
    assert caught.value.error_name == "ConsortiumUnauthorizedAccount"
    assert caught.value.args_decoded == (stranger.address, Web3.keccak(text="BANK_ROLE"))


VOTE_GAS = 300_000


def test_a_revert_at_mining_time_is_decoded_with_its_transaction(
    system: dict[str, Any], sender_for: Callable[[int], TransactionSender]
) -> None:
    """Two votes of one bank, sent with a known gas limit (no estimate that would see the
    first one pending and refuse the second before sending), go into one block: the second
    reverts when mined, and the sender reports it with the transaction hash."""
    bank_a = sender_for(1)
    consortium = system["Consortium"]
    bank_a.transact(
        consortium.functions.propose((4, ZERO_ADDRESS, 0, Web3.keccak(text="HEARTBEAT"), 3600))
    )
    proposal_id = consortium.functions.proposalCount().call()
    w3 = bank_a.w3
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    outcomes: list[BaseException | None] = []

    def vote() -> None:
        try:
            bank_a.transact(consortium.functions.vote(proposal_id, True), gas=VOTE_GAS)
            outcomes.append(None)
        except TransactionReverted as exc:
            outcomes.append(exc)

    try:
        voters = [threading.Thread(target=vote) for _ in range(2)]
        for voter in voters:
            voter.start()
        deadline = time.monotonic() + 10
        while len(w3.eth.get_block("pending")["transactions"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        for voter in voters:
            voter.join(timeout=30)
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    reverted = [o for o in outcomes if isinstance(o, TransactionReverted)]
    assert len(outcomes) == 2
    assert len(reverted) == 1
    assert reverted[0].error_name == "ConsortiumAlreadyVoted"
    assert reverted[0].tx_hash is not None
    assert reverted[0].args_decoded == (proposal_id, bank_a.address)
