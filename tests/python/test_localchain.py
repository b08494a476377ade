"""The local chain removes what anvil writes to disk: anvil never does (4.3 GB of block states
under ~/.foundry after one `make test`)."""

from __future__ import annotations

import os
from pathlib import Path

from vcl.localchain import LocalChain, LocalChainConfig, free_port


def anvil_home(chain: LocalChain) -> Path:
    """The HOME the running anvil was started with, read from its environment."""
    assert chain.process is not None
    environ = Path(f"/proc/{chain.process.pid}/environ").read_bytes().split(b"\0")
    (home,) = [entry[5:] for entry in environ if entry.startswith(b"HOME=")]
    return Path(os.fsdecode(home))


def test_anvil_writes_under_a_home_of_its_own_that_stop_removes() -> None:
    chain = LocalChain(LocalChainConfig(port=free_port())).start()
    home = anvil_home(chain)
    assert home != Path.home()
    assert home.is_dir()
    chain.stop()
    assert not home.exists()


def test_the_home_of_a_killed_anvil_is_removed_too() -> None:
    chain = LocalChain(LocalChainConfig(port=free_port())).start()
    home = anvil_home(chain)
    assert chain.process is not None
    chain.process.kill()
    chain.process.wait()
    chain.stop()
    assert not home.exists()
