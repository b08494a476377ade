"""Vehicles: registration (a transaction), one vehicle from the read models (registry data,
latest lien, latest condition), and the indexed list.

The plain VIN and the owner reference stay in this node's database; the chain gets the
vehicle id (HMAC of the VIN) and a salted commitment to the owner reference.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from sqlalchemy import Row, Select, case, func, select
from web3 import Web3

from node_api.api.deps import PageLimit, PageOffset, PrincipalDep, RuntimeDep, SessionDep, WriterDep
from node_api.api.errors import ApiError
from node_api.api.idempotency import request_hash, run_idempotent
from node_api.api.indexed import (
    INDEXED_NOTE,
    INDEXED_RESPONSES,
    IndexedDep,
    found_or_current,
)
from node_api.api.schemas import (
    Appraisal,
    Condition,
    Lien,
    VehicleCreate,
    VehicleCreated,
    VehicleListItem,
    VehiclePage,
    VehicleView,
)
from node_api.models import ChainEvent, LocalVehicle, ProjectedVehicle
from node_api.projections.reads import latest_lien, latest_score_row
from node_api.runtime import NodeRuntime
from vcl.deploy import VIN_SECRET_FINGERPRINT, parameter_key
from vcl.errors import ReceiptTimeout
from vcl.timestamps import as_utc, iso
from vcl.vin import FIRST_MODEL_YEAR, model_year, normalize_vin
from vcl.vin_secrets import VehicleRegisteredEarlier, registered_id, registration_id

router = APIRouter(prefix="/v1/vehicles", tags=["vehicles"])

FINGERPRINT_KEY = bytes(parameter_key(VIN_SECRET_FINGERPRINT))


def vehicle_id_of(runtime: NodeRuntime, raw_vin: str) -> tuple[str, bytes]:
    """The normalized VIN and its vehicle id, under whichever of the consortium's VIN
    secrets registered it (`vcl.vin_secrets`; for a VIN never registered, its id under the
    newest secret held). `InvalidVin` (422) names what is wrong."""
    vin = normalize_vin(raw_vin)
    keyring = runtime.vin_keyring
    found = registered_id(keyring, vin, lambda ids: _registered(runtime, ids))
    return vin, found if found is not None else keyring.candidate_ids(vin)[-1]


def registration_id_of(runtime: NodeRuntime, raw_vin: str) -> tuple[str, bytes]:
    """The normalized VIN and the id to register it under: its id under the chain's current
    VIN secret; 409 if an earlier secret registered it, 503 if this node lacks the current
    secret (a write's precondition: read from the chain, not the index)."""
    vin = normalize_vin(raw_vin)
    current = runtime.read(
        "the current VIN secret's fingerprint",
        lambda: runtime.views.read("Consortium", "parameter", FINGERPRINT_KEY),
    )
    vid = registration_id(
        runtime.vin_keyring, vin, int(current), lambda ids: _registered(runtime, ids)
    )
    return vin, vid


def _registered(runtime: NodeRuntime, ids: Sequence[bytes]) -> list[bool]:
    """Whether the registry holds each id: one JSON-RPC batch."""
    view = runtime.views.view("VehicleRegistry", "vehicle")

    def ask() -> list[Any]:
        found = runtime.views.call(*((view, (vid,)) for vid in ids))
        if found is None:
            return [runtime.views.read("VehicleRegistry", "vehicle", vid) for vid in ids]
        return found

    return [bool(record.exists) for record in runtime.read("the vehicles", ask)]


def appraisal_time(raw_vin: str, stamp: datetime) -> int:
    """The unix time of an appraisal (UTC unless it names its zone); 422 `InvalidAppraisalDate`
    for one before the vehicle's model year could be sold (the year before it, VIN position
    10). A future time is the contract's to refuse (against the chain's clock)."""
    vin = normalize_vin(raw_vin)
    aware = as_utc(stamp)
    year = model_year(vin, latest=datetime.now(UTC).year + 1)
    earliest = datetime(
        max(year - 1, FIRST_MODEL_YEAR) if year else FIRST_MODEL_YEAR, 1, 1, tzinfo=UTC
    )
    if aware < earliest:
        named = f"the vehicle's model year {year} (VIN position 10)" if year else "1980"
        raise ApiError(
            422,
            "InvalidAppraisalDate",
            f"appraised_at {aware.date().isoformat()} is before {named}: "
            f"the earliest possible appraisal is {earliest.date().isoformat()}",
            {"field": "appraised_at"},
        )
    return int(aware.timestamp())


def owner_commitment(salt: bytes, owner_ref: str) -> bytes:
    """sha256(salt || owner reference): binding, and hiding while the salt stays here."""
    return hashlib.sha256(salt + owner_ref.encode()).digest()


@router.post(
    "",
    status_code=201,
    response_model=VehicleCreated,
    responses={
        409: {
            "description": "RegistryVehicleExists, or VehicleRegisteredEarlier: the VIN is "
            "registered under an earlier VIN secret"
        },
        422: {"description": "bad VIN, or InvalidAppraisalDate: before the vehicle's model year"},
        503: {
            "description": "VinSecretNotHeld: this node lacks the consortium's current VIN "
            "secret (`vcl vin-secret import`), or the chain does not answer"
        },
    },
)
def register_vehicle(
    body: VehicleCreate,
    runtime: RuntimeDep,
    principal: WriterDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Register a vehicle on-chain with this institution's key; answers after the receipt."""
    fingerprint = request_hash("POST /v1/vehicles", body.model_dump_json())
    return run_idempotent(
        runtime.sessions,
        principal,
        idempotency_key,
        fingerprint,
        lambda: (201, _register(runtime, body)),
        resume=lambda: (201, _resume_register(runtime, body)),
    )


def _resume_register(runtime: NodeRuntime, body: VehicleCreate) -> dict[str, Any]:
    """A retry after a crash interrupted this request: the local record it wrote first says
    how far it got. Mined: the answer from the chain's registration. Not mined: sent again
    with the same commitment. No record: the request never got that far, it runs anew."""
    try:
        vin, vid = registration_id_of(runtime, body.vin)
    except VehicleRegisteredEarlier as exc:  # perhaps by this very request, before a rotation
        vin, vid = normalize_vin(body.vin), exc.vehicle
    with runtime.sessions() as session:
        local = session.get(LocalVehicle, "0x" + vid.hex())
    if local is None or local.owner_ref != body.owner_ref.strip():
        return _register(runtime, body)
    registered = _registration_by_this_node(runtime, vin, vid, local.owner_commitment)
    if registered is not None:
        return registered
    return _register(runtime, body, own_salt=bytes.fromhex(local.owner_salt.removeprefix("0x")))


def _registration_by_this_node(
    runtime: NodeRuntime, vin: str, vid: bytes, commitment_hex: str
) -> dict[str, Any] | None:
    """The registration answer from the chain, if this node registered `vid` with this
    commitment; None if the chain holds no such registration."""
    registry = runtime.registry
    vehicle = runtime.read(
        "the vehicle", lambda: runtime.views.read("VehicleRegistry", "vehicle", vid)
    )
    mine = vehicle.exists and vehicle.registeredBy == runtime.sender.address
    if not mine or "0x" + bytes(vehicle.ownerCommitment).hex() != commitment_hex:
        return None
    logs = runtime.read(
        "the registration",
        lambda: list(
            registry.events.VehicleRegistered.get_logs(
                argument_filters={"vehicleId": vid},
                from_block=runtime.node.indexer_start_block,
            )
        ),
    )
    if not logs:  # before the node's first indexed block: nothing to answer from
        return None
    event = logs[-1]
    created = VehicleCreated(
        vehicle_id="0x" + vid.hex(),
        vin=vin,
        owner_commitment=commitment_hex,
        transaction_hash="0x" + bytes(event["transactionHash"]).hex(),
        block_number=event["blockNumber"],
    )
    return created.model_dump()


def _register(
    runtime: NodeRuntime, body: VehicleCreate, own_salt: bytes | None = None
) -> dict[str, Any]:
    """`own_salt`: the salt of the local record this request wrote before a crash."""
    stated = None if body.appraised_at is None else appraisal_time(body.vin, body.appraised_at)
    vin, vid = registration_id_of(runtime, body.vin)
    owner_ref = body.owner_ref.strip()
    if stated is None:
        appraised_at = runtime.read("the latest block", runtime.views.latest_timestamp)
    else:
        appraised_at = stated
    vid_hex = "0x" + vid.hex()
    # The node's own record first: if the database is down, nothing reaches the chain.
    salt, owned = _local_record(
        runtime, vid_hex=vid_hex, vin=vin, owner_ref=owner_ref, own_salt=own_salt
    )
    commitment = owner_commitment(salt, owner_ref)
    register = runtime.views.view("VehicleRegistry", "registerVehicle")
    tx = register.transaction(vid, commitment, body.appraisal_value, appraised_at)
    try:
        receipt = runtime.counted(lambda: runtime.sender.send(tx))
    except ReceiptTimeout:
        raise  # it may still be mined: keep the record a retry completes from
    except BaseException:
        if owned:
            _delete_local(runtime, vid_hex)
        raise
    created = VehicleCreated(
        vehicle_id=vid_hex,
        vin=vin,
        owner_commitment="0x" + commitment.hex(),
        transaction_hash="0x" + bytes(receipt["transactionHash"]).hex(),
        block_number=receipt["blockNumber"],
    )
    return created.model_dump()


def _local_record(
    runtime: NodeRuntime, *, vid_hex: str, vin: str, owner_ref: str, own_salt: bytes | None
) -> tuple[bytes, bool]:
    """The salt to commit to the owner with, and whether the local record is this request's
    (it adds the record now, or wrote it before a crash: `own_salt`), in one session.

    A record kept from a transaction whose receipt never came lends its salt, so a plain
    retry commits to the same owner; it is not this request's to delete on failure."""
    with runtime.sessions() as session:
        local = session.get(LocalVehicle, vid_hex)
        if local is not None:
            kept = local.owner_ref == owner_ref
            salt = own_salt or (
                bytes.fromhex(local.owner_salt.removeprefix("0x"))
                if kept
                else secrets.token_bytes(32)
            )
            return salt, own_salt is not None
        salt = own_salt or secrets.token_bytes(32)
        session.add(
            LocalVehicle(
                vehicle_id=vid_hex,
                vin=vin,
                owner_ref=owner_ref,
                owner_salt="0x" + salt.hex(),
                owner_commitment="0x" + owner_commitment(salt, owner_ref).hex(),
                created_at=datetime.now(UTC),
            )
        )
        session.commit()
    return salt, True


def _delete_local(runtime: NodeRuntime, vid_hex: str) -> None:
    with runtime.sessions() as session:
        row = session.get(LocalVehicle, vid_hex)
        if row is not None:
            session.delete(row)
            session.commit()


@router.get(
    "/{vin}",
    response_model=VehicleView,
    responses={404: {}, 422: {}, **INDEXED_RESPONSES},
    description="The registry's data, the latest lien (in force or released), and the latest "
    "condition and value." + INDEXED_NOTE,
)
def get_vehicle(
    vin: str,
    runtime: RuntimeDep,
    session: SessionDep,
    indexed: IndexedDep,
    _principal: PrincipalDep,
) -> VehicleView:
    vin, vid = vehicle_id_of(runtime, vin)
    chain_id = runtime.settings.chain_id
    vid_hex = "0x" + vid.hex()
    vehicle = found_or_current(
        runtime, session, indexed, lambda: session.get(ProjectedVehicle, (chain_id, vid_hex))
    )
    if vehicle is None:
        raise ApiError(
            404,
            "UnknownVehicle",
            f"no vehicle with this VIN is registered (indexed to block {indexed.block_number})",
        )
    lien = latest_lien(session, chain_id, vid_hex)
    condition = latest_score_row(session, chain_id, vid_hex)
    local = session.get(LocalVehicle, vid_hex)
    return VehicleView(
        vehicle_id=vid_hex,
        vin=vin,
        registered_by=vehicle.registered_by,
        registered_at=iso(vehicle.registered_at),
        owner_commitment=vehicle.owner_commitment,
        owner_ref=None if local is None else local.owner_ref,
        appraisal=Appraisal(
            value=int(vehicle.appraisal_value), appraised_at=iso(vehicle.appraised_at)
        ),
        lien=None
        if lien is None
        else Lien(
            bank=lien.bank,
            loan_id=lien.loan_id,
            active=lien.released_at is None,
            placed_at=iso(lien.placed_at),
        ),
        condition=None
        if condition is None
        else Condition(
            round_id=condition.round_id,
            score=condition.score,
            estimated_value=int(condition.estimated_value),
            model_version=condition.model_version,
            updated_at=iso(condition.observed_at),
        ),
    )


@router.get(
    "",
    response_model=VehiclePage,
    responses=INDEXED_RESPONSES,
    description="Registered vehicles as indexed from the chain, oldest first "
    "(consortium-public fields; the VIN only for vehicles this node registered)." + INDEXED_NOTE,
)
def list_vehicles(
    *,
    runtime: RuntimeDep,
    session: SessionDep,
    _indexed: IndexedDep,
    _principal: PrincipalDep,
    bank: Annotated[str | None, Query(description="Registering bank's address")] = None,
    has_lien: Annotated[bool | None, Query(description="Only with / without a lien")] = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> VehiclePage:
    chain_id = runtime.settings.chain_id
    query = registrations(chain_id)
    if bank is not None:
        if not Web3.is_address(bank):
            raise ApiError(422, "InvalidAddress", "bank must be a 20-byte hex address")
        checksummed = Web3.to_checksum_address(bank)
        query = query.where(ChainEvent.args["bank"].as_string() == checksummed)
    liened = _liened_vehicles(chain_id)
    if has_lien is True:
        query = query.where(ChainEvent.vehicle_id.in_(liened))
    elif has_lien is False:
        query = query.where(ChainEvent.vehicle_id.not_in(liened))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(in_chain_order(query).limit(limit).offset(offset)).all()
    ids = [row.vehicle_id for row in rows if row.vehicle_id is not None]
    local = select(LocalVehicle.vehicle_id, LocalVehicle.vin).where(
        LocalVehicle.vehicle_id.in_(ids)
    )
    vins = {vehicle: vin for vehicle, vin in session.execute(local).tuples()}
    in_force = set(session.scalars(liened.where(ChainEvent.vehicle_id.in_(ids))))
    items = [_list_item(row, vins, in_force) for row in rows]
    next_offset = offset + len(items) if offset + len(items) < total else None
    return VehiclePage(
        items=items, total=total, limit=limit, offset=offset, next_offset=next_offset
    )


# The columns the list shows, read as plain rows: loading ORM objects for a read-only page
# cost more than the query (docs/api-benchmark.md).
REGISTERED_COLUMNS = (
    ChainEvent.vehicle_id,
    ChainEvent.args,
    ChainEvent.block_timestamp,
    ChainEvent.transaction_hash,
    ChainEvent.block_number,
)


def registrations(chain_id: int) -> Select[Any]:
    """The list's rows: every registration of the chain (its index:
    `ix_chain_events_event_order`, which also orders them)."""
    return select(*REGISTERED_COLUMNS).where(
        ChainEvent.chain_id == chain_id, ChainEvent.event_name == "VehicleRegistered"
    )


def in_chain_order(query: Select[Any]) -> Select[Any]:
    """Oldest first: by block, then by log within the block."""
    return query.order_by(ChainEvent.block_number, ChainEvent.log_index)


def _liened_vehicles(chain_id: int) -> Any:
    """Vehicle ids with more `LienPlaced` than `LienReleased` events: a lien in force."""
    balance = func.sum(case((ChainEvent.event_name == "LienPlaced", 1), else_=-1))
    return (
        select(ChainEvent.vehicle_id)
        .where(
            ChainEvent.chain_id == chain_id,
            ChainEvent.event_name.in_(("LienPlaced", "LienReleased")),
        )
        .group_by(ChainEvent.vehicle_id)
        .having(balance > 0)
    )


def _list_item(row: Row[Any], vins: dict[str, str], in_force: set[str | None]) -> VehicleListItem:
    vid = row.vehicle_id or ""
    return VehicleListItem(
        vehicle_id=vid,
        vin=vins.get(vid),
        registered_by=row.args["bank"],
        registered_at=iso(row.block_timestamp),
        owner_commitment=row.args["ownerCommitment"],
        appraisal_value_at_registration=int(row.args["appraisalValue"]),
        has_lien=vid in in_force,
        transaction_hash=row.transaction_hash,
        block_number=row.block_number,
    )
