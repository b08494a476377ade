"""Does a node's database agree with the chain? The chain's `eth_getLogs` of the consortium's
contracts against the node's `chain_events`, both up to one block, event by event; do its
read models equal a rebuild from its events; and is every write the API confirmed (a 2xx
answer with its transaction hash) on the chain?"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from eth_typing import ChecksumAddress
from sqlalchemy import Engine, select
from web3 import Web3
from web3.types import BlockIdentifier

from node_api.models import ChainEvent, IndexCursor
from node_api.projections import current_and_rebuilt

# (transaction hash, log index, block number, block hash)
EventKey = tuple[str, int, int, str]


def chain_events(
    w3: Web3, addresses: Sequence[ChecksumAddress], first: int = 0, last: int | None = None
) -> list[EventKey]:
    """A fresh `eth_getLogs` of every address, from `first` to `last` (None: the head)."""
    to_block: BlockIdentifier = "latest" if last is None else last
    logs = w3.eth.get_logs({"fromBlock": first, "toBlock": to_block, "address": list(addresses)})
    return sorted(
        (
            "0x" + bytes(entry["transactionHash"]).hex(),
            entry["logIndex"],
            entry["blockNumber"],
            "0x" + bytes(entry["blockHash"]).hex(),
        )
        for entry in logs
    )


def stored_events(
    engine: Engine, chain_id: int | None = None, last: int | None = None
) -> list[EventKey]:
    """The node's indexed events (of one chain, up to `last`, when given)."""
    query = select(
        ChainEvent.transaction_hash,
        ChainEvent.log_index,
        ChainEvent.block_number,
        ChainEvent.block_hash,
    )
    if chain_id is not None:
        query = query.where(ChainEvent.chain_id == chain_id)
    if last is not None:
        query = query.where(ChainEvent.block_number <= last)
    with engine.connect() as connection:
        return sorted((t, i, n, h) for t, i, n, h in connection.execute(query))


def indexed_to(engine: Engine, chain_id: int) -> int | None:
    """The last block whose events are all in the database (the indexer's cursor)."""
    query = select(IndexCursor.block_number).where(IndexCursor.chain_id == chain_id)
    with engine.connect() as connection:
        return connection.execute(query).scalar()


def projections_match_rebuild(engine: Engine, chain_id: int) -> bool:
    """The node's projections equal a rebuild from its stored events (rolled back: the node
    keeps running)."""
    current, rebuilt = current_and_rebuilt(engine, chain_id)
    return current == rebuilt


@dataclass(frozen=True)
class Comparison:
    events_chain: int
    events_db: int
    missing: list[EventKey] = field(default_factory=list)  # on the chain, not in the database
    extra: list[EventKey] = field(default_factory=list)  # in the database, not on the chain

    @property
    def consistent(self) -> bool:
        return not self.missing and not self.extra


def compare(chain: Sequence[EventKey], stored: Sequence[EventKey]) -> Comparison:
    """Multisets: an event stored twice is as wrong as one never stored."""
    on_chain, in_db = Counter(chain), Counter(stored)
    return Comparison(
        events_chain=len(chain),
        events_db=len(stored),
        missing=sorted((on_chain - in_db).elements()),
        extra=sorted((in_db - on_chain).elements()),
    )


@dataclass(frozen=True)
class ConfirmedWrites:
    answered: int  # writes answered 2xx
    on_chain: int  # of which the transaction's events are on the chain
    duplicates: int  # answers that named a transaction another answer named already

    @property
    def consistent(self) -> bool:
        return self.on_chain == self.answered and self.duplicates == 0


def confirmed_writes(tx_hashes: Iterable[str], chain: Sequence[EventKey]) -> ConfirmedWrites:
    """Every confirmed write names its own transaction, and that transaction's events are on
    the chain (each write of the load emits at least one event)."""
    hashes = [h.lower() for h in tx_hashes]
    mined = {event[0].lower() for event in chain}
    return ConfirmedWrites(
        answered=len(hashes),
        on_chain=sum(1 for h in hashes if h in mined),
        duplicates=len(hashes) - len(set(hashes)),
    )
