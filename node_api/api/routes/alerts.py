"""Value alerts: the oracle's alerts with their reviews, and the lending bank's review.

The review comment stays in this node's database; the chain gets its sha256 as
`commentHash`, and as `reviewerRef` a salted commitment to the reviewer's person reference,
sha256(salt || reference) with a random salt per review kept in this node's database: a
list of staff ids cannot be matched against the chain, and this node still shows who
reviewed. Only reviewers and admins review.

Sources: `GET /v1/alerts` and `GET /v1/alerts/{id}` answer from this node's read models
(`node_api.projections`), as far as the index reached (`X-Indexed-Block`); the review reads
the chain for its precondition (the alert exists) and answers once its block is indexed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session
from web3 import Web3

from node_api.api.deps import (
    PageLimit,
    PageOffset,
    PrincipalDep,
    ReviewerDep,
    RuntimeDep,
    SessionDep,
)
from node_api.api.errors import ApiError
from node_api.api.idempotency import request_hash, run_idempotent
from node_api.api.indexed import (
    INDEXED_NOTE,
    INDEXED_RESPONSES,
    IndexedDep,
    found_or_current,
)
from node_api.api.schemas import (
    AlertPage,
    AlertReview,
    AlertReviewed,
    AlertReviewIn,
    AlertView,
)
from node_api.api_keys import Principal
from node_api.models import AlertReviewComment, ApiKey, LocalVehicle, ProjectedAlert
from node_api.runtime import NodeRuntime
from vcl.contract_enums import AlertStatus, ReviewDecision
from vcl.timestamps import iso

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


DECISIONS = tuple(decision.word for decision in ReviewDecision)  # in the contract's order
STATUS_FILTERS = ("open", "reviewed", "unreviewed", "recovered", "lien_ended")


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def reviewer_commitment(salt: bytes, person_ref: str) -> bytes:
    """The on-chain `reviewerRef`: sha256(salt || person reference), as the owner's and
    borrower's commitments; hiding while the salt stays in this node's database."""
    return hashlib.sha256(salt + person_ref.encode()).digest()


@dataclass(frozen=True)
class LocalReview:
    """What only the reviewing node knows of a review: the comment and who wrote it."""

    comment: str
    reviewer_salt: str | None  # None: recorded before reviews were salted (plain sha256)
    person_ref: str | None  # of the API key that reviewed

    def reviewer(self, on_chain_ref: str) -> str | None:
        """The person behind `on_chain_ref`, if this node's record opens that commitment."""
        if self.person_ref is None:
            return None
        if self.reviewer_salt is None:
            opened = hashlib.sha256(self.person_ref.encode()).digest()
        else:
            opened = reviewer_commitment(bytes.fromhex(self.reviewer_salt[2:]), self.person_ref)
        return self.person_ref if _hex(opened) == on_chain_ref.lower() else None


def _local_reviews(session: Session, ids: list[str]) -> dict[str, LocalReview]:
    rows = session.execute(
        select(
            AlertReviewComment.alert_id,
            AlertReviewComment.comment,
            AlertReviewComment.reviewer_salt,
            ApiKey.person_ref,
        )
        .outerjoin(ApiKey, ApiKey.id == AlertReviewComment.api_key_id)
        .where(AlertReviewComment.alert_id.in_(ids))
    ).tuples()
    return {
        alert_id: LocalReview(comment, salt, person_ref)
        for alert_id, comment, salt, person_ref in rows
    }


def _parse_alert_id(alert_id: str) -> int:
    if (
        not (alert_id.isascii() and alert_id.isdigit())
        or int(alert_id) == 0
        or int(alert_id) >= 2**256
    ):
        raise ApiError(422, "InvalidAlertId", "an alert id is a positive decimal integer")
    return int(alert_id)


def _read_alert(runtime: NodeRuntime, alert_id: int) -> Any:
    return runtime.read(
        "the alert", lambda: runtime.views.read("ConditionOracle", "alert", alert_id)
    )


def _local_vins(session: Session, vehicle_ids: list[str]) -> dict[str, str]:
    """The VINs this node registered among `vehicle_ids` (no other node knows them)."""
    rows = session.execute(
        select(LocalVehicle.vehicle_id, LocalVehicle.vin).where(
            LocalVehicle.vehicle_id.in_(vehicle_ids)
        )
    ).tuples()
    return {vehicle: vin for vehicle, vin in rows}  # dict(rows) would take it for a mapping


def _view(alert: ProjectedAlert, local: dict[str, LocalReview], vins: dict[str, str]) -> AlertView:
    review = None
    if alert.review_decision is not None:
        review = AlertReview(
            decision=alert.review_decision,
            reviewer_ref=alert.reviewer_ref or "",
            comment_hash=alert.comment_hash or "",
            reviewed_at=iso(alert.reviewed_at or 0),
            comment=None,
            reviewer=None,
        )
        mine = local.get(alert.alert_id)
        if mine is not None:
            review.comment = mine.comment
            review.reviewer = mine.reviewer(review.reviewer_ref)
    return AlertView(
        alert_id=alert.alert_id,
        vehicle_id=alert.vehicle_id,
        vin=vins.get(alert.vehicle_id),
        bank=alert.bank,
        loan_id=alert.loan_id,
        status=alert.status,
        round_id=alert.round_id,
        threshold_bps=alert.threshold_bps,
        value=int(alert.value),
        appraisal=int(alert.appraisal),
        raised_at=iso(alert.raised_at),
        closed_round_id=alert.closed_round_id,
        review=review,
    )


@router.get(
    "",
    response_model=AlertPage,
    responses={422: {}, **INDEXED_RESPONSES},
    description="The oracle's alerts, oldest first, with their reviews; filtered and "
    "paginated in the database." + INDEXED_NOTE,
)
def list_alerts(
    *,
    runtime: RuntimeDep,
    session: SessionDep,
    _indexed: IndexedDep,
    principal: PrincipalDep,
    status: Annotated[
        str | None,
        Query(description="open, recovered, lien_ended (the alert), reviewed or unreviewed"),
    ] = None,
    bank: Annotated[str | None, Query(description="Only the alerts of this bank")] = None,
    vehicle_id: Annotated[str | None, Query(description="Only the alerts of this vehicle")] = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> AlertPage:
    chain_id = runtime.settings.chain_id
    where = [ProjectedAlert.chain_id == chain_id]
    if status is not None:
        where.append(_status_filter(status))
    if bank is not None:
        if not Web3.is_address(bank):
            raise ApiError(422, "InvalidAddress", "bank must be a 20-byte hex address")
        where.append(ProjectedAlert.bank == Web3.to_checksum_address(bank))
    if vehicle_id is not None:
        if not re.fullmatch(r"0x[0-9a-fA-F]{64}", vehicle_id):
            raise ApiError(422, "InvalidVehicle", "vehicle_id must be 0x followed by 64 hex digits")
        where.append(ProjectedAlert.vehicle_id == vehicle_id.lower())
    total = session.scalar(select(func.count()).select_from(ProjectedAlert).where(*where)) or 0
    page = session.scalars(
        select(ProjectedAlert)
        .where(*where)
        .order_by(ProjectedAlert.block_number, ProjectedAlert.log_index)
        .limit(limit)
        .offset(offset)
    ).all()
    local = _local_reviews(session, [alert.alert_id for alert in page])
    vins = _local_vins(session, [alert.vehicle_id for alert in page])
    items = [_view(alert, local, vins) for alert in page]
    next_offset = offset + len(items) if offset + len(items) < total else None
    return AlertPage(items=items, total=total, limit=limit, offset=offset, next_offset=next_offset)


def _status_filter(status: str) -> ColumnElement[bool]:
    if status not in STATUS_FILTERS:
        raise ApiError(
            422, "InvalidStatus", f"unknown status {status!r}; one of: {', '.join(STATUS_FILTERS)}"
        )
    if status == "reviewed":
        return ProjectedAlert.review_decision.is_not(None)
    if status == "unreviewed":
        return ProjectedAlert.review_decision.is_(None)
    return ProjectedAlert.status == status


@router.get(
    "/{alert_id}",
    response_model=AlertView,
    responses={404: {}, 422: {}, **INDEXED_RESPONSES},
    description="One alert and its review." + INDEXED_NOTE,
)
def get_alert(
    alert_id: str,
    runtime: RuntimeDep,
    session: SessionDep,
    indexed: IndexedDep,
    _principal: PrincipalDep,
) -> AlertView:
    number = _parse_alert_id(alert_id)
    key = (runtime.settings.chain_id, str(number))
    alert = found_or_current(runtime, session, indexed, lambda: session.get(ProjectedAlert, key))
    if alert is None:
        raise ApiError(
            404,
            "UnknownAlert",
            f"no alert with id {number} (indexed to block {indexed.block_number})",
        )
    vins = _local_vins(session, [alert.vehicle_id])
    return _view(alert, _local_reviews(session, [str(number)]), vins)


@router.post(
    "/{alert_id}/review",
    response_model=AlertReviewed,
    responses={
        403: {"description": "OracleNotAlertBank, or a role that may not review"},
        404: {"description": "unknown alert"},
        409: {"description": "OracleAlertAlreadyReviewed"},
    },
)
def review_alert(
    alert_id: str,
    body: AlertReviewIn,
    runtime: RuntimeDep,
    principal: ReviewerDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Record the bank's review on-chain (decision, hashed reviewer, hashed comment)."""
    fingerprint = request_hash(f"POST /v1/alerts/{alert_id}/review", body.model_dump_json())
    return run_idempotent(
        runtime.sessions,
        principal,
        idempotency_key,
        fingerprint,
        lambda: (200, _review(runtime, principal, alert_id, body)),
    )


def _review(
    runtime: NodeRuntime, principal: Principal, raw_id: str, body: AlertReviewIn
) -> dict[str, Any]:
    number = _parse_alert_id(raw_id)
    decision = body.decision.strip().lower()
    if decision not in DECISIONS:
        raise ApiError(422, "InvalidDecision", f"decision must be one of: {', '.join(DECISIONS)}")
    if _read_alert(runtime, number).status == AlertStatus.NONE:
        raise ApiError(404, "UnknownAlert", f"no alert with id {number}")
    comment_hash = hashlib.sha256(body.comment.encode()).digest()
    salt = secrets.token_bytes(32)
    reviewer_ref = reviewer_commitment(salt, principal.person_ref)
    # The comment first: if the database is down, nothing reaches the chain.
    inserted = _insert_comment(
        runtime,
        principal,
        alert_id=number,
        decision=decision,
        comment=body.comment,
        comment_hash=comment_hash,
        reviewer_ref=reviewer_ref,
        salt=salt,
    )
    oracle = runtime.contracts["ConditionOracle"]
    call = oracle.functions.reviewAlert(
        number, DECISIONS.index(decision), reviewer_ref, comment_hash
    )
    try:
        receipt = runtime.transact(call)
    except BaseException:
        if inserted:
            _delete_comment(runtime, number)
        raise
    done = AlertReviewed(
        alert_id=str(number),
        decision=decision,
        reviewer_ref=_hex(reviewer_ref),
        reviewer=principal.person_ref,
        comment_hash=_hex(comment_hash),
        transaction_hash=_hex(receipt["transactionHash"]),
        block_number=receipt["blockNumber"],
    )
    return done.model_dump()


def _insert_comment(
    runtime: NodeRuntime,
    principal: Principal,
    *,
    alert_id: int,
    decision: str,
    comment: str,
    comment_hash: bytes,
    reviewer_ref: bytes,
    salt: bytes,
) -> bool:
    """Whether a row was added (False: this node recorded a review of it before)."""
    with runtime.sessions() as session:
        if session.get(AlertReviewComment, str(alert_id)) is not None:
            return False
        session.add(
            AlertReviewComment(
                alert_id=str(alert_id),
                decision=decision,
                comment=comment,
                comment_hash=_hex(comment_hash),
                reviewer_ref=_hex(reviewer_ref),
                reviewer_salt=_hex(salt),
                api_key_id=principal.key_id,
                created_at=datetime.now(UTC),
            )
        )
        session.commit()
    return True


def _delete_comment(runtime: NodeRuntime, alert_id: int) -> None:
    with runtime.sessions() as session:
        row = session.get(AlertReviewComment, str(alert_id))
        if row is not None:
            session.delete(row)
            session.commit()
