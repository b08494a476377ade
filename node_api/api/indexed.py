"""Indexed reads: how far the projections they answer from are, said in every answer.

A route that answers from the read models (`node_api.projections`) takes `IndexedDep`: the
answer carries `X-Indexed-Block`, the block the indexer's cursor had reached when the request
read it (the projections are at least that recent), and `X-Indexed-Block-Time`, that block's
time. A write answers only once the index reached its block (`NodeRuntime.counted`), so a
client reads its own writes. Reads that decide a write (its preconditions) ask the chain.

A "not found" is an answer a client acts on: before giving it, an indexed read that lags the
chain waits (briefly) for the index to reach the head and looks again (`found_or_current`),
so an entity another member just created is not denied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Response
from sqlalchemy.orm import Session

from node_api.api.deps import RuntimeDep, SessionDep
from node_api.api.errors import ApiError
from node_api.models import IndexCursor, IndexedTimestamp
from node_api.runtime import NodeRuntime
from vcl.timestamps import iso

T = TypeVar("T")

HEADER = "X-Indexed-Block"
TIME_HEADER = "X-Indexed-Block-Time"
MIN_BLOCK_HEADER = "X-Min-Block"
INDEXED_NOTE = (
    " Answered from this node's index (its read models), not from the chain: "
    f"`{HEADER}` says the block the index had reached (the answer is at least that recent), "
    f"`{TIME_HEADER}` that block's time; `none` before the first block is indexed. "
    f"A request with `{MIN_BLOCK_HEADER}: <n>` (the `block_number` of a write made through "
    "another node, say) is answered once the index holds block n, or refused with 503 "
    "`IndexBehind` after a few seconds (422 `UnknownBlock` if the chain has no block n yet)."
)
# The `responses` of an indexed route, for OpenAPI.
INDEXED_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {"description": f"IndexBehind: the index did not reach `{MIN_BLOCK_HEADER}` in time"},
    200: {
        "headers": {
            HEADER: {
                "description": "The block this node's index had reached (or `none`)",
                "schema": {"type": "string"},
            },
            TIME_HEADER: {
                "description": "That block's time, ISO 8601 UTC (or `none`)",
                "schema": {"type": "string"},
            },
        }
    },
}


@dataclass
class IndexedAt:
    block_number: int | None
    block_timestamp: int | None
    response: Response


def indexed_read(
    runtime: RuntimeDep,
    session: SessionDep,
    response: Response,
    min_block: Annotated[
        int | None,
        Header(
            alias=MIN_BLOCK_HEADER,
            ge=0,
            description="Answer only once this node's index holds this block",
        ),
    ] = None,
) -> IndexedAt:
    """How far the index is, read before the projections in the request's session (they
    are at least this new); first waits for `X-Min-Block` if the request names one."""
    if min_block is not None:
        reached = indexed_at(runtime, session, response)
        if reached.block_number is None or reached.block_number < min_block:
            head = runtime.read("the chain head", lambda: runtime.sender.w3.eth.block_number)
            if min_block > head:
                raise ApiError(
                    422,
                    "UnknownBlock",
                    f"the chain this node follows is at block {head}: it has no block "
                    f"{min_block} to wait for",
                    {"chain_head": head},
                )
            if not runtime.await_indexed(min_block):
                raise ApiError(
                    503,
                    "IndexBehind",
                    f"this node's index has not reached block {min_block} yet "
                    f"(it is at {reached.block_number}); ask again shortly",
                    {"indexed_block": reached.block_number},
                )
            session.rollback()  # ends the read snapshot: the next query sees the new blocks
    return indexed_at(runtime, session, response)


def indexed_at(runtime: NodeRuntime, session: Session, response: Response) -> IndexedAt:
    """Where the index is, in `session`'s view, and the answer's headers saying so."""
    chain_id = runtime.settings.chain_id
    cursor = session.get(IndexCursor, chain_id)
    stamp = session.get(IndexedTimestamp, chain_id)
    number = None if cursor is None else cursor.block_number
    # The time of the cursor's own block (a replay may have moved the cursor back alone).
    same = stamp is not None and cursor is not None and stamp.block_number == cursor.block_number
    timestamp = stamp.block_timestamp if same and stamp is not None else None
    indexed = IndexedAt(number, timestamp, response)
    _set_headers(indexed)
    return indexed


def _set_headers(indexed: IndexedAt) -> None:
    number, timestamp = indexed.block_number, indexed.block_timestamp
    indexed.response.headers[HEADER] = "none" if number is None else str(number)
    indexed.response.headers[TIME_HEADER] = "none" if timestamp is None else iso(timestamp)


def found_or_current(
    runtime: NodeRuntime, session: Session, indexed: IndexedAt, lookup: Callable[[], T | None]
) -> T | None:
    """`lookup()`, or, if it finds nothing while the index lags the chain's head, `lookup()`
    again once the index reached that head (None if it still finds nothing). One chain call,
    only on a miss."""
    found = lookup()
    if found is not None:
        return found
    head = runtime.read("the chain head", lambda: runtime.sender.w3.eth.block_number)
    if indexed.block_number is not None and indexed.block_number >= head:
        return None
    if not runtime.await_indexed(head):
        return None
    session.rollback()  # ends the read snapshot: the next query sees the new blocks
    fresh = indexed_at(runtime, session, indexed.response)
    indexed.block_number, indexed.block_timestamp = fresh.block_number, fresh.block_timestamp
    return lookup()


IndexedDep = Annotated[IndexedAt, Depends(indexed_read)]
