"""Schema changes only through Alembic, and nothing starts on a database not migrated."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from node_api.db import (
    MIGRATE_COMMAND,
    DatabaseNotMigrated,
    check_migrated,
    head_revision,
    make_engine,
    migrate,
)
from node_api.models import Base
from vcl.localchain import REPO_ROOT


def test_migrations_create_the_schema_of_the_models(database_url: str) -> None:
    assert migrate(database_url) == head_revision()
    engine = make_engine(database_url)
    check_migrated(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"chain_events", "index_cursor", "block_hashes", "alembic_version"} <= tables
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_migrating_twice_changes_nothing(database_url: str) -> None:
    migrate(database_url)
    assert migrate(database_url) == head_revision()
    check_migrated(make_engine(database_url))


def test_an_unmigrated_database_is_refused_with_the_command_to_run(database_url: str) -> None:
    with pytest.raises(DatabaseNotMigrated) as refused:
        check_migrated(make_engine(database_url))
    assert f"run `{MIGRATE_COMMAND}`" in str(refused.value)
    assert "has no schema" in str(refused.value)


def test_a_database_of_a_newer_version_is_refused(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    with pytest.raises(DatabaseNotMigrated, match="newer version of the node"):
        check_migrated(engine)


def test_an_event_is_stored_once_per_transaction_and_log_index(database_url: str) -> None:
    migrate(database_url)
    row = {
        "chain_id": 1337,
        "contract_name": "VehicleRegistry",
        "contract_address": "0x" + "11" * 20,
        "event_name": "VehicleRegistered",
        "block_number": 7,
        "block_hash": "0x" + "22" * 32,
        "block_timestamp": 1_700_000_000,
        "transaction_hash": "0x" + "33" * 32,
        "transaction_index": 0,
        "log_index": 4,
        "args": {"appraisalValue": str(2**200)},
    }
    engine = make_engine(database_url)
    table = Base.metadata.tables["chain_events"]
    with engine.begin() as connection:
        connection.execute(table.insert(), row)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(table.insert(), {**row, "block_number": 8})
    with engine.connect() as connection:
        stored = connection.execute(table.select()).mappings().one()
    assert stored["args"] == {"appraisalValue": str(2**200)}


def test_the_indexer_refuses_to_start_on_an_unmigrated_database(database_url: str) -> None:
    env = {**os.environ, "VCL_DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-m", "node_api.indexer"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"run `{MIGRATE_COMMAND}`" in done.stderr
