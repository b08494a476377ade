"""Follows every event of the consortium's contracts into the node's database.

One step reads the head's header, the range's logs with one `eth_getLogs` over all
contract addresses and the headers of the range's ends and of the blocks with events in one
batch, and writes the events together with the new cursor (block number and hash) in one
database transaction: three JSON-RPC calls and two database transactions however many
blocks and events the range holds. The cursor's block is checked against the chain in the
same reads: a changed hash (or a next block whose parent is not the cursor) is a reorg, and
the indexer rewinds to the newest recorded block still on the chain, deletes what was
indexed above it, and indexes the new chain from there.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from web3 import Web3

from node_api.conditions import decode_report
from node_api.config import NodeSettings
from node_api.db import DatabaseUnavailable
from node_api.indexer.chain_reader import BlockRef, ChainLog, ChainReader
from node_api.indexer.contracts import WatchedContracts
from node_api.indexer.encoding import lookup_columns
from node_api.indexer.errors import (
    ChainMovedDuringRead,
    ChainReadFailed,
    IndexerError,
    ReorgTooDeep,
)
from node_api.indexer.metrics import IndexerMetrics, indexing_lag
from node_api.indexer.store import Cursor, IndexStore
from vcl.chain import make_web3
from vcl.config import Settings

log = logging.getLogger(__name__)

REINDEX_COMMAND = "vcl node reindex"
ORACLE = "ConditionOracle"
REPORT_ACCEPTED = "ReportAccepted"


@dataclass(frozen=True)
class StepResult:
    """What one `index_once` did: indexed `first..last`, rewound to `rewound_to`, or nothing."""

    head: int
    first: int | None = None
    last: int | None = None
    events_added: int = 0
    rewound_to: int | None = None  # the fork point: newest block still on the chain
    caught_up: bool = False


class Indexer:
    def __init__(
        self,
        reader: ChainReader,
        contracts: WatchedContracts,
        store: IndexStore,
        settings: NodeSettings,
        metrics: IndexerMetrics | None = None,
    ) -> None:
        self.reader = reader
        self.contracts = contracts
        self.store = store
        self.settings = settings
        self.metrics = metrics or IndexerMetrics(start_block=settings.indexer_start_block)
        self._wake = threading.Event()

    def wake(self) -> None:
        """Cut the poll interval short: a write waits for its block to be indexed."""
        self._wake.set()

    @classmethod
    def from_settings(cls, settings: Settings, node: NodeSettings, engine: Engine) -> Indexer:
        w3: Web3 = make_web3(settings)
        return cls(
            ChainReader(w3),
            WatchedContracts.from_settings(w3, settings),
            IndexStore(engine, settings.chain_id),
            node,
        )

    @property
    def lag_blocks(self) -> int | None:
        """The lag seen by the last step (no chain or database read)."""
        return self.metrics.lag_blocks

    def measure_lag(self) -> int:
        """The lag now: reads the chain head and the stored cursor (for a process that
        serves the metric while another one indexes)."""
        head = self.reader.head()
        cursor = self.store.cursor()
        self.metrics.chain_head = head
        self.metrics.cursor_block = None if cursor is None else cursor.number
        return indexing_lag(head, self.metrics.cursor_block, self.settings.indexer_start_block)

    def index_once(self) -> StepResult:
        """Check for a reorg, then index at most one batch of blocks."""
        latest = self.reader.latest()
        head = latest.number
        self.metrics.chain_head = head
        target = head - self.settings.indexer_confirmations
        cursor = self.store.cursor()
        self.metrics.cursor_block = None if cursor is None else cursor.number
        first = self.settings.indexer_start_block if cursor is None else cursor.number + 1
        if first > target:
            if cursor is not None and not self._still_there(cursor, latest):
                return StepResult(head=head, rewound_to=self._rewind(cursor).number)
            return StepResult(head=head, caught_up=True)
        last = min(target, first + self.settings.indexer_batch_blocks - 1)
        # Read before the logs and compared after: logs of the same chain, or nothing written.
        end = latest if last == head else self.reader.block(last)
        return self._index_range(cursor, head=head, target=target, first=first, last=last, end=end)

    def catch_up(self, max_steps: int = 10_000) -> list[StepResult]:
        """Step until the cursor reaches the (confirmed) head; for tests and tools."""
        results: list[StepResult] = []
        for _ in range(max_steps):
            results.append(self.index_once())
            if results[-1].caught_up:
                return results
        raise IndexerError(f"not caught up with the chain after {max_steps} steps")

    def replay_from(self, block_number: int) -> None:
        """Move the cursor back to just below `block_number`, keeping the stored events:
        the next steps read those blocks again, and their events are not stored twice."""
        cursor = self.store.cursor()
        if cursor is None or block_number > cursor.number:
            return
        if block_number <= self.settings.indexer_start_block:
            self.store.set_cursor(cursor, None)
            return
        below = self.reader.block(block_number - 1)
        if below is None:
            raise ChainMovedDuringRead(f"block {block_number - 1} is not on the chain")
        self.store.set_cursor(cursor, Cursor(below.number, below.hash))

    def run_forever(self, stop: threading.Event) -> None:
        """Index until `stop` is set; chain and database outages are retried every poll."""
        poll = self.settings.indexer_poll_interval_s
        log.info("indexing the events of %s", ", ".join(self.contracts.addresses))
        while not stop.is_set():
            try:
                result = self.index_once()
            except (ChainReadFailed, ChainMovedDuringRead, DatabaseUnavailable) as exc:
                self.metrics.read_errors_total += 1
                self.metrics.last_error = str(exc)
                log.warning("indexing step failed, retrying in %.1f s: %s", poll, exc)
                stop.wait(poll)
                continue
            self.metrics.last_error = None
            if result.caught_up:
                self._wake.wait(poll)
                self._wake.clear()

    def _rewind(self, cursor: Cursor) -> Cursor:
        recorded = self.store.recorded_hashes(cursor.number)
        fork, fork_block = None, None
        for candidate in recorded:
            fork_block = self.reader.block(candidate.number)
            if fork_block is not None and fork_block.hash == candidate.hash:
                fork = candidate
                break
        if fork is None:
            raise ReorgTooDeep(
                f"block {cursor.number} ({cursor.hash}) left the chain and none of the "
                f"{len(recorded)} recorded block hashes is still on it: the fork is deeper "
                f"than {self.settings.indexer_reorg_window} blocks, or this is another chain. "
                f"Index it from scratch with `{REINDEX_COMMAND}`"
            )
        removed = self.store.rewind(
            cursor, fork, None if fork_block is None else fork_block.timestamp
        )
        self.metrics.reorgs_total += 1
        self.metrics.blocks_rewound_total += cursor.number - fork.number
        self.metrics.cursor_block = fork.number
        log.warning(
            "reorg: block %s (%s) left the chain; rewound to block %s, %s events removed",
            cursor.number,
            cursor.hash,
            fork.number,
            removed,
        )
        return fork

    def _still_there(self, recorded: Cursor, latest: BlockRef | None = None) -> bool:
        on_chain = latest if latest and latest.number == recorded.number else None
        block = on_chain or self.reader.block(recorded.number)
        return block is not None and block.hash == recorded.hash

    def _index_range(
        self,
        cursor: Cursor | None,
        *,
        head: int,
        target: int,
        first: int,
        last: int,
        end: BlockRef | None,
    ) -> StepResult:
        """Store the events of `first..last`, or rewind if block `first` does not follow
        the cursor (a reorg took the cursor's block)."""
        logs = self.reader.logs(first, last, self.contracts.addresses)
        numbers = {first, last} | {entry.block_number for entry in logs}
        if cursor is None and first > 0:
            # The parent of the first block is the fork point of a reorg of all of it.
            numbers.add(first - 1)
        blocks = self.reader.blocks(numbers)
        following = blocks.get(first)
        if cursor is not None and following is not None and following.parent_hash != cursor.hash:
            return StepResult(head=head, rewound_to=self._rewind(cursor).number)
        checked = self._consistent(
            cursor, end=end, first=first, last=last, logs=logs, blocks=blocks
        )
        rows = [self._row(entry, checked[entry.block_number]) for entry in logs]
        hashes = {number: block.hash for number, block in checked.items()}
        added = self.store.commit_range(
            expected=cursor,
            new=Cursor(last, checked[last].hash),
            events=rows,
            block_hashes=hashes,
            forget_below=last - self.settings.indexer_reorg_window,
            report_entries=self._report_entries(rows),
            new_timestamp=checked[last].timestamp,
        )
        self.metrics.cursor_block = last
        self.metrics.events_indexed_total += added
        return StepResult(head, first, last, added, caught_up=last == target)

    def _consistent(
        self,
        cursor: Cursor | None,
        *,
        end: BlockRef | None,
        first: int,
        last: int,
        logs: list[ChainLog],
        blocks: dict[int, BlockRef | None],
    ) -> dict[int, BlockRef]:
        """The headers, if the logs and headers were read from one chain that extends the
        cursor; a reorg in between makes the range be read again after the rewind."""
        present = {n: b for n, b in blocks.items() if b is not None}
        if len(present) != len(blocks):
            raise ChainMovedDuringRead(f"blocks {first}..{last} vanished while being read")
        before = present.get(first - 1)
        parent = cursor.hash if cursor is not None else before.hash if before else None
        if parent is not None and present[first].parent_hash != parent:
            raise ChainMovedDuringRead(f"block {first} no longer follows block {first - 1}")
        for entry in logs:
            if entry.removed or entry.block_hash != present[entry.block_number].hash:
                raise ChainMovedDuringRead(f"logs of blocks {first}..{last} changed while read")
        if end is None or end.hash != present[last].hash:
            raise ChainMovedDuringRead(f"block {last} changed while blocks {first}.. were read")
        return present

    def _report_entries(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each vehicle's entry of the range's accepted reports, from their transactions'
        calldata: one batched read, only for ranges with reports."""
        accepted = [
            row
            for row in rows
            if row["event_name"] == REPORT_ACCEPTED and row["contract_name"] == ORACLE
        ]
        if not accepted:
            return []
        inputs = self.reader.transaction_inputs(row["transaction_hash"] for row in accepted)
        oracle = self.contracts.contracts[ORACLE]
        entries: list[dict[str, Any]] = []
        for row in accepted:
            report = decode_report(oracle, inputs[row["transaction_hash"]])
            if report is None or str(report.round_id) != row["args"]["roundId"]:
                log.warning(
                    "report %s of round %s was not sent as submitReport: no scores indexed",
                    row["transaction_hash"],
                    row["args"]["roundId"],
                )
                continue
            for vehicle_id, reported in report.scores.items():
                entries.append(
                    {
                        "chain_id": self.store.chain_id,
                        "transaction_hash": row["transaction_hash"],
                        "vehicle_id": vehicle_id,
                        "block_number": row["block_number"],
                        "log_index": row["log_index"],
                        "block_timestamp": row["block_timestamp"],
                        "round_id": report.round_id,
                        "model_version": report.model_version,
                        "observed_at": report.observed_at,
                        "score": reported.score,
                        "estimated_value": str(reported.estimated_value),
                        "indicators": list(reported.indicators),
                    }
                )
        return entries

    def _row(self, entry: ChainLog, block: BlockRef) -> dict[str, Any]:
        decoded = self.contracts.decode(entry)
        return {
            "chain_id": self.store.chain_id,
            "contract_name": decoded.contract_name,
            "contract_address": decoded.contract_address,
            "event_name": decoded.event_name,
            "block_number": block.number,
            "block_hash": block.hash,
            "block_timestamp": block.timestamp,
            "transaction_hash": entry.transaction_hash,
            "transaction_index": entry.transaction_index,
            "log_index": entry.log_index,
            "args": decoded.args,
            **lookup_columns(decoded.args),
        }
