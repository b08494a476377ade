"""Child processes of the launcher: each in its own process group with its log file under
`logs/`, polled until ready, and stopped in reverse order (SIGTERM, then SIGKILL after a
timeout). Signals are blocked while a child is spawned, so a Ctrl-C can never leave a
started child unrecorded: every child the launcher started is stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from vcl.errors import VclError

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class ChildFailed(VclError):
    """A child process exited, or did not become ready in time."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Supervisor:
    """Owns the children it starts; `stop_all()` ends them last-started first."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
            try:
                process = subprocess.Popen(  # noqa: S603 - argv built by the launcher, no shell
                    list(argv),
                    env=env,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    process_group=0,  # Ctrl-C in the terminal reaches the launcher only
                    # The child must not inherit the block; only pthread_sigmask runs between
                    # fork and exec, and children are started from the main thread.
                    preexec_fn=_unblock_stop_signals,  # noqa: PLW1509
                )
                child = Child(name, process, log_path)
                self.children.append(child)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        return child

    def wait_until(
        self, child: Child, ready: Callable[[], bool], timeout_s: float, what: str
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not child.running():
                raise ChildFailed(
                    f"{child.name} exited with code {child.process.returncode} "
                    f"(log {child.log_path}):\n{child.log_tail()}"
                )
            if ready():
                return
            time.sleep(0.2)
        raise ChildFailed(
            f"{child.name} was not {what} within {timeout_s:.0f} s ({child.log_path})"
        )

    def exited(self) -> list[Child]:
        return [child for child in self.children if not child.running()]

    def stop_all(self, timeout_s: float = 15.0) -> None:
        """SIGTERM each child's group, newest first, waiting for each; SIGKILL on timeout."""
        for child in reversed(self.children):
            _stop(child, timeout_s)
        self.children.clear()


def _unblock_stop_signals() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _stop(child: Child, timeout_s: float) -> None:
    if child.running():
        _signal_group(child.pid, signal.SIGTERM)
        try:
            child.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _signal_group(child.pid, signal.SIGKILL)
            child.process.wait()
    # Anything the child itself started in its group goes with it.
    _signal_group(child.pid, signal.SIGKILL)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def http_ok(url: str) -> Callable[[], bool]:
    """A readiness probe: `url` answers 200."""

    def probe() -> bool:
        try:
            return httpx.get(url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    return probe
