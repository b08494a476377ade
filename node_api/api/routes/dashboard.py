"""The web dashboard (static files under /dashboard) and the JSON it needs beyond the other
routes: who is signed in, a vehicle's score history, the governed parameters the charts
explain, and the daily monitoring figures. The score history and the parameters answer from
the read models (`node_api.projections`): no chain call.

The page itself needs no key; every /v1 call it makes sends the key as a Bearer token.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from node_api.api.deps import PrincipalDep, RuntimeDep, SessionDep
from node_api.api.errors import ApiError
from node_api.api.indexed import (
    INDEXED_NOTE,
    INDEXED_RESPONSES,
    IndexedDep,
    found_or_current,
)
from node_api.api.routes.vehicles import vehicle_id_of
from node_api.api_keys import REVIEW_ROLES, WRITE_ROLES
from node_api.models import ProjectedMember, ProjectedScore, ProjectedVehicle
from node_api.monitoring import StabilitySamples, daily_figures
from node_api.projections.events import lower_words
from node_api.projections.reads import parameters
from vcl.timestamps import iso

router = APIRouter(tags=["dashboard"])

STATIC_DIR = Path(__file__).resolve().parents[2] / "dashboard" / "static"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Nothing but this node: no script, style, image or connection to anywhere else.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}

PARAMETERS = {  # the answer's name -> the chain's
    "alert_threshold_bps": "ALERT_THRESHOLD_BPS",
    "alert_hysteresis_bps": "ALERT_HYSTERESIS_BPS",
    "rate_step_bps": "RATE_STEP_BPS",
    "rate_increase_bps": "RATE_INCREASE_BPS",
    "heartbeat_s": "HEARTBEAT",
}
_state_lock = threading.Lock()


def _static(name: str) -> FileResponse:
    path = STATIC_DIR / name
    media_type = MEDIA_TYPES.get(path.suffix)
    # Only plain file names of the known kinds: no path can leave the static directory.
    if "/" in name or "\\" in name or name.startswith(".") or media_type is None:
        raise ApiError(404, "NotFound", "no such dashboard file")
    if not path.is_file():
        raise ApiError(404, "NotFound", "no such dashboard file")
    return FileResponse(path, media_type=media_type, headers=HEADERS)


@router.get("/dashboard", include_in_schema=False)
@router.get("/dashboard/", include_in_schema=False)
def dashboard_page() -> FileResponse:
    return _static("index.html")


@router.get("/dashboard/static/{name}", include_in_schema=False)
def dashboard_file(name: str) -> FileResponse:
    return _static(name)


def _app_state(request: Request, name: str, factory: type[Any]) -> Any:
    """One shared object per app (the score cache, the stability samples)."""
    with _state_lock:
        value = getattr(request.app.state, name, None)
        if value is None:
            value = factory()
            setattr(request.app.state, name, value)
        return value


@router.get(
    "/v1/me",
    responses=INDEXED_RESPONSES,
    description="The caller's key id and role, what the role may do, and this node's "
    "institution (its membership from the members projection)." + INDEXED_NOTE,
)
def whoami(
    runtime: RuntimeDep, session: SessionDep, _indexed: IndexedDep, principal: PrincipalDep
) -> dict[str, Any]:
    address = runtime.sender.address
    member = session.get(ProjectedMember, (runtime.settings.chain_id, address))
    return {
        "key_id": principal.key_id,
        "role": principal.role.value,
        "person_ref": principal.person_ref,
        "can_write": principal.role in WRITE_ROLES,
        "can_review": principal.role in REVIEW_ROLES,
        "institution": {
            "address": address,
            "kind": "none" if member is None else lower_words(member.kind),
            "status": "none" if member is None else lower_words(member.status),
            "joined_at": None if member is None else iso(member.admitted_at),
            "name_hash": "0x" + "00" * 32 if member is None else member.name_hash,
        },
    }


def governed_parameters(session: Session, chain_id: int) -> dict[str, int | None]:
    """The governed parameters as indexed (None before the index holds their value)."""
    indexed = parameters(session, chain_id)
    return {name: indexed.get(key) for name, key in PARAMETERS.items()}


@router.get(
    "/v1/dashboard/parameters",
    responses=INDEXED_RESPONSES,
    description="The governed parameters behind the alert threshold and the "
    "condition-linked rate." + INDEXED_NOTE,
)
def dashboard_parameters(
    runtime: RuntimeDep, session: SessionDep, _indexed: IndexedDep, _principal: PrincipalDep
) -> dict[str, int | None]:
    return governed_parameters(session, runtime.settings.chain_id)


@router.get(
    "/v1/vehicles/{vin}/conditions",
    responses={404: {}, 422: {}, **INDEXED_RESPONSES},
    description="Every reported score of the vehicle (oldest first) with its 12 indicators "
    "(weights and contributions when the model is known). Each point is judged against the "
    "rules in force at its block: its own `threshold_bps` and `appraisal` (`value_ratio_bps`, "
    "`below_threshold`); the top-level threshold and appraisal are today's." + INDEXED_NOTE,
)
def conditions(
    vin: str,
    runtime: RuntimeDep,
    session: SessionDep,
    indexed: IndexedDep,
    _principal: PrincipalDep,
) -> dict[str, Any]:
    vin, vid = vehicle_id_of(runtime, vin)
    chain_id = runtime.settings.chain_id
    vid_hex = "0x" + vid.hex()
    vehicle = found_or_current(
        runtime, session, indexed, lambda: session.get(ProjectedVehicle, (chain_id, vid_hex))
    )
    if vehicle is None:
        raise ApiError(404, "UnknownVehicle", "no vehicle with this VIN is registered")
    appraisal = int(vehicle.appraisal_value)
    params = governed_parameters(session, chain_id)
    points = session.scalars(
        select(ProjectedScore)
        .where(ProjectedScore.chain_id == chain_id, ProjectedScore.vehicle_id == vid_hex)
        .order_by(ProjectedScore.block_number, ProjectedScore.log_index)
    )
    threshold = params["alert_threshold_bps"]
    return {
        "vin": vin,
        "vehicle_id": vid_hex,
        "appraisal": appraisal,
        "threshold_bps": threshold,
        "hysteresis_bps": params["alert_hysteresis_bps"],
        "threshold_value": None if threshold is None else appraisal * threshold // 10_000,
        "points": [_point(point, appraisal) for point in points],
    }


def _point(point: ProjectedScore, appraisal_now: int) -> dict[str, Any]:
    value = int(point.estimated_value)
    appraisal = int(point.appraisal) if point.appraisal else appraisal_now
    threshold = point.threshold_bps
    return {
        "round_id": point.round_id,
        "observed_at": iso(point.observed_at),
        "block_number": point.block_number,
        "block_time": iso(point.block_timestamp),
        "transaction_hash": point.transaction_hash,
        "score": point.score,
        "estimated_value": value,
        "appraisal": appraisal,
        "threshold_bps": threshold,
        "value_ratio_bps": value * 10_000 // appraisal if appraisal else None,
        "below_threshold": None if threshold is None else value * 10_000 < appraisal * threshold,
        "model_version": point.model_version,
        "model_status": point.model_status,
        "indicators": point.indicators,
    }


@router.get("/v1/monitoring/daily")
def monitoring_daily(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    _principal: PrincipalDep,
    days: Annotated[int, Query(ge=1, le=366, description="Days up to today")] = 30,
) -> dict[str, Any]:
    """Per-day loan and alert figures from the indexed events, and the node's stability."""
    samples: StabilitySamples = _app_state(request, "dashboard_stability", StabilitySamples)
    today = datetime.now(UTC).date()
    return {
        "days": daily_figures(session, runtime.settings.chain_id, days, today),
        "stability": samples.sample(runtime.indexer.metrics),
    }
