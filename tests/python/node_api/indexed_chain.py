"""What the chain holds and what the node's database holds, in one comparable form."""

from __future__ import annotations

from collections.abc import Sequence

from eth_typing import ChecksumAddress
from sqlalchemy import Engine, select
from web3 import Web3

from node_api.models import ChainEvent

# (transaction hash, log index, block number, block hash)
EventKey = tuple[str, int, int, str]


def chain_events(w3: Web3, addresses: Sequence[ChecksumAddress], first: int) -> list[EventKey]:
    """A fresh `eth_getLogs` of every address from `first` to the head."""
    logs = w3.eth.get_logs({"fromBlock": first, "toBlock": "latest", "address": list(addresses)})
    return sorted(
        (
            "0x" + bytes(entry["transactionHash"]).hex(),
            entry["logIndex"],
            entry["blockNumber"],
            "0x" + bytes(entry["blockHash"]).hex(),
        )
        for entry in logs
    )


def stored_events(engine: Engine) -> list[EventKey]:
    query = select(
        ChainEvent.transaction_hash,
        ChainEvent.log_index,
        ChainEvent.block_number,
        ChainEvent.block_hash,
    )
    with engine.connect() as connection:
        return sorted((t, i, n, h) for t, i, n, h in connection.execute(query))
