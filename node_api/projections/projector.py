"""Applies, rewinds and rebuilds every read model, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from node_api.models import (
    Base,
    ChainEvent,
    IndexCursor,
    ProjectedAlert,
    ProjectedDocument,
    ProjectedLien,
    ProjectedLoan,
    ProjectedLoanState,
    ProjectedMember,
    ProjectedParameter,
    ProjectedProposal,
    ProjectedScore,
    ProjectedVehicle,
)
from node_api.projections import scores
from node_api.projections.alerts import ALERTS
from node_api.projections.consortium import MEMBERS, PARAMETERS, PROPOSALS
from node_api.projections.documents import DOCUMENTS
from node_api.projections.events import Event, load
from node_api.projections.keyed import KeyedModel
from node_api.projections.loans import LOANS
from node_api.projections.vehicles import VEHICLES

MODELS: tuple[KeyedModel, ...] = (
    VEHICLES,
    LOANS,
    ALERTS,
    DOCUMENTS,
    MEMBERS,
    PROPOSALS,
    PARAMETERS,
)
TABLES: tuple[type[Base], ...] = (
    ProjectedVehicle,
    ProjectedLien,
    ProjectedLoan,
    ProjectedLoanState,
    ProjectedScore,
    ProjectedAlert,
    ProjectedDocument,
    ProjectedMember,
    ProjectedProposal,
    ProjectedParameter,
)
EVENT_NAMES = frozenset().union(*(model.events for model in MODELS))

Touched = dict[str, set[str]]
Snapshot = dict[
    str, list[tuple[Any, ...]]
]  # model name -> keys of the entities some events touched


def _event(row: Mapping[str, Any]) -> Event:
    return Event(
        name=row["event_name"],
        args=row["args"],
        block_number=row["block_number"],
        log_index=row["log_index"],
        block_timestamp=row["block_timestamp"],
        transaction_hash=row["transaction_hash"],
        vehicle_id=row.get("vehicle_id"),
        loan_id=row.get("loan_id"),
        alert_id=row.get("alert_id"),
        document_id=row.get("document_id"),
    )


class Projector:
    """Every read model of one chain. Each call runs in the session's transaction: the
    caller (`IndexStore`) commits it with the events and the cursor."""

    def __init__(self, chain_id: int) -> None:
        self.chain_id = chain_id

    def touched(self, events: Sequence[Event]) -> Touched:
        return {model.name: model.keys_of(events) for model in MODELS}

    def apply(
        self,
        session: Session,
        events: Sequence[Mapping[str, Any]],
        new_entries: Sequence[Mapping[str, Any]],
    ) -> None:
        """After a range's events (`chain_events` rows as dicts) and its new report entries
        were written in `session`: fold them in."""
        scores.append(session, self.chain_id, new_entries)
        self.refold(session, self.touched([_event(row) for row in events]))

    def touched_above(self, session: Session, above: int) -> Touched:
        """The entities the stored events above block `above` touch: read before a rewind
        deletes those events, refolded after (`refold`)."""
        events = load(session, self.chain_id, EVENT_NAMES, ChainEvent.block_number > above)
        return self.touched(events)

    def rewind(self, session: Session, above: int, touched: Touched) -> None:
        """After the events and report entries above `above` were deleted."""
        scores.rewind(session, self.chain_id, above)
        self.refold(session, touched)

    def refold(self, session: Session, touched: Touched) -> None:
        for model in MODELS:
            model.refold(session, self.chain_id, touched.get(model.name, set()))

    def rebuild(self, session: Session) -> None:
        """Every read model again from the stored events alone."""
        for model in MODELS:
            model.rebuild(session, self.chain_id)
        scores.rebuild(session, self.chain_id)


def projection_snapshot(engine: Engine, chain_id: int) -> Snapshot:
    """Every projection row of the chain, by table, sorted: what two builds must agree on."""
    with Session(engine) as session:
        return _snapshot(session, chain_id)


def current_and_rebuilt(engine: Engine, chain_id: int) -> tuple[Snapshot, Snapshot]:
    """The projections now and as a rebuild from the stored events would make them, in one
    transaction that is rolled back: a check of a running node, which changes nothing. The
    transaction first rewrites the cursor's row unchanged, which holds the indexer off (a
    write lock on SQLite, the row's lock on PostgreSQL) so both are of the same events."""
    with Session(engine) as session:
        try:
            session.execute(
                update(IndexCursor)
                .where(IndexCursor.chain_id == chain_id)
                .values(block_number=IndexCursor.block_number)
            )
            current = _snapshot(session, chain_id)
            Projector(chain_id).rebuild(session)
            return current, _snapshot(session, chain_id)
        finally:
            session.rollback()


def _snapshot(session: Session, chain_id: int) -> Snapshot:
    snapshot: Snapshot = {}
    for table in TABLES:
        columns = list(table.__table__.columns)
        rows = session.execute(
            select(*columns).where(table.chain_id == chain_id)  # type: ignore[attr-defined]
        ).all()
        snapshot[table.__tablename__] = sorted(
            (tuple(_comparable(value) for value in row) for row in rows), key=repr
        )
    return snapshot


def _comparable(value: Any) -> Any:
    return repr(value) if isinstance(value, (list, dict)) else value
