"""The transmitter's write-ahead journal: every report, with its signatures, is on disk before
its transaction is sent.

SQLite in `synchronous=FULL` mode: a commit returns only once it is fsynced. A run (one push)
is planned in one transaction, all its rounds at once, so a crash leaves either the whole
plan or none of it. A round then moves `planned -> sending -> confirmed`, or ends `rejected`
(the contract reverted it, or another report took its round) and takes the run's remaining
rounds to `abandoned`. Whether a `sending` round reached the chain is decided by the chain,
not by the journal: see `oracle.transmission`.

One process at a time: a push holds an exclusive lock on `<journal>.lock` (released by the
kernel even when the process is killed).
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from oracle.errors import JournalError
from oracle.report_files import OracleReport
from oracle.sqlite_transaction import immediate_transaction

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    chain_id INTEGER NOT NULL,
    oracle TEXT NOT NULL,
    input_key TEXT NOT NULL,
    status TEXT NOT NULL,
    vehicles INTEGER NOT NULL,
    from_block INTEGER NOT NULL,
    created_at REAL NOT NULL,
    finished_at REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_input ON runs (chain_id, oracle, input_key);
CREATE TABLE IF NOT EXISTS rounds (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id),
    chain_id INTEGER NOT NULL,
    oracle TEXT NOT NULL,
    round_id INTEGER NOT NULL,
    digest TEXT NOT NULL,
    report TEXT NOT NULL,
    signatures TEXT NOT NULL,
    vehicles INTEGER NOT NULL,
    status TEXT NOT NULL,
    tx_hash TEXT,
    block_number INTEGER,
    gas_used INTEGER,
    alerts INTEGER,
    error TEXT,
    updated_at REAL NOT NULL
);
-- A round id is planned once per oracle, unless its earlier plan failed for good.
CREATE UNIQUE INDEX IF NOT EXISTS live_rounds ON rounds (chain_id, oracle, round_id)
    WHERE status NOT IN ('rejected', 'abandoned');
"""


class RunStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class RoundStatus(StrEnum):
    PLANNED = "planned"
    SENDING = "sending"  # a transaction may have been sent: the chain decides
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    ABANDONED = "abandoned"


UNFINISHED = (RoundStatus.PLANNED, RoundStatus.SENDING)


@dataclass(frozen=True)
class RunRow:
    id: int
    input_key: str
    status: RunStatus
    vehicles: int
    from_block: int
    created_at: float
    error: str | None


@dataclass(frozen=True)
class RoundRow:
    id: int
    run_id: int
    round_id: int
    digest: bytes
    report_json: str
    signatures: tuple[bytes, ...]
    vehicles: int
    status: RoundStatus
    tx_hash: str | None
    block_number: int | None
    gas_used: int | None
    alerts: int | None
    error: str | None

    def report(self) -> OracleReport:
        return OracleReport.from_json(self.report_json, f"journal round {self.round_id}")


class Journal:
    """The journal of one transmitter; use as a context manager (holds the process lock)."""

    def __init__(self, path: Path, *, exclusive: bool = True) -> None:
        """`exclusive=False` opens it for reading beside a running push (`status`)."""
        self.path = path
        self.exclusive = exclusive
        self._db: sqlite3.Connection | None = None
        self._lock: IO[bytes] | None = None

    def __enter__(self) -> Journal:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.exclusive:
            lock = self.path.with_name(self.path.name + ".lock").open("ab")
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                raise JournalError(
                    f"{self.path} is in use by another oracle process; wait for it to finish"
                ) from None
            self._lock = lock
        try:
            db = sqlite3.connect(self.path, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise JournalError(f"{self.path}: journal schema {version} is not supported")
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            self.close()
            raise JournalError(f"{self.path}: not a usable journal ({exc})") from exc
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise JournalError("the journal is not open")
        return self._db

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self.db)

    # ------------------------------------------------------------------ runs

    def find_run(self, chain_id: int, oracle: str, key: str) -> RunRow | None:
        """The pending or finished run of this content, if any (failed runs do not count)."""
        row = self.db.execute(
            "SELECT * FROM runs WHERE chain_id = ? AND oracle = ? AND input_key = ?"
            " AND status != ? ORDER BY id DESC LIMIT 1",
            (chain_id, oracle, key, RunStatus.FAILED),
        ).fetchone()
        return None if row is None else _run(row)

    def runs(self, chain_id: int, oracle: str, limit: int = 10) -> list[RunRow]:
        rows = self.db.execute(
            "SELECT * FROM runs WHERE chain_id = ? AND oracle = ? ORDER BY id DESC LIMIT ?",
            (chain_id, oracle, limit),
        ).fetchall()
        return [_run(row) for row in rows]

    def run(self, run_id: int) -> RunRow:
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise JournalError(f"no run {run_id} in {self.path}")
        return _run(row)

    def highest_round(self, chain_id: int, oracle: str) -> int:
        """The highest round planned for this oracle that may still reach the chain."""
        row = self.db.execute(
            "SELECT MAX(round_id) FROM rounds WHERE chain_id = ? AND oracle = ?"
            " AND status NOT IN (?, ?)",
            (chain_id, oracle, RoundStatus.REJECTED, RoundStatus.ABANDONED),
        ).fetchone()
        return int(row[0] or 0)

    def plan_run(
        self,
        key: str,
        from_block: int,
        signed: Sequence[tuple[OracleReport, Sequence[bytes]]],
    ) -> int:
        """Record a run and all its signed reports, atomically; returns the run id."""
        if not signed:
            raise JournalError("a run has at least one report")
        first = signed[0][0]
        now = time.time()
        try:
            with self._transaction() as db:
                cursor = db.execute(
                    "INSERT INTO runs (chain_id, oracle, input_key, status, vehicles, from_block,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        first.chain_id,
                        first.oracle,
                        key,
                        RunStatus.PENDING,
                        sum(len(report.report.scores) for report, _ in signed),
                        from_block,
                        now,
                    ),
                )
                run_id = int(cursor.lastrowid or 0)
                db.executemany(
                    "INSERT INTO rounds (run_id, chain_id, oracle, round_id, digest, report,"
                    " signatures, vehicles, status, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            run_id,
                            report.chain_id,
                            report.oracle,
                            report.round_id,
                            "0x" + report.digest.hex(),
                            report.to_json(compact=True),
                            json.dumps(["0x" + s.hex() for s in signatures]),
                            len(report.report.scores),
                            RoundStatus.PLANNED,
                            now,
                        )
                        for report, signatures in signed
                    ],
                )
        except sqlite3.IntegrityError as exc:
            raise JournalError(
                f"rounds {first.round_id}..{signed[-1][0].round_id} overlap rounds already "
                f"planned in {self.path} ({exc})"
            ) from exc
        return run_id

    # ---------------------------------------------------------------- rounds

    def unfinished_rounds(self, chain_id: int, oracle: str, *, after: int = 0) -> list[RoundRow]:
        """Rounds still to be sent or confirmed, in round order (oldest run first); with
        `after`, only those above that round."""
        rows = self.db.execute(
            "SELECT * FROM rounds WHERE chain_id = ? AND oracle = ? AND status IN (?, ?)"
            " AND round_id > ? ORDER BY round_id",
            (chain_id, oracle, *UNFINISHED, after),
        ).fetchall()
        return [_round(row) for row in rows]

    def round_vehicles(self, chain_id: int, oracle: str, round_id: int) -> int:
        """How many vehicles a planned round reports (0 for a round not in the journal)."""
        row = self.db.execute(
            "SELECT vehicles FROM rounds WHERE chain_id = ? AND oracle = ? AND round_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (chain_id, oracle, round_id),
        ).fetchone()
        return 0 if row is None else int(row[0])

    def rounds_of(self, run_id: int) -> list[RoundRow]:
        rows = self.db.execute(
            "SELECT * FROM rounds WHERE run_id = ? ORDER BY round_id", (run_id,)
        ).fetchall()
        return [_round(row) for row in rows]

    def mark_sending(self, row: RoundRow) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE rounds SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
                (RoundStatus.SENDING, time.time(), row.id, RoundStatus.PLANNED),
            )

    def mark_confirmed(
        self, row: RoundRow, tx_hash: str, block_number: int, gas_used: int, alerts: int
    ) -> None:
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "UPDATE rounds SET status = ?, tx_hash = ?, block_number = ?, gas_used = ?,"
                " alerts = ?, error = NULL, updated_at = ? WHERE id = ?",
                (RoundStatus.CONFIRMED, tx_hash, block_number, gas_used, alerts, now, row.id),
            )
            left = db.execute(
                "SELECT COUNT(*) FROM rounds WHERE run_id = ? AND status != ?",
                (row.run_id, RoundStatus.CONFIRMED),
            ).fetchone()[0]
            if left == 0:
                db.execute(
                    "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?",
                    (RunStatus.DONE, now, row.run_id),
                )

    def mark_rejected(self, row: RoundRow, error: str) -> None:
        """The round can never be accepted: it and the rest of its run end here."""
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "UPDATE rounds SET status = ?, error = ?, updated_at = ? WHERE id = ?",
                (RoundStatus.REJECTED, error, now, row.id),
            )
            db.execute(
                "UPDATE rounds SET status = ?, updated_at = ?"
                " WHERE run_id = ? AND status IN (?, ?)",
                (RoundStatus.ABANDONED, now, row.run_id, *UNFINISHED),
            )
            db.execute(
                "UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                (RunStatus.FAILED, f"round {row.round_id}: {error}", now, row.run_id),
            )

    def abandon_run(self, run_id: int, reason: str) -> bool:
        """End an unfinished run without sending the rest of it: its unfinished rounds are
        abandoned. False if it had none (finished runs are left as they are)."""
        now = time.time()
        with self._transaction() as db:
            left = db.execute(
                "UPDATE rounds SET status = ?, updated_at = ?"
                " WHERE run_id = ? AND status IN (?, ?)",
                (RoundStatus.ABANDONED, now, run_id, *UNFINISHED),
            ).rowcount
            if left:
                db.execute(
                    "UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                    (RunStatus.FAILED, reason, now, run_id),
                )
        return bool(left)

    def note_error(self, row: RoundRow, error: str) -> None:
        """A transient failure, kept for `status`; the round stays unfinished."""
        with self._transaction() as db:
            db.execute(
                "UPDATE rounds SET error = ?, updated_at = ? WHERE id = ?",
                (error, time.time(), row.id),
            )


def _run(row: Any) -> RunRow:
    (run_id, _chain, _oracle, key, status, vehicles, from_block, created, _done, error) = row
    return RunRow(run_id, key, RunStatus(status), vehicles, from_block, created, error)


def _round(row: Any) -> RoundRow:
    (
        row_id,
        run_id,
        _chain,
        _oracle,
        round_id,
        digest,
        report,
        signatures,
        vehicles,
        status,
        tx_hash,
        block_number,
        gas_used,
        alerts,
        error,
        _updated,
    ) = row
    return RoundRow(
        id=row_id,
        run_id=run_id,
        round_id=round_id,
        digest=bytes.fromhex(digest[2:]),
        report_json=report,
        signatures=tuple(bytes.fromhex(s[2:]) for s in json.loads(signatures)),
        vehicles=vehicles,
        status=RoundStatus(status),
        tx_hash=tx_hash,
        block_number=block_number,
        gas_used=gas_used,
        alerts=alerts,
        error=error,
    )
