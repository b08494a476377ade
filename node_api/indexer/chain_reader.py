"""The few chain reads the indexer makes, with transport errors turned into typed ones."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.exceptions import BlockNotFound, Web3Exception
from web3.types import BlockData, FilterParams, LogReceipt

from node_api.indexer.errors import ChainReadFailed


@dataclass(frozen=True)
class BlockRef:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


def hex_of(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _block_ref(block: BlockData) -> BlockRef:
    return BlockRef(
        number=block["number"],
        hash=hex_of(block["hash"]),
        parent_hash=hex_of(block["parentHash"]),
        timestamp=int(block["timestamp"]),
    )


class ChainReader:
    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def chain_id(self) -> int:
        try:
            return self.w3.eth.chain_id
        except (OSError, Web3Exception) as exc:
            raise ChainReadFailed(f"eth_chainId failed: {exc}") from exc

    def head(self) -> int:
        try:
            return self.w3.eth.block_number
        except (OSError, Web3Exception) as exc:
            raise ChainReadFailed(f"eth_blockNumber failed: {exc}") from exc

    def block(self, number: int) -> BlockRef | None:
        """The header at `number`, or None where the chain is (now) shorter."""
        try:
            return _block_ref(self.w3.eth.get_block(number))
        except BlockNotFound:
            return None
        except (OSError, Web3Exception) as exc:
            raise ChainReadFailed(f"eth_getBlockByNumber({number}) failed: {exc}") from exc

    def blocks(self, numbers: Iterable[int]) -> dict[int, BlockRef | None]:
        """Several headers in one batched request."""
        wanted = sorted(set(numbers))
        if len(wanted) <= 1:
            return {n: self.block(n) for n in wanted}
        try:
            with self.w3.batch_requests() as batch:
                for number in wanted:
                    batch.add(self.w3.eth.get_block(number))
                answers = batch.execute()
        except BlockNotFound:
            # The batch fails as a whole; ask one by one to learn which blocks are gone.
            return {n: self.block(n) for n in wanted}
        except (OSError, Web3Exception) as exc:
            raise ChainReadFailed(f"batched eth_getBlockByNumber failed: {exc}") from exc
        found: dict[int, BlockRef | None] = {}
        for number, answer in zip(wanted, answers, strict=True):
            found[number] = _block_ref(cast(BlockData, answer)) if answer else None
        return found

    def logs(self, first: int, last: int, addresses: Sequence[ChecksumAddress]) -> list[LogReceipt]:
        """Every log of `addresses` in blocks `first..last`: one `eth_getLogs`."""
        params: FilterParams = {"fromBlock": first, "toBlock": last, "address": list(addresses)}
        try:
            return list(self.w3.eth.get_logs(params))
        except (OSError, Web3Exception) as exc:
            raise ChainReadFailed(f"eth_getLogs({first}..{last}) failed: {exc}") from exc
