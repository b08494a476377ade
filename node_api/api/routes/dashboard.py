"""The web dashboard (static files under /dashboard) and the JSON it needs beyond the other
routes: who is signed in, a vehicle's score history, the governed parameters the charts
explain, and the daily monitoring figures.

The page itself needs no key; every /v1 call it makes sends the key as a Bearer token.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from web3 import Web3

from node_api.api.deps import PrincipalDep, RuntimeDep, SessionDep
from node_api.api.errors import ApiError
from node_api.api.routes.vehicles import vehicle_id_of
from node_api.api_keys import REVIEW_ROLES, WRITE_ROLES
from node_api.conditions import ConditionHistory, explained
from node_api.monitoring import StabilitySamples, daily_figures
from node_api.runtime import NodeRuntime
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

MEMBER_KINDS = ("none", "bank", "auditor", "oracle_operator", "document_issuer")
MEMBER_STATUSES = ("none", "active", "suspended", "removed")
PARAMETERS = {
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


@router.get("/v1/me")
def whoami(runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """The caller's key id and role, what the role may do, and this node's institution."""
    address = runtime.sender.address
    consortium = runtime.contracts["Consortium"]
    kind, status, joined_at, name_hash = runtime.read(
        "the member", lambda: consortium.functions.memberOf(address).call()
    )
    return {
        "key_id": principal.key_id,
        "role": principal.role.value,
        "person_ref": principal.person_ref,
        "can_write": principal.role in WRITE_ROLES,
        "can_review": principal.role in REVIEW_ROLES,
        "institution": {
            "address": address,
            "kind": MEMBER_KINDS[kind],
            "status": MEMBER_STATUSES[status],
            "joined_at": iso(joined_at) if joined_at else None,
            "name_hash": "0x" + bytes(name_hash).hex(),
        },
    }


def governed_parameters(runtime: NodeRuntime) -> dict[str, int]:
    consortium = runtime.contracts["Consortium"]
    return {
        name: runtime.read(
            "a consortium parameter",
            lambda key=key: consortium.functions.parameter(Web3.keccak(text=key)).call(),  # type: ignore[misc]
        )
        for name, key in PARAMETERS.items()
    }


@router.get("/v1/dashboard/parameters")
def parameters(runtime: RuntimeDep, _principal: PrincipalDep) -> dict[str, int]:
    """The governed parameters behind the alert threshold and the condition-linked rate."""
    return governed_parameters(runtime)


@router.get("/v1/vehicles/{vin}/conditions", responses={404: {}, 422: {}})
def conditions(
    vin: str,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    _principal: PrincipalDep,
) -> dict[str, Any]:
    """Every reported score of the vehicle (oldest first) with its 12 indicators, and the
    alert threshold in value: `threshold_bps` of the registry appraisal."""
    vin, vid = vehicle_id_of(runtime, vin)
    registry = runtime.registry
    vehicle = runtime.read("the vehicle", lambda: registry.functions.vehicle(vid).call())
    if not vehicle[5]:
        raise ApiError(404, "UnknownVehicle", "no vehicle with this VIN is registered")
    appraisal = int(vehicle[1])
    params = governed_parameters(runtime)
    history: ConditionHistory = _app_state(request, "dashboard_conditions", ConditionHistory)
    oracle = runtime.contracts["ConditionOracle"]
    points = history.points(session, oracle, runtime.settings.chain_id, "0x" + vid.hex())
    threshold = params["alert_threshold_bps"]
    items = [
        {
            "round_id": point.round_id,
            "observed_at": iso(point.observed_at),
            "block_number": point.block_number,
            "block_time": iso(point.block_time),
            "transaction_hash": point.transaction_hash,
            "score": point.reported.score,
            "estimated_value": point.reported.estimated_value,
            "value_ratio_bps": point.reported.estimated_value * 10_000 // appraisal,
            "below_threshold": point.reported.estimated_value * 10_000 < appraisal * threshold,
            "model_version": point.model_version,
            **explained(point),
        }
        for point in points
    ]
    return {
        "vin": vin,
        "vehicle_id": "0x" + vid.hex(),
        "appraisal": appraisal,
        "threshold_bps": threshold,
        "hysteresis_bps": params["alert_hysteresis_bps"],
        "threshold_value": appraisal * threshold // 10_000,
        "points": items,
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
