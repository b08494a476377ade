"""The vehicle-list phase of the API benchmark times each query on the rows it wrote, then again
without the list's index (figures only; timing is the benchmark's business, not a test's)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, inspect, select

from benchmarks.api_lists import list_at_scale
from node_api.db import make_engine
from node_api.models import ChainEvent


def test_each_query_is_timed_with_the_index_and_then_without_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'list.db'}"
    scale = list_at_scale(url, 200)
    assert scale["registrations"] == scale["other_events"] == 200
    queries = {"total", "first_page", "middle_page"}
    assert set(scale["with_index_ms"]) == set(scale["without_index_ms"]) == queries
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.scalar(select(func.count()).select_from(ChainEvent))
            registered = connection.scalar(
                select(func.count()).where(ChainEvent.event_name == "VehicleRegistered")
            )
        indexes = {index["name"] for index in inspect(engine).get_indexes("chain_events")}
    finally:
        engine.dispose()
    assert (rows, registered) == (400, 200)
    assert "ix_chain_events_event_order" not in indexes  # the baseline ran without it
    assert "ix_chain_events_chain_block" in indexes  # and only without it
