"""The few chain reads the indexer makes, with transport errors turned into typed ones.

The reads go to the provider as plain JSON-RPC and only the fields the indexer uses are
parsed: web3's result formatters (every log and header turned into HexBytes, checksummed
addresses and attribute dicts) cost more CPU than the rest of an indexing step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.exceptions import Web3Exception
from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint

from node_api.indexer.errors import ChainMovedDuringRead, ChainReadFailed


@dataclass(frozen=True)
class BlockRef:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


@dataclass(frozen=True)
class ChainLog:
    """One log as `eth_getLogs` returns it; hashes and the address as lowercase 0x hex."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    block_hash: str
    transaction_hash: str
    transaction_index: int
    log_index: int
    removed: bool


def hex_of(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _int(value: str) -> int:
    return int(value, 16)


def _bytes(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def _block_ref(block: Mapping[str, Any]) -> BlockRef:
    return BlockRef(
        number=_int(block["number"]),
        hash=block["hash"].lower(),
        parent_hash=block["parentHash"].lower(),
        timestamp=_int(block["timestamp"]),
    )


def _log(entry: Mapping[str, Any]) -> ChainLog:
    return ChainLog(
        address=entry["address"].lower(),
        topics=tuple(_bytes(t) for t in entry["topics"]),
        data=_bytes(entry["data"]),
        block_number=_int(entry["blockNumber"]),
        block_hash=entry["blockHash"].lower(),
        transaction_hash=entry["transactionHash"].lower(),
        transaction_index=_int(entry["transactionIndex"]),
        log_index=_int(entry["logIndex"]),
        removed=bool(entry.get("removed", False)),
    )


class ChainReader:
    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def _result(self, method: str, params: list[Any], what: str) -> Any:
        try:
            answer = self.w3.provider.make_request(RPCEndpoint(method), params)
        except (OSError, ValueError, Web3Exception) as exc:  # transport, bad JSON
            raise ChainReadFailed(f"{what} failed: {exc}") from exc
        if "error" in answer:
            raise ChainReadFailed(f"{what} failed: {answer['error']}")
        return answer.get("result")

    def chain_id(self) -> int:
        return _int(self._result("eth_chainId", [], "eth_chainId"))

    def head(self) -> int:
        return _int(self._result("eth_blockNumber", [], "eth_blockNumber"))

    def latest(self) -> BlockRef:
        """The head's header: its number and, read in the same call, its hash."""
        block = self._result("eth_getBlockByNumber", ["latest", False], "reading the chain head")
        if not block:
            raise ChainReadFailed("reading the chain head failed: the node answered no block")
        return _block_ref(block)

    def block(self, number: int) -> BlockRef | None:
        """The header at `number`, or None where the chain is (now) shorter."""
        what = f"eth_getBlockByNumber({number})"
        block = self._result("eth_getBlockByNumber", [hex(number), False], what)
        return _block_ref(block) if block else None

    def blocks(self, numbers: Iterable[int]) -> dict[int, BlockRef | None]:
        """Several headers in one batched request."""
        wanted = sorted(set(numbers))
        if len(wanted) <= 1:
            return {n: self.block(n) for n in wanted}
        batch = [(RPCEndpoint("eth_getBlockByNumber"), [hex(n), False]) for n in wanted]
        provider = self.w3.provider
        if not isinstance(provider, JSONBaseProvider):
            return {n: self.block(n) for n in wanted}  # a provider that cannot batch
        try:
            answers = provider.make_batch_request(batch)
        except (OSError, ValueError, Web3Exception) as exc:
            raise ChainReadFailed(f"batched eth_getBlockByNumber failed: {exc}") from exc
        if not isinstance(answers, list) or len(answers) != len(wanted):
            raise ChainReadFailed(f"batched eth_getBlockByNumber failed: {answers}")
        found: dict[int, BlockRef | None] = {}
        for number, answer in zip(wanted, answers, strict=True):
            if "error" in answer:
                raise ChainReadFailed(f"eth_getBlockByNumber({number}) failed: {answer['error']}")
            block = answer.get("result")
            found[number] = _block_ref(block) if block else None
        return found

    def transaction_inputs(self, hashes: Iterable[str]) -> dict[str, bytes]:
        """The calldata of each transaction, in one batched request."""
        wanted = sorted(set(hashes))
        if not wanted:
            return {}
        provider = self.w3.provider
        if len(wanted) == 1 or not isinstance(provider, JSONBaseProvider):
            return {
                h: self._input(h, self._result("eth_getTransactionByHash", [h], h)) for h in wanted
            }
        batch = [(RPCEndpoint("eth_getTransactionByHash"), [h]) for h in wanted]
        try:
            answers = provider.make_batch_request(batch)
        except (OSError, ValueError, Web3Exception) as exc:
            raise ChainReadFailed(f"batched eth_getTransactionByHash failed: {exc}") from exc
        if not isinstance(answers, list) or len(answers) != len(wanted):
            raise ChainReadFailed(f"batched eth_getTransactionByHash failed: {answers}")
        found: dict[str, bytes] = {}
        for tx_hash, answer in zip(wanted, answers, strict=True):
            if "error" in answer:
                raise ChainReadFailed(
                    f"eth_getTransactionByHash({tx_hash}) failed: {answer['error']}"
                )
            found[tx_hash] = self._input(tx_hash, answer.get("result"))
        return found

    @staticmethod
    def _input(tx_hash: str, transaction: Mapping[str, Any] | None) -> bytes:
        if not transaction:
            raise ChainMovedDuringRead(f"transaction {tx_hash} vanished while being read")
        return _bytes(transaction["input"])

    def logs(self, first: int, last: int, addresses: Sequence[ChecksumAddress]) -> list[ChainLog]:
        """Every log of `addresses` in blocks `first..last`: one `eth_getLogs`."""
        params = [{"fromBlock": hex(first), "toBlock": hex(last), "address": list(addresses)}]
        entries = self._result("eth_getLogs", params, f"eth_getLogs({first}..{last})")
        return [_log(entry) for entry in entries or ()]
