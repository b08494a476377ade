"""A push killed with SIGKILL at any step is finished by running it again: no round lost,
none sent twice, and the chain ends with exactly the scores of the input."""

from __future__ import annotations

import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from oracle_chain import OPERATORS, System, expected

from oracle.feed_split import split_feeds
from oracle.feed_store import FeedStore
from oracle.journal import RoundStatus
from oracle.model import ScoreModel
from oracle.operations import score_feeds
from oracle.sample_fleet import generate_fleet
from oracle.scoring import VehicleScore
from vcl.config import Settings
from vcl.localchain import REPO_ROOT

DRIVER = Path(__file__).with_name("push_driver.py")
VEHICLES = 24
BATCH = 6  # four rounds


@pytest.fixture(scope="module")
def crash_fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("crash-fleet")
    generate_fleet(directory, vehicles=VEHICLES, seed=11)
    return directory


@pytest.fixture
def fleet_scores(
    crash_fleet: Path, default_model: ScoreModel, system: System
) -> list[VehicleScore]:
    scores = score_feeds(crash_fleet, default_model)
    system.register(scores)
    return scores


def environment(settings: Settings, tmp_path: Path, batch: int = BATCH) -> dict[str, str]:
    return {
        **os.environ,
        "VCL_RPC_URL": settings.rpc_url,
        "VCL_BUILD_DIR": str(settings.build_dir),
        "VCL_DEPLOYMENT_FILE": str(settings.deployment_file),
        "VCL_ORACLE_JOURNAL_PATH": str(tmp_path / "journal.sqlite"),
        "VCL_ORACLE_MAX_BATCH_VEHICLES": str(batch),
    }


def run_until_stopped(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """Start `command` and return once it printed STOPPED (it then sleeps at its kill point)."""
    process = subprocess.Popen(
        command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if lines.get(timeout=0.5).strip() == "STOPPED":
                return process
        except queue.Empty:
            if process.poll() is not None:
                assert process.stderr is not None
                pytest.fail(f"the push ended before its kill point: {process.stderr.read()}")
    process.kill()
    pytest.fail("the push did not reach its kill point in 60 s")


def kill_9(process: subprocess.Popen[str]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


def push(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`vcl oracle push ARGS` to its end, through the driver (no kill point)."""
    return subprocess.run(
        [sys.executable, str(DRIVER), "push", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def transmitter_nonce(system: System) -> int:
    transmitter = system.sender_for(OPERATORS[0]).address
    count: int = system.oracle.w3.eth.get_transaction_count(transmitter)
    return count


def accepted_rounds(system: System) -> list[int]:
    logs = system.oracle.events.ReportAccepted().get_logs(from_block=0)
    return [log["args"]["roundId"] for log in logs]


def settled(system: System) -> None:
    """Wait until the transmitter has no transaction in the node's pool (anvil answers a
    send before it has mined it)."""
    w3 = system.oracle.w3
    address = system.sender_for(OPERATORS[0]).address
    deadline = time.monotonic() + 30
    while w3.eth.get_transaction_count(address, "pending") > w3.eth.get_transaction_count(address):
        assert time.monotonic() < deadline, "transactions of the killed push stay pending"
        time.sleep(0.05)


def confirmed_in_journal(path: Path) -> int:
    """Rounds the journal of a killed push knew to be on-chain."""
    with sqlite3.connect(path) as db:
        query = "SELECT COUNT(*) FROM rounds WHERE status = ?"
        return int(db.execute(query, (RoundStatus.CONFIRMED,)).fetchone()[0])


# Kill points of a push of four rounds (rounds in flight: `VCL_ORACLE_ROUNDS_IN_FLIGHT`, 4;
# the planner journals two rounds a run while the transmitter sends, so how many rounds were
# out at the kill depends on timing: the restart must report exactly those it finds on-chain
# that the journal had not confirmed).
@pytest.mark.parametrize(
    "stop_at",
    [
        "sending:1",  # journaled and marked sending; no transaction yet
        "sending:3",  # rounds 1 and 2 sent, maybe confirmed; round 3 marked sending
        "mined:2",  # round 2 (and whatever followed it) on-chain; the journal says sending
        "confirmed:2",  # rounds 1-2 confirmed, later ones maybe on-chain
        "mined:4",  # the last round on-chain; the journal does not know
    ],
)
def test_a_push_killed_at_a_step_is_finished_by_a_restart(
    stop_at: str,
    system: System,
    settings: Settings,
    tmp_path: Path,
    crash_fleet: Path,
    fleet_scores: list[VehicleScore],
) -> None:
    env = environment(settings, tmp_path)
    before = transmitter_nonce(system)
    command = [sys.executable, str(DRIVER), "push", str(crash_fleet)]
    kill_9(run_until_stopped(command, {**env, "ORACLE_TEST_STOP_AT": stop_at}))
    settled(system)  # what was sent before the kill is mined, as the restart will find it
    recovered = len(accepted_rounds(system)) - confirmed_in_journal(tmp_path / "journal.sqlite")
    if stop_at == "mined:4":
        assert recovered >= 1  # round 4 at least: mined, not confirmed

    restarted = push(env, str(crash_fleet))

    assert restarted.returncode == 0, restarted.stderr
    # The restart found the killed push's work: a run to resume, or one done before.
    assert "resumed" in restarted.stderr or "already done" in restarted.stderr
    found = f"{recovered} round(s) had reached the chain before an interruption"
    assert (found in restarted.stdout) == bool(recovered)
    assert accepted_rounds(system) == [1, 2, 3, 4]
    assert transmitter_nonce(system) == before + 4  # one transaction per round, no more
    assert system.scores_on_chain(fleet_scores) == expected(fleet_scores)
    if stop_at == "mined:4":  # and once more: recognised as done, nothing sent
        again = push(env, str(crash_fleet))
        assert "already done" in again.stderr
        assert transmitter_nonce(system) == before + 4


def test_the_command_line_killed_at_a_random_moment_is_finished_by_a_restart(
    system: System,
    settings: Settings,
    tmp_path: Path,
    crash_fleet: Path,
    fleet_scores: list[VehicleScore],
) -> None:
    env = environment(settings, tmp_path, batch=2)  # 12 rounds
    before = transmitter_nonce(system)
    process = subprocess.Popen(
        [sys.executable, "-m", "oracle.cli", "push", str(crash_fleet)],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    process.stderr.readline()  # the plan line: the run is journaled, rounds are going out
    time.sleep(random.uniform(0.0, 0.2))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    sent_before_kill = transmitter_nonce(system) - before

    restarted = push(env, str(crash_fleet))

    assert restarted.returncode == 0, restarted.stderr
    rounds = VEHICLES // 2
    print(f"killed after {sent_before_kill} of {rounds} rounds")
    assert accepted_rounds(system) == list(range(1, rounds + 1))
    assert transmitter_nonce(system) == before + rounds
    assert system.scores_on_chain(fleet_scores) == expected(fleet_scores)


# `push --store DELIVERY`: killed before the planner wrote the delivery (the vehicles it leaves
# alone planned and maybe sent), or at a transmission step (the delivery written by then, or
# not, as the planner got there): the restart validates it again or finds it in the store, and
# scores the same chunks either way.
@pytest.mark.parametrize("stop_at", ["writing:0", "sending:1", "mined:3"])
def test_a_push_of_a_delivery_killed_at_a_step_is_finished_by_a_restart(
    stop_at: str,
    system: System,
    settings: Settings,
    tmp_path: Path,
    crash_fleet: Path,
    fleet_scores: list[VehicleScore],
) -> None:
    store = tmp_path / "feeds.sqlite"
    env = {**environment(settings, tmp_path), "VCL_ORACLE_FEED_STORE_PATH": str(store)}
    split_feeds(crash_fleet, fleet_scores[0].as_of, tmp_path / "history", tmp_path / "day")
    with FeedStore(store) as opened:
        opened.ingest(tmp_path / "history")
    before = transmitter_nonce(system)
    command = [sys.executable, str(DRIVER), "push", "--store", str(tmp_path / "day")]
    kill_9(run_until_stopped(command, {**env, "ORACLE_TEST_STOP_AT": stop_at}))
    settled(system)
    with FeedStore(store) as opened:
        written = len(opened.deliveries()) == 2
    if stop_at == "writing:0":
        assert not written  # killed before the write: a rerun validates the delivery again

    restarted = push(env, "--store", str(tmp_path / "day"))

    assert restarted.returncode == 0, restarted.stderr
    assert accepted_rounds(system) == [1, 2, 3, 4]
    assert transmitter_nonce(system) == before + 4  # one transaction per round, no more
    assert system.scores_on_chain(fleet_scores) == expected(fleet_scores)
    with FeedStore(store) as opened:
        assert len(opened.deliveries()) == 2
