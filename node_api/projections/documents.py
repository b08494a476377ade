"""Anchored documents and their revocation by the issuer. A governance revocation of all of
an issuer's documents up to a cutoff (`IssuerDocumentsRevoked`) is one event for many
documents: it is read beside this table, not folded into every row."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from node_api.models import ProjectedDocument
from node_api.projections.events import Event, label
from node_api.projections.keyed import KeyedModel, Rows
from vcl.eip712 import DocumentType

EVENTS = frozenset({"DocumentAnchored", "DocumentRevoked"})


def fold(_session: Session, chain_id: int, document_id: str, events: list[Event]) -> Rows:
    document: dict[str, Any] | None = None
    for event in events:
        if event.name == "DocumentAnchored":
            document = {
                "chain_id": chain_id,
                "document_id": document_id,
                "vehicle_id": event.args["vehicleId"],
                "issuer": event.args["issuer"],
                "doc_type": label(DocumentType, event.args["docType"]),
                "cid": event.args["cid"],
                "content_hash": event.args["contentHash"],
                "issued_at": event.int("issuedAt"),
                "anchored_at": event.block_timestamp,
                "revoked_at": None,
                "transaction_hash": event.transaction_hash,
                "block_number": event.block_number,
                "log_index": event.log_index,
            }
        elif document is not None:
            document["revoked_at"] = event.block_timestamp
    if document is None:
        return {}
    document["changed_block"] = events[-1].block_number
    return {ProjectedDocument: [document]}


DOCUMENTS = KeyedModel(
    name="documents",
    events=EVENTS,
    column="document_id",
    args_key=None,
    tables=((ProjectedDocument, "document_id"),),
    fold=fold,
)
