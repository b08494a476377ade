"""Vehicles and their liens: registration, reappraisals, owner changes, liens placed and
released. A vehicle registered before the index's first block has no row (nothing says who
registered it); its liens are still listed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from node_api.models import ProjectedLien, ProjectedVehicle
from node_api.projections.events import Event
from node_api.projections.keyed import KeyedModel, Rows

EVENTS = frozenset(
    {
        "VehicleRegistered",
        "VehicleReappraised",
        "VehicleOwnershipTransferred",
        "LienPlaced",
        "LienReleased",
    }
)


def fold(_session: Session, chain_id: int, vehicle_id: str, events: list[Event]) -> Rows:
    vehicle: dict[str, Any] | None = None
    liens: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.name == "VehicleRegistered":
            vehicle = {
                "chain_id": chain_id,
                "vehicle_id": vehicle_id,
                "registered_by": event.args["bank"],
                "registered_at": event.block_timestamp,
                "owner_commitment": event.args["ownerCommitment"],
                "appraisal_at_registration": event.args["appraisalValue"],
                "appraisal_value": event.args["appraisalValue"],
                "appraised_at": event.int("appraisedAt"),
                "lien_loan_id": None,
                "lien_bank": None,
                "lien_placed_at": None,
                "transaction_hash": event.transaction_hash,
                "block_number": event.block_number,
                "log_index": event.log_index,
            }
        elif event.name == "VehicleReappraised" and vehicle is not None:
            vehicle["appraisal_value"] = event.args["newValue"]
            vehicle["appraised_at"] = event.int("appraisedAt")
        elif event.name == "VehicleOwnershipTransferred" and vehicle is not None:
            vehicle["owner_commitment"] = event.args["newOwnerCommitment"]
        elif event.name == "LienPlaced":
            liens[event.args["loanId"]] = {
                "chain_id": chain_id,
                "loan_id": event.args["loanId"],
                "vehicle_id": vehicle_id,
                "bank": event.args["bank"],
                "placed_at": event.block_timestamp,
                "placed_block": event.block_number,
                "released_at": None,
                "released_block": None,
            }
        elif event.name == "LienReleased" and event.args["loanId"] in liens:
            lien = liens[event.args["loanId"]]
            lien["released_at"] = event.block_timestamp
            lien["released_block"] = event.block_number
    rows: Rows = {ProjectedLien: list(liens.values())}
    if vehicle is not None:
        in_force = [lien for lien in liens.values() if lien["released_at"] is None]
        if in_force:
            vehicle["lien_loan_id"] = in_force[-1]["loan_id"]
            vehicle["lien_bank"] = in_force[-1]["bank"]
            vehicle["lien_placed_at"] = in_force[-1]["placed_at"]
        vehicle["changed_block"] = events[-1].block_number
        rows[ProjectedVehicle] = [vehicle]
    return rows


VEHICLES = KeyedModel(
    name="vehicles",
    events=EVENTS,
    column="vehicle_id",
    args_key=None,
    tables=((ProjectedVehicle, "vehicle_id"), (ProjectedLien, "vehicle_id")),
    fold=fold,
)
