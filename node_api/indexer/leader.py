"""Of a node's worker processes, one indexes: the one holding the node's indexer lock.

The others stand by, trying the lock every poll interval, so that when the indexing worker dies
(the operating system releases its lock) another takes over within a poll. The store's
compare-and-set cursor would keep two indexers from interleaving anyway; the lock keeps the
second from spending a core on it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from pathlib import Path

from node_api.indexer.indexer import Indexer

log = logging.getLogger(__name__)


def indexer_lock_file(lock_dir: Path, database_url: str) -> Path:
    """One lock per node database: nodes of one machine index their own databases at once."""
    name = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return lock_dir / f"indexer-{name}.lock"


def index_while_leader(indexer: Indexer, lock_file: Path, stop: threading.Event) -> None:
    """Run `indexer` for as long as this process holds `lock_file`, until `stop`."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    poll = indexer.settings.indexer_poll_interval_s
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while not stop.is_set():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                indexer.metrics.standing_by = True
                stop.wait(poll)
                continue
            indexer.metrics.standing_by = False
            log.info("this worker (pid %d) indexes; the node's other workers stand by", os.getpid())
            indexer.run_forever(stop)
    finally:
        os.close(fd)  # releases the lock
