"""The vehicle list at scale, a phase of `benchmarks.api`: the queries of
`GET /v1/vehicles` (the total, the first page, a page half-way) on a migrated database holding
many registrations and as many other events, timed with the list's index
(`ix_chain_events_event_order`) and then, as the baseline in the same run, without it.

The rows are written straight into `chain_events` (what the indexer would store), not mined:
the figures are the database's, at a size the chain of a benchmark cannot reach in minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from node_api.api.routes.vehicles import in_chain_order, registrations
from node_api.db import make_engine, migrate
from node_api.models import Base

CHAIN_ID = 1337
PAGE = 50
REPEATS = 5  # the best of these is kept: the query, not the machine's noise
_OTHER_EVENTS = ("LienPlaced", "ConditionReported", "LienReleased", "DocumentAnchored")
_INSERT_AT_A_TIME = 10_000


def list_at_scale(url: str, registrations_count: int) -> dict[str, Any]:
    """Milliseconds per query with the index and without it, on a fresh database at `url`."""
    migrate(url)
    engine = make_engine(url)
    try:
        _fill(engine, registrations_count)
        indexed = _timed(engine, registrations_count)
        with engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_chain_events_event_order"))
        unindexed = _timed(engine, registrations_count)
    finally:
        engine.dispose()
    return {
        "registrations": registrations_count,
        "other_events": registrations_count,
        "page": PAGE,
        "with_index_ms": indexed,
        "without_index_ms": unindexed,
    }


def _fill(engine: Engine, count: int) -> None:
    """`count` registrations interleaved with as many other events, four logs a block."""
    table = Base.metadata.tables["chain_events"]
    rows = []
    for serial in range(2 * count):
        registration = serial % 2 == 0
        rows.append(
            {
                "chain_id": CHAIN_ID,
                "contract_name": "VehicleRegistry",
                "contract_address": "0x" + "11" * 20,
                "event_name": "VehicleRegistered"
                if registration
                else _OTHER_EVENTS[serial % len(_OTHER_EVENTS)],
                "block_number": serial // 4,
                "block_hash": f"0x{serial // 4:064x}",
                "block_timestamp": 1_700_000_000 + serial,
                "transaction_hash": f"0x{serial:064x}",
                "transaction_index": 0,
                "log_index": serial % 4,
                "args": {"bank": "0x" + "ab" * 20},
                "vehicle_id": f"0x{serial // 2:064x}",
            }
        )
        if len(rows) == _INSERT_AT_A_TIME:
            _insert(engine, table, rows)
            rows = []
    _insert(engine, table, rows)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE chain_events"))  # as autovacuum would, in time


def _insert(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        with engine.begin() as connection:
            connection.execute(table.insert(), rows)


def _timed(engine: Engine, count: int) -> dict[str, float]:
    query = registrations(CHAIN_ID)
    with Session(engine) as session:
        queries: dict[str, Callable[[], object]] = {
            "total": lambda: session.scalar(select(func.count()).select_from(query.subquery())),
            "first_page": lambda: session.execute(in_chain_order(query).limit(PAGE)).all(),
            "middle_page": lambda: session.execute(
                in_chain_order(query).limit(PAGE).offset(count // 2)
            ).all(),
        }
        return {name: _best_ms(run) for name, run in queries.items()}


def _best_ms(run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 2)
