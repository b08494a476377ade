"""Under load the API's requests can hold every pooled database connection. The indexer then
sees an outage it retries (`DatabaseUnavailable`), not an error that ends its thread: found
by the local consortium's load benchmark, where every node stopped indexing for good."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from node_api.db import DatabaseUnavailable, migrate
from node_api.indexer.store import IndexStore


def test_no_free_connection_is_an_outage_the_indexer_retries(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    migrate(url)
    engine = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    store = IndexStore(engine, chain_id=1337)
    try:
        assert store.cursor() is None
        # A request holds the only connection.
        with engine.connect(), pytest.raises(DatabaseUnavailable, match="no free connection"):
            store.cursor()
        assert store.cursor() is None  # and once it is back, the indexer goes on
    finally:
        engine.dispose()
