"""The indexer's writes: a block range's events, its block hashes, the read models folded
from them (`node_api.projections`) and the cursor, atomically.

Every write is one database transaction that also checks the cursor is still where the
indexer read it (compare-and-set), so a crash at any point leaves either the whole range
or none of it, and two indexers on one database cannot interleave. Readers see the
projections exactly as of the cursor.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, Engine, Result, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from node_api.db import DatabaseError, DatabaseUnavailable, make_session_factory, shown_url
from node_api.indexer.errors import CursorMoved
from node_api.models import (
    Base,
    BlockHash,
    ChainEvent,
    IndexCursor,
    IndexedTimestamp,
    ReportEntry,
)
from node_api.projections import Projector


@dataclass(frozen=True)
class Cursor:
    """The last indexed block."""

    number: int
    hash: str


class IndexStore:
    def __init__(self, engine: Engine, chain_id: int) -> None:
        self.engine = engine
        self.chain_id = chain_id
        self._sessions = make_session_factory(engine)
        self._dialect = engine.dialect.name
        self.projector = Projector(chain_id)
        if self._dialect not in ("postgresql", "sqlite"):
            raise DatabaseError(f"the indexer supports SQLite and PostgreSQL, not {self._dialect}")

    def _insert(self, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
        """INSERT with ON CONFLICT, which both backends spell alike but SQLAlchemy types apart."""
        if self._dialect == "postgresql":
            return postgresql.insert(model)
        return sqlite.insert(model)

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as exc:
            raise DatabaseUnavailable(
                f"database {shown_url(str(self.engine.url))}: {exc.orig}"
            ) from exc
        except PoolTimeout as exc:
            # No free connection (the API's threads hold them): an outage to retry like any
            # other, not the end of the indexer's thread.
            raise DatabaseUnavailable(
                f"database {shown_url(str(self.engine.url))}: no free connection: {exc}"
            ) from exc

    def cursor(self) -> Cursor | None:
        with self._transaction() as session:
            row = session.get(IndexCursor, self.chain_id)
            return None if row is None else Cursor(row.block_number, row.block_hash)

    def recorded_hashes(self, at_or_below: int) -> list[Cursor]:
        """Recorded blocks from `at_or_below` down, newest first."""
        query = (
            select(BlockHash.block_number, BlockHash.block_hash)
            .where(BlockHash.chain_id == self.chain_id, BlockHash.block_number <= at_or_below)
            .order_by(BlockHash.block_number.desc())
        )
        with self._transaction() as session:
            return [Cursor(number, hash_) for number, hash_ in session.execute(query)]

    def commit_range(
        self,
        expected: Cursor | None,
        new: Cursor,
        events: Sequence[Mapping[str, Any]],
        block_hashes: Mapping[int, str],
        forget_below: int,
        *,
        report_entries: Sequence[Mapping[str, Any]] = (),
        new_timestamp: int | None = None,
    ) -> int:
        """Write a range's events, report entries, block hashes, the projections and the
        cursor `new` (whose block has `new_timestamp`) in one transaction.

        An event already stored (same transaction hash and log index) is left as it is, so
        replaying a range changes nothing. Returns how many events were new.
        """
        with self._transaction() as session:
            self._move_cursor(session, expected, new)
            self._build_projections_once(session, expected)
            added = 0
            if events:
                insert_events = (
                    self._insert(ChainEvent)
                    .on_conflict_do_nothing(index_elements=["transaction_hash", "log_index"])
                    .returning(ChainEvent.id)
                )
                added = len(session.execute(insert_events, list(events)).all())
            new_entries: list[Mapping[str, Any]] = []
            if report_entries:
                insert_entries = (
                    self._insert(ReportEntry)
                    .on_conflict_do_nothing(
                        index_elements=["chain_id", "transaction_hash", "vehicle_id"]
                    )
                    .returning(ReportEntry.transaction_hash, ReportEntry.vehicle_id)
                )
                fresh = set(session.execute(insert_entries, list(report_entries)).tuples())
                new_entries = [
                    e for e in report_entries if (e["transaction_hash"], e["vehicle_id"]) in fresh
                ]
            if block_hashes:
                insert_hashes = self._insert(BlockHash)
                upsert_hashes = insert_hashes.on_conflict_do_update(
                    index_elements=["chain_id", "block_number"],
                    set_={"block_hash": insert_hashes.excluded.block_hash},
                )
                rows = [
                    {"chain_id": self.chain_id, "block_number": n, "block_hash": h}
                    for n, h in sorted(block_hashes.items())
                ]
                session.execute(upsert_hashes, rows)
            session.execute(
                delete(BlockHash).where(
                    BlockHash.chain_id == self.chain_id, BlockHash.block_number < forget_below
                )
            )
            self.projector.apply(session, events, new_entries)
            self._set_indexed_time(session, new.number, new_timestamp)
            return added

    def _build_projections_once(self, session: Session, expected: Cursor | None) -> None:
        """A database indexed before the projections existed (events, no indexed time):
        fold what it holds before adding to it."""
        if session.get(IndexedTimestamp, self.chain_id) is not None:
            return
        stored = select(ChainEvent.id).where(ChainEvent.chain_id == self.chain_id).limit(1)
        if expected is not None or session.scalar(stored) is not None:
            self.projector.rebuild(session)

    def _set_indexed_time(self, session: Session, number: int, timestamp: int | None) -> None:
        row = session.get(IndexedTimestamp, self.chain_id)
        if row is None:
            session.add(
                IndexedTimestamp(
                    chain_id=self.chain_id, block_number=number, block_timestamp=timestamp or 0
                )
            )
        else:
            row.block_number = number
            if timestamp is not None:
                row.block_timestamp = timestamp

    def rebuild_projections(self) -> None:
        """Every read model again from the stored events (`vcl node rebuild-projections`),
        in one transaction with a check that the cursor did not move meanwhile."""
        with self._transaction() as session:
            cursor = session.get(IndexCursor, self.chain_id)
            if cursor is not None:
                # Moved to where it is: on PostgreSQL this locks the cursor's row, so an
                # indexer step waits for the rebuild rather than interleaving with it.
                expected = Cursor(cursor.block_number, cursor.block_hash)
                self._move_cursor(session, expected, expected)
            self.projector.rebuild(session)

    def rewind(self, expected: Cursor, fork: Cursor, fork_timestamp: int | None = None) -> int:
        """Forget everything above the fork point, the projections with it; returns how many
        events were removed."""
        above = fork.number
        with self._transaction() as session:
            self._move_cursor(session, expected, fork)
            self._build_projections_once(session, expected)
            touched = self.projector.touched_above(session, above)
            removed = _rowcount(
                session.execute(
                    delete(ChainEvent).where(
                        ChainEvent.chain_id == self.chain_id, ChainEvent.block_number > above
                    )
                )
            )
            session.execute(
                delete(ReportEntry).where(
                    ReportEntry.chain_id == self.chain_id, ReportEntry.block_number > above
                )
            )
            session.execute(
                delete(BlockHash).where(
                    BlockHash.chain_id == self.chain_id, BlockHash.block_number > above
                )
            )
            self.projector.rewind(session, above, touched)
            self._set_indexed_time(session, fork.number, fork_timestamp)
            return int(removed)

    def reset(self) -> int:
        """Forget this chain's index entirely (for `vcl node reindex`); returns events removed."""
        with self._transaction() as session:
            removed = _rowcount(
                session.execute(delete(ChainEvent).where(ChainEvent.chain_id == self.chain_id))
            )
            session.execute(delete(BlockHash).where(BlockHash.chain_id == self.chain_id))
            session.execute(delete(IndexCursor).where(IndexCursor.chain_id == self.chain_id))
            session.execute(delete(ReportEntry).where(ReportEntry.chain_id == self.chain_id))
            session.execute(
                delete(IndexedTimestamp).where(IndexedTimestamp.chain_id == self.chain_id)
            )
            self.projector.rebuild(session)  # of no events: empty
            return removed

    def set_cursor(self, expected: Cursor | None, new: Cursor | None) -> None:
        """Move the cursor alone, keeping the events (a replay reads them again)."""
        with self._transaction() as session:
            self._move_cursor(session, expected, new)

    def _move_cursor(self, session: Session, expected: Cursor | None, new: Cursor | None) -> None:
        if expected is None:
            if new is not None:
                session.add(
                    IndexCursor(
                        chain_id=self.chain_id, block_number=new.number, block_hash=new.hash
                    )
                )
                try:
                    session.flush()
                except IntegrityError:
                    raise CursorMoved(self._moved(expected)) from None
            elif session.get(IndexCursor, self.chain_id) is not None:
                raise CursorMoved(self._moved(expected))
            return
        where = (
            IndexCursor.chain_id == self.chain_id,
            IndexCursor.block_number == expected.number,
            IndexCursor.block_hash == expected.hash,
        )
        if new is None:
            changed = _rowcount(session.execute(delete(IndexCursor).where(*where)))
        else:
            changed = _rowcount(
                session.execute(
                    update(IndexCursor)
                    .where(*where)
                    .values(block_number=new.number, block_hash=new.hash)
                )
            )
        if changed != 1:
            raise CursorMoved(self._moved(expected))

    def _moved(self, expected: Cursor | None) -> str:
        shown = "none" if expected is None else f"block {expected.number} ({expected.hash})"
        return (
            f"the cursor of chain {self.chain_id} is no longer at {shown}: "
            "is another indexer writing to this database?"
        )


def _rowcount(result: Result[Any]) -> int:
    if not isinstance(result, CursorResult):
        raise TypeError("a DELETE or UPDATE returned no cursor result")
    return int(result.rowcount)
