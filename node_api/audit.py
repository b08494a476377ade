"""The auditor's view of the indexed chain: what happened to a vehicle or a loan, and every
event as a CSV or JSON export.

Only chain data leaves here: the `chain_events` rows the indexer wrote, and fresh
verifications of the anchored documents. Borrower and owner references and review
comments (this node's own tables) never do.

A vehicle's history holds the events that name it (registration, appraisals, liens,
documents, value alerts), the events of its loans (linked through `LoanApplied`, the one
loan event that names the vehicle) and of its alerts (linked through the alert id, which
`AlertReviewed` carries without the vehicle). A loan's history holds the events that name
the loan (its lifecycle, its lien, its alerts) and the later events of those alerts.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, Select, or_, select
from sqlalchemy.orm import Session, sessionmaker

from node_api.models import ChainEvent, IndexCursor
from node_api.verification import DocumentVerifier, verification_body
from vcl.cid import Cid, InvalidCid
from vcl.eip712 import DocumentType
from vcl.timestamps import iso

# Rows fetched per round trip when exporting (a server-side cursor on PostgreSQL).
EXPORT_BATCH_ROWS = 500

# The CSV export's columns, in order; `args` is the JSON object of the event's arguments.
EXPORT_COLUMNS = (
    "block_number",
    "block_time",
    "tx_hash",
    "log_index",
    "contract",
    "contract_address",
    "event",
    "vehicle_id",
    "loan_id",
    "alert_id",
    "document_id",
    "args",
)

_EVENT_COLUMNS = (
    ChainEvent.contract_name,
    ChainEvent.contract_address,
    ChainEvent.event_name,
    ChainEvent.block_number,
    ChainEvent.block_timestamp,
    ChainEvent.transaction_hash,
    ChainEvent.log_index,
    ChainEvent.args,
    ChainEvent.vehicle_id,
    ChainEvent.loan_id,
    ChainEvent.alert_id,
    ChainEvent.document_id,
)


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"

    @property
    def media_type(self) -> str:
        return "text/csv; charset=utf-8" if self is ExportFormat.CSV else "application/json"


def event_json(row: Row[Any]) -> dict[str, Any]:
    """One indexed event as the audit endpoints show it."""
    return {
        "contract": row.contract_name,
        "contract_address": row.contract_address,
        "event": row.event_name,
        "block_number": row.block_number,
        "block_time": iso(row.block_timestamp),
        "tx_hash": row.transaction_hash,
        "log_index": row.log_index,
        "args": row.args,
    }


def indexed_block(session: Session, chain_id: int) -> int | None:
    """The last block whose events are all indexed (None before the first)."""
    cursor = session.get(IndexCursor, chain_id)
    return None if cursor is None else cursor.block_number


def _events(chain_id: int) -> Select[Any]:
    return (
        select(*_EVENT_COLUMNS)
        .where(ChainEvent.chain_id == chain_id)
        .order_by(ChainEvent.block_number, ChainEvent.log_index)
    )


def vehicle_events(session: Session, chain_id: int, vehicle_id: str) -> list[Row[Any]]:
    """Every event of the vehicle, of its loans and of its alerts, oldest first."""
    loans = select(ChainEvent.loan_id).where(
        ChainEvent.chain_id == chain_id,
        ChainEvent.event_name == "LoanApplied",
        ChainEvent.vehicle_id == vehicle_id,
    )
    alerts = select(ChainEvent.alert_id).where(
        ChainEvent.chain_id == chain_id,
        ChainEvent.vehicle_id == vehicle_id,
        ChainEvent.alert_id.is_not(None),
    )
    query = _events(chain_id).where(
        or_(
            ChainEvent.vehicle_id == vehicle_id,
            ChainEvent.loan_id.in_(loans),
            ChainEvent.alert_id.in_(alerts),
        )
    )
    return list(session.execute(query).all())


def loan_events(session: Session, chain_id: int, loan_id: str) -> list[Row[Any]]:
    """Every event naming the loan, and every event of the loan's alerts, oldest first."""
    alerts = select(ChainEvent.alert_id).where(
        ChainEvent.chain_id == chain_id,
        ChainEvent.loan_id == loan_id,
        ChainEvent.alert_id.is_not(None),
    )
    query = _events(chain_id).where(
        or_(ChainEvent.loan_id == loan_id, ChainEvent.alert_id.in_(alerts))
    )
    return list(session.execute(query).all())


def anchored_cids(session: Session, chain_id: int, vehicle_id: str) -> list[tuple[str, str]]:
    """(CID, document type) of each envelope anchored for the vehicle, oldest first."""
    query = _events(chain_id).where(
        ChainEvent.vehicle_id == vehicle_id, ChainEvent.event_name == "DocumentAnchored"
    )
    seen: dict[str, str] = {}
    for row in session.execute(query):
        cid = _cid_text(row.args["cid"])
        seen.setdefault(cid, DocumentType(int(row.args["docType"])).name.lower())
    return list(seen.items())


def _cid_text(hex_cid: str) -> str:
    try:
        return str(Cid.from_binary(bytes.fromhex(hex_cid.removeprefix("0x"))))
    except (InvalidCid, ValueError):
        return hex_cid


def verified_documents(
    verifier: DocumentVerifier, cids: Sequence[tuple[str, str]], count: Callable[[str], None]
) -> list[dict[str, Any]]:
    return [
        {"cid": cid, "doc_type": doc_type, "verification": verification_body(verifier, cid, count)}
        for cid, doc_type in cids
    ]


@dataclass(frozen=True)
class ExportFilter:
    """Which events an export holds; `to_block` is capped at the indexed block by the caller,
    so an export is a fixed, repeatable set."""

    to_block: int
    from_block: int = 0
    contract: str | None = None
    event: str | None = None


def export_rows(
    sessions: sessionmaker[Session], chain_id: int, wanted: ExportFilter
) -> Iterator[Row[Any]]:
    """The filtered events in chain order, read in batches through one query: the export's
    memory stays flat however long the chain's history."""
    query = _events(chain_id).where(
        ChainEvent.block_number >= wanted.from_block, ChainEvent.block_number <= wanted.to_block
    )
    if wanted.contract is not None:
        query = query.where(ChainEvent.contract_name == wanted.contract)
    if wanted.event is not None:
        query = query.where(ChainEvent.event_name == wanted.event)
    with sessions() as session:
        result = session.execute(query.execution_options(yield_per=EXPORT_BATCH_ROWS))
        for batch in result.partitions():
            yield from batch


def csv_chunks(rows: Iterator[Row[Any]]) -> Iterator[str]:
    """The header, then one line per event, in chunks of a batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for n, row in enumerate(rows, start=1):
        event = event_json(row)
        writer.writerow(
            (
                event["block_number"],
                event["block_time"],
                event["tx_hash"],
                event["log_index"],
                event["contract"],
                event["contract_address"],
                event["event"],
                row.vehicle_id or "",
                row.loan_id or "",
                row.alert_id or "",
                row.document_id or "",
                json.dumps(event["args"], separators=(",", ":"), sort_keys=True),
            )
        )
        if n % EXPORT_BATCH_ROWS == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def json_chunks(rows: Iterator[Row[Any]]) -> Iterator[str]:
    """One JSON array of events (each shaped as in the histories), in chunks of a batch."""
    parts = ["["]
    for n, row in enumerate(rows):
        parts.append(("\n" if n == 0 else ",\n") + json.dumps(event_json(row)))
        if len(parts) >= EXPORT_BATCH_ROWS:
            yield "".join(parts)
            parts = []
    parts.append("\n]\n")
    yield "".join(parts)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
