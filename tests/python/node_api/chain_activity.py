"""Transactions that make the consortium's contracts emit events, for the indexer tests."""

from __future__ import annotations

import os
from typing import Any

from web3 import Web3

from vcl.sender import TransactionSender

ZERO_ADDRESS = "0x" + "00" * 20
PARAMETER_CHANGE = 4  # IConsortium.ActionType.SetParameter


def vehicle_id(label: str) -> bytes:
    return Web3.keccak(text=f"vehicle {label} {os.urandom(8).hex()}")


def register_vehicle_call(registry: Any, vehicle: bytes, appraisal: int = 25_000_00) -> Any:
    return registry.functions.registerVehicle(vehicle, Web3.keccak(vehicle), appraisal, 1)


def register_vehicle(
    bank: TransactionSender, registry: Any, vehicle: bytes, appraisal: int
) -> None:
    bank.transact(register_vehicle_call(registry, vehicle, appraisal))


def propose_and_vote(proposer: TransactionSender, voter: TransactionSender, consortium: Any) -> int:
    """A governance proposal (change the oracle heartbeat) and a second bank's vote."""
    action = (PARAMETER_CHANGE, ZERO_ADDRESS, 0, Web3.keccak(text="HEARTBEAT"), 3600)
    proposer.transact(consortium.functions.propose(action))
    proposal_id: int = consortium.functions.proposalCount().call()
    voter.transact(consortium.functions.vote(proposal_id, True))
    return proposal_id


def fill_blocks(w3: Web3, registry: Any, bank: str, blocks: int, per_block: int) -> None:
    """`blocks` blocks of `per_block` vehicle registrations each, mined by hand."""
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        for _ in range(blocks):
            for _ in range(per_block):
                call = register_vehicle_call(registry, vehicle_id("bulk"))
                tx = {"from": bank, "to": registry.address, "gas": hex(300_000), "gasPrice": "0x0",
                      "data": call._encode_transaction_data()}  # fmt: skip
                answer = w3.provider.make_request("eth_sendTransaction", [tx])  # type: ignore[arg-type]
                assert "error" not in answer, answer
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            mined = w3.eth.get_block("latest")
            assert len(mined["transactions"]) == per_block
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
