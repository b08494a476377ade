"""Scores: one row per vehicle per accepted report, with the 12 indicators explained (weights
and contributions when the model is known) and, as of the report's block, the alert threshold
and hysteresis in force (`ParameterChanged`) and the vehicle's appraisal in force
(`VehicleRegistered`, `VehicleReappraised`): a past point is judged against its own rules.

Append-only: each row is derived from its report entry and from events before it only, so
a rewind deletes the rows above the fork and keeps the others unchanged."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from node_api.conditions import explain
from node_api.models import ChainEvent, ProjectedScore, ReportEntry
from node_api.projections.consortium import parameter_key
from node_api.projections.events import Event, load, load_keyed

THRESHOLD = parameter_key("ALERT_THRESHOLD_BPS")
HYSTERESIS = parameter_key("ALERT_HYSTERESIS_BPS")
APPRAISALS = ("VehicleRegistered", "VehicleReappraised")


class _InForce:
    """Values by chain position: the one in force at a position is the last set before it."""

    def __init__(self, changes: list[tuple[tuple[int, int], str]]) -> None:
        self._positions = [position for position, _ in changes]
        self._values = [value for _, value in changes]

    def at(self, position: tuple[int, int]) -> str | None:
        i = bisect.bisect_left(self._positions, position)
        return self._values[i - 1] if i else None


def _parameter(events: list[Event], key: str) -> _InForce:
    return _InForce([(e.position, e.args["newValue"]) for e in events if e.args["key"] == key])


def _appraisal(events: list[Event]) -> _InForce:
    return _InForce(
        [
            (e.position, e.args["appraisalValue" if e.name == "VehicleRegistered" else "newValue"])
            for e in events
        ]
    )


def _optional_int(value: str | None) -> int | None:
    return None if value is None else int(value)


def append(session: Session, chain_id: int, entries: Sequence[Mapping[str, Any]]) -> None:
    """Score rows for new report entries (rows of `report_entries`, as dicts)."""
    if not entries:
        return
    parameters = load(session, chain_id, ("ParameterChanged",))
    threshold, hysteresis = _parameter(parameters, THRESHOLD), _parameter(parameters, HYSTERESIS)
    vehicles = sorted({entry["vehicle_id"] for entry in entries})
    appraisals: dict[str, list[Event]] = {}
    for event in load_keyed(session, chain_id, APPRAISALS, ChainEvent.vehicle_id, vehicles):
        appraisals.setdefault(event.vehicle_id or "", []).append(event)
    in_force = {vehicle: _appraisal(appraisals.get(vehicle, [])) for vehicle in vehicles}
    rows = []
    for entry in entries:
        position = (entry["block_number"], entry["log_index"])
        status, indicators = explain(entry["model_version"], entry["indicators"])
        rows.append(
            {
                "chain_id": chain_id,
                "vehicle_id": entry["vehicle_id"],
                "block_number": entry["block_number"],
                "log_index": entry["log_index"],
                "round_id": entry["round_id"],
                "observed_at": entry["observed_at"],
                "block_timestamp": entry["block_timestamp"],
                "transaction_hash": entry["transaction_hash"],
                "model_version": entry["model_version"],
                "model_status": status,
                "score": entry["score"],
                "estimated_value": entry["estimated_value"],
                "indicators": indicators,
                "threshold_bps": _optional_int(threshold.at(position)),
                "hysteresis_bps": _optional_int(hysteresis.at(position)),
                "appraisal": in_force[entry["vehicle_id"]].at(position),
            }
        )
    session.execute(insert(cast(Table, ProjectedScore.__table__)), rows)


def rewind(session: Session, chain_id: int, above: int) -> None:
    session.execute(
        delete(ProjectedScore).where(
            ProjectedScore.chain_id == chain_id, ProjectedScore.block_number > above
        )
    )


def rebuild(session: Session, chain_id: int) -> None:
    session.execute(delete(ProjectedScore).where(ProjectedScore.chain_id == chain_id))
    columns = [c for c in ReportEntry.__table__.columns]
    rows = session.execute(
        select(*columns)
        .where(ReportEntry.chain_id == chain_id)
        .order_by(ReportEntry.block_number, ReportEntry.log_index, ReportEntry.vehicle_id)
    ).mappings()
    append(session, chain_id, [dict(row) for row in rows])
