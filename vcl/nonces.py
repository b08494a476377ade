"""Who hands out a key's nonces: one owner per key, so that two senders never sign the same one.

- `ProcessNonces` (the default): this process owns the key. It asks the chain once and counts
  up; threads take nonces under a lock.
- `SharedNonces` (`VCL_LOCK_DIR`): several processes of one machine send with the key (a
  node's workers, and a CLI pointed at the same directory). Each send holds an exclusive lock
  on the key's lock file and asks the chain for the key's pending count inside it: the lock
  orders the sends, the chain's count (which includes every transaction it accepted) names
  the next nonce, so nothing stale can be kept in a file.

A sender elsewhere (another machine, a CLI without the lock directory) can still take a nonce
first; the sender then meets `nonce too low`, asks the chain again and sends once more
(`vcl.sender`).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass
class NonceSlot:
    """The next nonce while a send holds it: None means ask the chain."""

    next: int | None


class Nonces(Protocol):
    def held(self) -> AbstractContextManager[NonceSlot]:
        """The key's next nonce, exclusively, while the send signs and sends."""

    def forget(self) -> None:
        """Ask the chain on the next send."""


class ProcessNonces:
    """This process alone sends with the key: the next nonce is remembered between sends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slot = NonceSlot(None)

    @contextmanager
    def held(self) -> Iterator[NonceSlot]:
        with self._lock:
            yield self._slot

    def forget(self) -> None:
        with self._lock:
            self._slot.next = None


class SharedNonces:
    """Processes of this machine share the key: a send holds the key's file lock, and the
    next nonce is the chain's pending count, asked inside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.Lock()

    @contextmanager
    def held(self) -> Iterator[NonceSlot]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor closes
                yield NonceSlot(None)
            finally:
                os.close(fd)

    def forget(self) -> None:
        """Nothing is remembered between sends."""


def nonces_for(lock_dir: Path | None, chain_id: Callable[[], int], address: str) -> Nonces:
    """`SharedNonces` in `lock_dir` (one lock file per chain and key), else `ProcessNonces`."""
    if lock_dir is None:
        return ProcessNonces()
    return SharedNonces(lock_dir / f"nonce-{chain_id()}-{address.lower()}.lock")
