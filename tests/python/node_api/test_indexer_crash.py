"""`kill -9` the indexer process at random points: after a restart the database holds
exactly the chain's events, none lost and none twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from chain_activity import fill_blocks

from node_api.consistency import chain_events, stored_events
from node_api.db import make_engine, migrate
from node_api.indexer.store import IndexStore
from vcl.artifacts import load_artifact
from vcl.cli import dev_founders
from vcl.config import Settings
from vcl.deploy import SYSTEM_CONTRACTS, deploy_system
from vcl.localchain import REPO_ROOT
from vcl.sender import TransactionSender

BLOCKS = 60
EVENTS_PER_BLOCK = 5
KILLS = 3


def start_indexer(
    settings: Settings, database_url: str, start_block: int
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VCL_RPC_URL": settings.rpc_url,
        "VCL_CHAIN_ID": str(settings.chain_id),
        "VCL_BUILD_DIR": str(settings.build_dir),
        "VCL_DEPLOYMENT_FILE": str(settings.deployment_file),
        "VCL_DATABASE_URL": database_url,
        "VCL_NODE_INDEXER_START_BLOCK": str(start_block),
        "VCL_NODE_INDEXER_BATCH_BLOCKS": "1",  # a commit per block: many points to die at
        "VCL_NODE_INDEXER_POLL_INTERVAL_S": "0.05",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "node_api.indexer"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for_cursor(store: IndexStore, at_least: int, process: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        cursor = store.cursor()
        if cursor is not None and cursor.number >= at_least:
            return cursor.number
        if process.poll() is not None:
            raise AssertionError(f"the indexer exited: {process.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.002)
    raise AssertionError(f"the indexer did not reach block {at_least} in 30 s")


def test_killed_at_random_points_the_indexer_loses_and_repeats_nothing(
    database_url: str, settings: Settings, sender: TransactionSender, tmp_path: Path
) -> None:
    w3 = sender.w3
    start_block = w3.eth.block_number + 1
    addresses = deploy_system(sender, settings, dev_founders())
    registry = w3.eth.contract(
        address=addresses["VehicleRegistry"],
        abi=load_artifact(settings.build_dir, "VehicleRegistry").abi,
    )
    fill_blocks(w3, registry, dev_founders()[0].address, BLOCKS, EVENTS_PER_BLOCK)
    head = w3.eth.block_number
    migrate(database_url)
    engine = make_engine(database_url)
    store = IndexStore(engine, settings.chain_id)
    seed = random.randrange(2**32)
    rng = random.Random(seed)

    # Kill points spread over the range, each a random moment after a chosen commit.
    targets = sorted(rng.sample(range(start_block + 5, head - 5), KILLS))
    killed_at: list[int] = []
    for target in targets:
        indexer = start_indexer(settings, database_url, start_block)
        try:
            wait_for_cursor(store, target, indexer)
            time.sleep(rng.uniform(0, 0.02))
        finally:
            indexer.send_signal(signal.SIGKILL)
            indexer.wait()
        cursor = store.cursor()
        assert cursor is not None
        killed_at.append(cursor.number)

    indexer = start_indexer(settings, database_url, start_block)
    try:
        wait_for_cursor(store, head, indexer)
    finally:
        indexer.send_signal(signal.SIGTERM)
        assert indexer.wait(timeout=10) == 0

    expected = chain_events(w3, [addresses[n] for n in SYSTEM_CONTRACTS], start_block)
    assert len(expected) >= BLOCKS * EVENTS_PER_BLOCK
    assert stored_events(engine) == expected, f"seed {seed}, killed at blocks {killed_at}"
    assert all(block < head for block in killed_at), f"killed at {killed_at}, head {head}"
    engine.dispose()
