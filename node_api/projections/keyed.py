"""An entity read model: its events, how an event names its entity, and its fold.

`refold` deletes the rows of the given entities and folds each one's stored events again;
applying a range, rewinding and rebuilding are all this one operation (see the package
docstring for why that makes them agree).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, delete, insert
from sqlalchemy.orm import Session

from node_api.models import Base, ChainEvent
from node_api.projections.events import Event, chunks, load, load_keyed

# table -> its rows (column -> value)
Rows = dict[type[Base], list[dict[str, Any]]]
Fold = Callable[[Session, int, str, list[Event]], Rows]


@dataclass(frozen=True)
class KeyedModel:
    name: str
    events: frozenset[str]
    # The entity's key: a lookup column of `chain_events` (`vehicle_id`, ...) or, where the
    # events carry it in no such column, an argument (`args_key`: few entities, all loaded).
    column: str | None
    args_key: str | None
    tables: tuple[tuple[type[Base], str], ...]  # (table, its key column)
    fold: Fold

    def key_of(self, event: Event) -> str | None:
        if event.name not in self.events:
            return None
        if self.column is not None:
            value: str | None = getattr(event, self.column)
            return value
        return None if self.args_key is None else str(event.args[self.args_key])

    def keys_of(self, events: Iterable[Event]) -> set[str]:
        return {key for key in map(self.key_of, events) if key is not None}

    def refold(self, session: Session, chain_id: int, keys: set[str]) -> None:
        if not keys:
            return
        for table, key_column in self.tables:
            column = getattr(table, key_column)
            for part in chunks(sorted(keys)):
                session.execute(
                    delete(table).where(table.chain_id == chain_id, column.in_(part))  # type: ignore[attr-defined]
                )
        if self.column is not None:
            events = load_keyed(
                session, chain_id, self.events, getattr(ChainEvent, self.column), list(keys)
            )
        else:
            events = load(session, chain_id, self.events)
        self._write(session, chain_id, events, keys)

    def rebuild(self, session: Session, chain_id: int) -> None:
        for table, _ in self.tables:
            session.execute(delete(table).where(table.chain_id == chain_id))  # type: ignore[attr-defined]
        events = load(session, chain_id, self.events)
        self._write(session, chain_id, events, None)

    def _write(
        self, session: Session, chain_id: int, events: list[Event], keys: set[str] | None
    ) -> None:
        by_key: dict[str, list[Event]] = {}
        for event in events:
            key = self.key_of(event)
            if key is not None and (keys is None or key in keys):
                by_key.setdefault(key, []).append(event)
        rows: Rows = {}
        for key, own in by_key.items():
            for table, table_rows in self.fold(session, chain_id, key, own).items():
                rows.setdefault(table, []).extend(table_rows)
        for table, _ in self.tables:
            if rows.get(table):
                # Core insert of the table: the ORM's bulk path costs more than the database.
                session.execute(insert(cast(Table, table.__table__)), rows[table])
