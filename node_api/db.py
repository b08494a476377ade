"""Engine, sessions and schema version of the node's database.

SQLite by default, PostgreSQL by URL (`postgresql+psycopg://...`). The schema changes only
through the Alembic migrations in `node_api/migrations`; a process refuses a database that
is not at the newest revision and says which command brings it there.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from vcl.errors import VclError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATE_COMMAND = "vcl node migrate"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# A request holds a connection from its API-key check to its answer, also while it waits for
# a worker thread or the chain; the indexer's thread needs one too. SQLAlchemy's default pool
# (5 + 10 overflow) ran dry under load: requests, and the indexer, failed after waiting 30 s
# for a connection (docs/load-benchmark.md). The pool holds more connections than the server
# admits requests (`node_api.api.admission.MAX_REQUESTS_IN_FLIGHT`); SQLite connections are cheap.
SQLITE_POOL_SIZE = 10
SQLITE_MAX_OVERFLOW = 70


class DatabaseError(VclError):
    """Base of every error the node's database layer raises on purpose."""


class DatabaseUnavailable(DatabaseError):
    """The database does not answer or refused the operation (connection, lock, disk)."""


class DatabaseNotMigrated(DatabaseError):
    """The schema is not the one this code expects; the message names the command to run."""


def shown_url(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)


def make_engine(database_url: str) -> Engine:
    """An engine for `database_url`; SQLite files get WAL so readers never block the indexer."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if not url.database or url.database == ":memory:":
        engine = create_engine(url)  # one connection per thread; no pool to size
    else:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_MAX_OVERFLOW)
    event.listen(engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")  # a commit survives power loss, not only kill -9
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(
            f"database {shown_url(str(engine.url))} does not answer: {exc}"
        ) from exc


def migrate(database_url: str) -> str | None:
    """Bring the database to the newest revision; returns that revision."""
    engine = make_engine(database_url)
    try:
        command.upgrade(alembic_config(engine), "head")
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"migrating {shown_url(database_url)} failed: {exc}") from exc
    finally:
        engine.dispose()
    return head_revision()


def check_migrated(engine: Engine) -> None:
    """Refuse a database whose schema is not at this code's newest revision."""
    current = current_revision(engine)
    expected = head_revision()
    if current == expected:
        return
    where = shown_url(str(engine.url))
    if current is None:
        state = "has no schema"
    elif current in _known_revisions():
        state = f"is at revision {current}, this version needs {expected}"
    else:
        raise DatabaseNotMigrated(
            f"database {where} is at revision {current}, unknown to this version "
            f"(which needs {expected}): it was migrated by a newer version of the node"
        )
    raise DatabaseNotMigrated(
        f"database {where} {state}: run `{MIGRATE_COMMAND}` (VCL_DATABASE_URL={where})"
    )


def _known_revisions() -> set[str]:
    return {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }
