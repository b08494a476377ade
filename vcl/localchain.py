"""The local development chain: anvil, run gasless like a Besu QBFT consortium network."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from vcl.errors import ChainUnavailable, ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
# Must match brownie-config.yaml's evm_version: the bytecode targets this milestone.
HARDFORK = "cancun"
BLOCK_GAS_LIMIT = 30_000_000


@dataclass(frozen=True)
class LocalChainConfig:
    port: int = 8545
    chain_id: int = 1337
    state_file: Path | None = None  # loaded at start, written at exit: `make run` resumes
    block_time_s: int | None = None  # None: a block per transaction
    # Also write the state every this many seconds, so a killed anvil (no exit dump)
    # loses at most that much; None: only at exit.
    state_interval_s: int | None = None
    # None: anvil keeps the state of every block (past its memory budget, on disk), which
    # historical reads such as document verification at a past block need. N: only the last N
    # blocks' states, in memory: a chain that nothing reads in the past (the oracle benchmark)
    # then spends its time on transactions, not on writing states out.
    recent_states_only: int | None = None


def free_port() -> int:
    """A loopback port nobody listens on now (for local chains, nodes and tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def anvil_executable() -> str:
    found = shutil.which("anvil") or str(REPO_ROOT / ".tools/bin/anvil")
    if not Path(found).exists():
        raise ConfigError("anvil is not installed: run `make setup`")
    return found


def anvil_command(config: LocalChainConfig) -> list[str]:
    command = [
        anvil_executable(),
        "--host", "127.0.0.1",
        "--port", str(config.port),
        "--chain-id", str(config.chain_id),
        "--hardfork", HARDFORK,
        "--gas-price", "0",
        "--block-base-fee-per-gas", "0",
        "--gas-limit", str(BLOCK_GAS_LIMIT),
        "--accounts", "10",
        "--silent",
    ]  # fmt: skip
    if config.state_file is not None:
        config.state_file.parent.mkdir(parents=True, exist_ok=True)
        command += ["--state", str(config.state_file)]
        if config.state_interval_s:
            command += ["--state-interval", str(config.state_interval_s)]
    if config.block_time_s:
        command += ["--block-time", str(config.block_time_s)]
    if config.recent_states_only is not None:
        command += ["--prune-history", str(config.recent_states_only)]
    return command


def anvil_environment(home: Path) -> dict[str, str]:
    """The environment anvil runs in, with `home` as its HOME. Past its memory budget anvil
    writes block states under `$HOME/.foundry/anvil/tmp` and never removes them (4.3 GB after
    one `make test`); with a HOME of its own, whoever started it removes them."""
    return {**os.environ, "HOME": str(home)}


class LocalChain:
    """An anvil process owned by this one; stopped (state saved) on `stop()`, and the states
    it wrote to disk removed."""

    def __init__(self, config: LocalChainConfig) -> None:
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self._home: Path | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.config.port}"

    def start(self, timeout_s: float = 20.0) -> LocalChain:
        self._home = Path(tempfile.mkdtemp(prefix="vcl-anvil-home-"))
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            anvil_command(self.config), stdin=subprocess.DEVNULL, env=anvil_environment(self._home)
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise ChainUnavailable(
                    f"anvil exited with code {self.process.returncode} "
                    f"(is port {self.config.port} already in use?)"
                )
            if rpc_answers(self.rpc_url):
                return self
            time.sleep(0.1)
        self.stop()
        raise ChainUnavailable(f"anvil did not answer on {self.rpc_url} in {timeout_s:.0f} s")

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: anvil dumps --state before it exits
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._home is not None:  # also after a kill: anvil is gone either way
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None

    def __enter__(self) -> LocalChain:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def rpc_answers(rpc_url: str) -> bool:
    """Whether a JSON-RPC node answers at `rpc_url` now (one `eth_chainId`, 1 s at most)."""
    payload = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    try:
        return httpx.post(rpc_url, json=payload, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
