"""`vcl localnet up` driven from outside, as a newcomer runs it: started as a subprocess in
its own state directory on free loopback ports, its processes found through /proc. Used by
the load benchmark (`benchmarks.load`) and the consortium tests, which must see the command
exactly as `make run` starts it."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from localnet.layout import ORACLE_METRICS_OFFSET
from vcl.localchain import REPO_ROOT

PORTS = ORACLE_METRICS_OFFSET + 1  # chain, four nodes, oracle metrics: consecutive ports


def free_base_port() -> int:
    """A loopback port with the next `PORTS - 1` free too."""
    for _ in range(50):
        # Below Linux's ephemeral range (32768-60999): a client connection opened meanwhile
        # cannot take one of these ports between this check and the server's bind.
        base = random.randint(20_000, 32_000)  # noqa: S311 - a port, not a secret
        try:
            for port in range(base, base + PORTS):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no run of free ports")


def start_localnet(
    state_dir: Path,
    output: IO[bytes] | int,
    *,
    vehicles: int | None = None,
    oracle_interval_s: float | None = None,
) -> subprocess.Popen[bytes]:
    """`vcl localnet up --state-dir STATE_DIR` on free ports, in its own process group, so
    that a Ctrl-C of the caller reaches it only when the caller sends it."""
    command = [
        str(Path(sys.executable).with_name("vcl")),
        "localnet",
        "up",
        "--state-dir",
        str(state_dir),
        "--base-port",
        str(free_base_port()),
    ]
    if vehicles is not None:
        command += ["--vehicles", str(vehicles)]
    if oracle_interval_s is not None:
        command += ["--oracle-interval", str(oracle_interval_s)]
    return subprocess.Popen(  # noqa: S603 - this environment's own command, fixed argv
        command, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT, process_group=0
    )


def children_of(pid: int) -> list[int]:
    """The pids whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The parent pid is the second field after the parenthesised command.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (ProcessLookupError, OSError):
        return False
    return state != "Z"


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll `predicate` every half second until it returns something true; that value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time the process has used so far; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime: fields 14 and 15 of proc(5), the 12th and 13th after the command.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []
