"""Value alerts: the oracle's alerts with their reviews, and the lending bank's review.

The review comment stays in this node's database; the chain gets its sha256 as
`commentHash`, and as `reviewerRef` the sha256 of the reviewer's person reference (never a
name in clear). Only reviewers and admins review.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import IntEnum
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from sqlalchemy import select

from node_api.api.deps import PrincipalDep, ReviewerDep, RuntimeDep, SessionDep
from node_api.api.errors import ApiError
from node_api.api.idempotency import request_hash, run_idempotent
from node_api.api.schemas import (
    AlertPage,
    AlertReview,
    AlertReviewed,
    AlertReviewIn,
    AlertView,
    iso,
)
from node_api.api_keys import Principal
from node_api.models import AlertReviewComment
from node_api.runtime import NodeRuntime

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


class AlertStatus(IntEnum):
    """`IConditionOracle.AlertStatus`."""

    NONE = 0
    OPEN = 1
    RECOVERED = 2
    LIEN_ENDED = 3


DECISIONS = ("confirmed_risk", "false_positive", "escalated")  # ReviewDecision order
STATUS_FILTERS = ("open", "reviewed", "unreviewed", "recovered", "lien_ended")


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _parse_alert_id(alert_id: str) -> int:
    if not alert_id.isdigit() or int(alert_id) == 0 or int(alert_id) >= 2**256:
        raise ApiError(422, "InvalidAlertId", "an alert id is a positive decimal integer")
    return int(alert_id)


def _read_alert(runtime: NodeRuntime, alert_id: int) -> Any:
    oracle = runtime.contracts["ConditionOracle"]
    return runtime.read("the alert", lambda: oracle.functions.alert(alert_id).call())


def _view(alert_id: int, alert: Any, comments: dict[str, str]) -> AlertView:
    (
        vid,
        bank,
        round_id,
        threshold,
        status,
        loan_id,
        value,
        appraisal,
        raised_at,
        closed_round,
        reviewed_at,
        decision,
        reviewer_ref,
        comment_hash,
    ) = alert
    review = None
    if reviewed_at:
        review = AlertReview(
            decision=DECISIONS[decision],
            reviewer_ref=_hex(reviewer_ref),
            comment_hash=_hex(comment_hash),
            reviewed_at=iso(reviewed_at),
            comment=comments.get(str(alert_id)),
        )
    return AlertView(
        alert_id=str(alert_id),
        vehicle_id=_hex(vid),
        bank=bank,
        loan_id=str(loan_id),
        status=AlertStatus(status).name.lower(),
        round_id=round_id,
        threshold_bps=threshold,
        value=value,
        appraisal=appraisal,
        raised_at=iso(raised_at),
        closed_round_id=closed_round or None,
        review=review,
    )


def _matches(view: AlertView, status: str | None) -> bool:
    if status is None:
        return True
    if status == "reviewed":
        return view.review is not None
    if status == "unreviewed":
        return view.review is None
    return view.status == status


@router.get("", response_model=AlertPage, responses={422: {}})
def list_alerts(
    *,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[
        str | None,
        Query(description="open, recovered, lien_ended (the alert), reviewed or unreviewed"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AlertPage:
    """The oracle's alerts (ids 1..alertCount), oldest first, with their reviews."""
    if status is not None and status not in STATUS_FILTERS:
        raise ApiError(
            422, "InvalidStatus", f"unknown status {status!r}; one of: {', '.join(STATUS_FILTERS)}"
        )
    oracle = runtime.contracts["ConditionOracle"]
    count = runtime.read("the alert count", lambda: oracle.functions.alertCount().call())
    rows = session.execute(select(AlertReviewComment.alert_id, AlertReviewComment.comment))
    comments = {alert_id: comment for alert_id, comment in rows.tuples()}
    views = [_view(n, _read_alert(runtime, n), comments) for n in range(1, count + 1)]
    matching = [view for view in views if _matches(view, status)]
    total = len(matching)
    items = matching[offset : offset + limit]
    next_offset = offset + len(items) if offset + len(items) < total else None
    return AlertPage(items=items, total=total, limit=limit, offset=offset, next_offset=next_offset)


@router.get("/{alert_id}", response_model=AlertView, responses={404: {}, 422: {}})
def get_alert(
    alert_id: str, runtime: RuntimeDep, session: SessionDep, _principal: PrincipalDep
) -> AlertView:
    """One alert and its review."""
    number = _parse_alert_id(alert_id)
    alert = _read_alert(runtime, number)
    if alert[4] == AlertStatus.NONE:
        raise ApiError(404, "UnknownAlert", f"no alert with id {number}")
    row = session.get(AlertReviewComment, str(number))
    return _view(number, alert, {} if row is None else {row.alert_id: row.comment})


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
    if _read_alert(runtime, number)[4] == AlertStatus.NONE:
        raise ApiError(404, "UnknownAlert", f"no alert with id {number}")
    comment_hash = hashlib.sha256(body.comment.encode()).digest()
    reviewer_ref = hashlib.sha256(principal.person_ref.encode()).digest()
    # The comment first: if the database is down, nothing reaches the chain.
    inserted = _insert_comment(
        runtime,
        principal,
        alert_id=number,
        decision=decision,
        comment=body.comment,
        comment_hash=comment_hash,
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
                reviewer_ref=_hex(hashlib.sha256(principal.person_ref.encode()).digest()),
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
