"""The stored events a fold reads: plain rows in chain order, and the enum names they carry."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from node_api.models import ChainEvent
from vcl.contract_enums import solidity_name

T = TypeVar("T")

# Keys per `IN (...)`: far below every backend's limit on bound parameters.
CHUNK = 5000


@dataclass(frozen=True)
class Event:
    name: str
    args: dict[str, Any]
    block_number: int
    log_index: int
    block_timestamp: int
    transaction_hash: str
    vehicle_id: str | None
    loan_id: str | None
    alert_id: str | None
    document_id: str | None

    @property
    def position(self) -> tuple[int, int]:
        return (self.block_number, self.log_index)

    def int(self, name: str) -> int:
        return int(self.args[name])


COLUMNS = (
    ChainEvent.event_name,
    ChainEvent.args,
    ChainEvent.block_number,
    ChainEvent.log_index,
    ChainEvent.block_timestamp,
    ChainEvent.transaction_hash,
    ChainEvent.vehicle_id,
    ChainEvent.loan_id,
    ChainEvent.alert_id,
    ChainEvent.document_id,
)


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def load(
    session: Session, chain_id: int, names: Iterable[str], *where: ColumnElement[bool]
) -> list[Event]:
    """The chain's stored events of these kinds matching `where`, in chain order."""
    query = (
        select(*COLUMNS)
        .where(ChainEvent.chain_id == chain_id, ChainEvent.event_name.in_(sorted(names)), *where)
        .order_by(ChainEvent.block_number, ChainEvent.log_index)
    )
    return [Event(*row) for row in session.execute(query).tuples()]


def load_keyed(
    session: Session, chain_id: int, names: Iterable[str], column: Any, keys: Sequence[str]
) -> list[Event]:
    """`load` for the events whose lookup `column` is one of `keys`, in chain order."""
    found: list[Event] = []
    for part in chunks(sorted(keys)):
        found.extend(load(session, chain_id, names, column.in_(part)))
    found.sort(key=lambda event: event.position)
    return found


def grouped(events: Iterable[Event], key: str) -> dict[str, list[Event]]:
    """Events by one of their lookup columns (`vehicle_id`, ...), chain order kept."""
    groups: dict[str, list[Event]] = {}
    for event in events:
        value = getattr(event, key)
        if value is not None:
            groups.setdefault(value, []).append(event)
    return groups


def label(enum: Any, value: Any) -> str:
    """An enum value by the name the API shows; the number itself for a member this node does
    not know (a newer contract), so nothing is hidden."""
    try:
        member = enum(int(value))
    except ValueError:
        return str(value)
    for spelling in ("label", "word"):
        if hasattr(member, spelling):
            return str(getattr(member, spelling))
    return solidity_name(member.name)


def lower_words(contract_name: str) -> str:
    """A contract enum name as the API words some answers: OracleOperator -> oracle_operator."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", contract_name).lower()
