"""What the indexer reports about itself; the API serves it (Prometheus text at `/metrics`).

Plain attributes, written by the indexer's thread and read by others: each is one
assignment of an immutable value, so a reader never sees a torn value.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class IndexerMetrics:
    chain_head: int | None = None  # latest block number the node reported
    cursor_block: int | None = None  # last indexed block (None: nothing indexed yet)
    start_block: int = 0
    events_indexed_total: int = 0
    reorgs_total: int = 0
    blocks_rewound_total: int = 0
    read_errors_total: int = 0
    last_error: str | None = None
    # One of a node's several workers indexes; the others stand by (node_api.indexer.leader).
    standing_by: bool = False

    @property
    def lag_blocks(self) -> int | None:
        """Blocks the chain head is ahead of the indexed data (None before the first read)."""
        if self.chain_head is None:
            return None
        return indexing_lag(self.chain_head, self.cursor_block, self.start_block)


def indexing_lag(head: int, cursor: int | None, start_block: int = 0) -> int:
    """Blocks between the chain head and the last indexed block."""
    indexed_up_to = start_block - 1 if cursor is None else cursor
    return max(head - indexed_up_to, 0)
