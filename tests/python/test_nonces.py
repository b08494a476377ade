"""One owner of a key's nonces: senders in two processes with the same key and lock directory
never collide, and a sender whose nonce another sender took (a CLI with the node's key) asks
the chain again, sends once more and says so in the log."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from vcl.config import Settings
from vcl.localchain import REPO_ROOT
from vcl.sender import TransactionSender, nonce_taken, sender_from_settings

APPRAISAL = 25_000_000
SENDS_PER_PROCESS = 40
START_DELAY_S = 4.0  # both processes are up and connected by then

# A process sending SENDS_PER_PROCESS registrations with dev account 1 through the lock
# directory; prints the nonces its transactions were mined with.
SENDER_SCRIPT = """
import json, sys, time
from web3 import Web3
from vcl.config import Settings
from vcl.sender import sender_from_settings
settings = Settings.model_validate_json(sys.argv[1])
registry_address, label, count = sys.argv[2], sys.argv[3], int(sys.argv[4])
sender = sender_from_settings(settings)
abi = json.loads(open(sys.argv[5]).read())["abi"]
registry = sender.w3.eth.contract(address=registry_address, abi=abi)
now = sender.w3.eth.get_block("latest")["timestamp"]
time.sleep(max(0.0, float(sys.argv[6]) - time.time()))  # both processes start sending together
nonces = []
for i in range(count):
    vehicle = Web3.keccak(text=f"vehicle:{label}:{i}")
    call = registry.functions.registerVehicle(vehicle, Web3.keccak(text="owner"), 25_000_000, now)
    receipt = sender.transact(call)
    nonces.append(sender.w3.eth.get_transaction(receipt["transactionHash"])["nonce"])
print(json.dumps(nonces))
"""


def register_call(registry: Any, label: str, appraised_at: int) -> Any:
    vehicle = Web3.keccak(text=f"vehicle:{label}")
    return registry.functions.registerVehicle(
        vehicle, Web3.keccak(text="owner"), APPRAISAL, appraised_at
    )


def test_two_processes_with_one_key_and_the_lock_never_collide(
    system: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    shared = settings.model_copy(update={"dev_account_index": 1, "lock_dir": tmp_path / "locks"})
    artifact = settings.build_dir / "VehicleRegistry.json"
    start_at = time.time() + START_DELAY_S
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                SENDER_SCRIPT,
                shared.model_dump_json(),
                system["VehicleRegistry"].address,
                label,
                str(SENDS_PER_PROCESS),
                str(artifact),
                str(start_at),
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for label in ("first", "second")
    ]
    nonces = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        # The lock ordered every send: no nonce was ever met taken (the retry never ran).
        assert "was taken by another sender" not in err
        nonces.extend(json.loads(out))
    assert len(nonces) == 2 * SENDS_PER_PROCESS
    assert len(set(nonces)) == len(nonces)  # every transaction mined, none replaced


def test_a_nonce_taken_by_another_sender_is_resynchronised_once_and_logged(
    system: dict[str, Any],
    sender_for: Callable[[int], TransactionSender],
    caplog: pytest.LogCaptureFixture,
) -> None:
    node = sender_for(1)  # the node's sender: it remembers its next nonce
    registry = system["VehicleRegistry"]
    now = node.w3.eth.get_block("latest")["timestamp"]
    node.transact(register_call(registry, "node-1", now))
    cli = sender_for(1)  # the same key from the command line, another process's sender
    cli.transact(register_call(registry, "cli", now))

    with caplog.at_level(logging.WARNING, logger="vcl.sender"):
        receipt = node.transact(register_call(registry, "node-2", now))
    assert receipt["status"] == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "vcl.sender"]
    assert len(warnings) == 1
    assert "was taken by another sender with this key" in warnings[0]
    assert node.address in warnings[0]


def test_only_a_taken_nonce_is_sent_again() -> None:
    assert nonce_taken({"code": -32003, "message": "nonce too low"})
    assert nonce_taken({"message": "Transaction nonce is too low"})
    assert nonce_taken({"message": "NONCE_TOO_LOW"})  # Besu
    assert nonce_taken({"message": "replacement transaction underpriced"})
    assert not nonce_taken({"message": "insufficient funds for gas * price + value"})
    assert not nonce_taken({"message": "nonce too high"})
    assert not nonce_taken(None)


def test_settings_without_a_lock_directory_keep_the_nonce_in_the_process(
    settings: Settings,
) -> None:
    alone = sender_from_settings(settings)
    assert type(alone.nonces).__name__ == "ProcessNonces"
