"""Audit: a vehicle's or a loan's history with fresh document verifications, and the
export of every indexed event. Readable by every role; chain data only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from node_api import audit
from node_api.api.audit_schemas import AuditDocument, AuditEvent, LoanHistory, VehicleHistory
from node_api.api.deps import PrincipalDep, RuntimeDep, SessionDep
from node_api.api.errors import ApiError
from node_api.api.routes.vehicles import vehicle_id_of
from node_api.models import LocalVehicle
from node_api.runtime import NodeRuntime
from vcl.contract_enums import LoanState
from vcl.deploy import SYSTEM_CONTRACTS

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def _parse_loan_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or int(raw) == 0 or int(raw) >= 2**256:
        raise ApiError(422, "InvalidLoanId", "a loan id is a positive decimal integer")
    return int(raw)


def _documents(runtime: NodeRuntime, session: Session, vehicle_id: str) -> list[AuditDocument]:
    cids = audit.anchored_cids(session, runtime.settings.chain_id, vehicle_id)
    found = audit.verified_documents(runtime.verifier, cids, runtime.metrics.verification_result)
    return [AuditDocument.model_validate(d) for d in found]


def _registered(runtime: NodeRuntime, vid: bytes) -> bool:
    """Whether the chain holds the vehicle now (its `exists` flag)."""
    return bool(runtime.views.read("VehicleRegistry", "vehicle", vid).exists)


@router.get("/vehicles/{vin}/history", response_model=VehicleHistory, responses={404: {}, 422: {}})
def vehicle_history(
    vin: str, runtime: RuntimeDep, session: SessionDep, _principal: PrincipalDep
) -> VehicleHistory:
    """Every indexed event of the vehicle, of its liens, loans and alerts, oldest first, with
    transaction hash, block and time; and a fresh verification of each of its documents."""
    vin, vid = vehicle_id_of(runtime, vin)
    if not runtime.read("the vehicle", lambda: _registered(runtime, vid)):
        raise ApiError(404, "UnknownVehicle", "no vehicle with this VIN is registered")
    vid_hex = "0x" + vid.hex()
    chain_id = runtime.settings.chain_id
    block = audit.indexed_block(session, chain_id)
    events = audit.vehicle_events(session, chain_id, vid_hex)
    return VehicleHistory(
        vin=vin,
        vehicle_id=vid_hex,
        indexed_block=block,
        events=[AuditEvent.model_validate(audit.event_json(e)) for e in events],
        documents=_documents(runtime, session, vid_hex),
    )


@router.get("/loans/{loan_id}/history", response_model=LoanHistory, responses={404: {}, 422: {}})
def loan_history(
    loan_id: str, runtime: RuntimeDep, session: SessionDep, _principal: PrincipalDep
) -> LoanHistory:
    """Every indexed event of the loan and of its alerts, oldest first; and a fresh
    verification of each document of the loan's vehicle."""
    number = _parse_loan_id(loan_id)
    loan = runtime.read("the loan", lambda: runtime.views.read("LoanManager", "loan", number))
    if loan.state == LoanState.NONE:  # never applied for
        raise ApiError(404, "UnknownLoan", f"no loan {number} was applied for")
    vid_hex = "0x" + bytes(loan.vehicleId).hex()
    chain_id = runtime.settings.chain_id
    local = session.get(LocalVehicle, vid_hex)
    block = audit.indexed_block(session, chain_id)
    events = audit.loan_events(session, chain_id, str(number))
    return LoanHistory(
        loan_id=str(number),
        vin=None if local is None else local.vin,
        vehicle_id=vid_hex,
        indexed_block=block,
        events=[AuditEvent.model_validate(audit.event_json(e)) for e in events],
        documents=_documents(runtime, session, vid_hex),
    )


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}, "application/json": {}},
            "description": "CSV with a fixed header, or one JSON array of events",
        },
        422: {},
    },
)
def export_events(
    *,
    runtime: RuntimeDep,
    session: SessionDep,
    _principal: PrincipalDep,
    format: Annotated[str, Query(description="csv or json")] = "csv",
    from_block: Annotated[int, Query(ge=0)] = 0,
    to_block: Annotated[
        int | None, Query(ge=0, description="Defaults to the indexed block")
    ] = None,
    contract: Annotated[str | None, Query(description=", ".join(SYSTEM_CONTRACTS))] = None,
    event: Annotated[str | None, Query(max_length=64, description="An event name")] = None,
) -> StreamingResponse:
    """Every indexed event up to the indexed block (or `to_block`, if lower), in chain order,
    streamed: CSV (columns in `node_api.audit.EXPORT_COLUMNS`, `args` as a JSON object) or a
    JSON array of events shaped as in the histories."""
    try:
        chosen = audit.ExportFormat(format.strip().lower())
    except ValueError:
        allowed = ", ".join(f.value for f in audit.ExportFormat)
        raise ApiError(
            422, "InvalidExportFormat", f"format {format!r} is not one of: {allowed}"
        ) from None
    if contract is not None and contract not in SYSTEM_CONTRACTS:
        allowed = ", ".join(SYSTEM_CONTRACTS)
        raise ApiError(422, "InvalidContract", f"contract {contract!r} is not one of: {allowed}")
    if to_block is not None and to_block < from_block:
        raise ApiError(422, "InvalidBlockRange", "to_block is below from_block")
    chain_id = runtime.settings.chain_id
    # Capped at the indexed block read now: the export is one fixed set of events, even
    # while the indexer goes on.
    indexed = audit.indexed_block(session, chain_id)
    last = -1 if indexed is None else indexed if to_block is None else min(to_block, indexed)
    wanted = audit.ExportFilter(
        to_block=last, from_block=from_block, contract=contract, event=event
    )
    rows = audit.export_rows(runtime.sessions, chain_id, wanted)
    chunks = audit.csv_chunks(rows) if chosen is audit.ExportFormat.CSV else audit.json_chunks(rows)
    filename = f"vcl-events-{chain_id}-{from_block}-{max(last, 0)}.{chosen.value}"
    return StreamingResponse(
        chunks,
        media_type=chosen.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Indexed-Block": "" if indexed is None else str(indexed),
        },
    )
