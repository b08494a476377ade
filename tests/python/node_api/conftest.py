"""Databases for the node API tests: every test that takes `database_url`, and every module
whose node processes come from `api_server`'s fixtures, runs on SQLite and on a real
PostgreSQL server started for the session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from node_api.postgres_server import PostgresServer, PostgresUnavailable

DATABASE_BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer().start()
    except PostgresUnavailable as exc:
        pytest.fail(f"the PostgreSQL test server did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (not migrated) on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'node.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture(scope="module", params=DATABASE_BACKENDS)
def node_backend(request: pytest.FixtureRequest) -> str:
    """The database backend of a module's node processes: each module runs once per backend
    (its node processes restarted in between, the consortium on the chain kept)."""
    backend: str = request.param
    return backend


@pytest.fixture(scope="module")
def new_node_database(
    node_backend: str, request: pytest.FixtureRequest
) -> Callable[[], str | None]:
    """Makes an empty database for one node on the module's backend; None is SQLite in the
    node's directory (`api_server.start_node`'s default)."""

    def make() -> str | None:
        if node_backend == "sqlite":
            return None
        server: PostgresServer = request.getfixturevalue("postgres_server")
        return server.create_database()

    return make
