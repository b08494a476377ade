"""Value alerts: the oracle's alerts with their reviews, and the lending bank's review.

The review comment stays in this node's database; the chain gets its sha256 as
`commentHash`, and as `reviewerRef` a salted commitment to the reviewer's person reference,
sha256(salt || reference) with a random salt per review kept in this node's database: a
list of staff ids cannot be matched against the chain, and this node still shows who
reviewed. Only reviewers and admins review.

Sources: `GET /v1/alerts/{id}` and the review read the chain (fresh); `GET /v1/alerts`
reads the indexed events (`chain_events`), so it lags the chain by the indexer's lag
(`vcl_indexer_lag_blocks`: confirmations plus at most one poll interval when healthy).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.orm import Session, aliased
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
from node_api.api.schemas import (
    AlertPage,
    AlertReview,
    AlertReviewed,
    AlertReviewIn,
    AlertView,
)
from node_api.api_keys import Principal
from node_api.models import AlertReviewComment, ApiKey, ChainEvent
from node_api.runtime import NodeRuntime
from vcl.timestamps import iso

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


def _review_of(
    decision: int, reviewer_ref: str, comment_hash: str, reviewed_at: int, local: LocalReview | None
) -> AlertReview:
    return AlertReview(
        decision=DECISIONS[decision],
        reviewer_ref=reviewer_ref,
        comment_hash=comment_hash,
        reviewed_at=iso(reviewed_at),
        comment=None if local is None else local.comment,
        reviewer=None if local is None else local.reviewer(reviewer_ref),
    )


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
    if not alert_id.isdigit() or int(alert_id) == 0 or int(alert_id) >= 2**256:
        raise ApiError(422, "InvalidAlertId", "an alert id is a positive decimal integer")
    return int(alert_id)


def _read_alert(runtime: NodeRuntime, alert_id: int) -> Any:
    oracle = runtime.contracts["ConditionOracle"]
    return runtime.read("the alert", lambda: oracle.functions.alert(alert_id).call())


def _view(alert_id: int, alert: Any, local: LocalReview | None) -> AlertView:
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
        review = _review_of(decision, _hex(reviewer_ref), _hex(comment_hash), reviewed_at, local)
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


# The events that raise an alert, close it, and record its review.
RAISED = "ValueThresholdBreached"
CLOSED_BY = {"ValueRecovered": AlertStatus.RECOVERED, "ValueAlertClosed": AlertStatus.LIEN_ENDED}
REVIEWED = "AlertReviewed"
# The columns the list shows, read as plain rows: loading ORM objects for a read-only page
# cost more than the query (docs/api-benchmark.md).
RAISED_COLUMNS = (
    ChainEvent.alert_id,
    ChainEvent.vehicle_id,
    ChainEvent.args,
    ChainEvent.block_timestamp,
)
LATER_COLUMNS = (ChainEvent.alert_id, ChainEvent.event_name, ChainEvent.args)


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
    bank: Annotated[str | None, Query(description="Only the alerts of this bank")] = None,
    vehicle_id: Annotated[str | None, Query(description="Only the alerts of this vehicle")] = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> AlertPage:
    """The oracle's alerts as indexed from the chain, oldest first, with their reviews;
    filtered and paginated in the database. Lags the chain by the indexer's lag."""
    chain_id = runtime.settings.chain_id
    where = [ChainEvent.chain_id == chain_id, ChainEvent.event_name == RAISED]
    if status is not None:
        where.append(_status_filter(chain_id, status))
    if bank is not None:
        if not Web3.is_address(bank):
            raise ApiError(422, "InvalidAddress", "bank must be a 20-byte hex address")
        where.append(ChainEvent.args["bank"].as_string() == Web3.to_checksum_address(bank))
    if vehicle_id is not None:
        if not re.fullmatch(r"0x[0-9a-fA-F]{64}", vehicle_id):
            raise ApiError(422, "InvalidVehicle", "vehicle_id must be 0x followed by 64 hex digits")
        where.append(ChainEvent.vehicle_id == vehicle_id.lower())
    total = session.scalar(select(func.count()).select_from(ChainEvent).where(*where)) or 0
    raised = session.execute(
        select(*RAISED_COLUMNS)
        .where(*where)
        .order_by(ChainEvent.block_number, ChainEvent.log_index)
        .limit(limit)
        .offset(offset)
    ).all()
    ids = [row.alert_id for row in raised if row.alert_id is not None]
    later = _later_events(session, chain_id, ids)
    local = _local_reviews(session, ids)
    items = [_indexed_view(row, later.get(row.alert_id or "", []), local) for row in raised]
    next_offset = offset + len(items) if offset + len(items) < total else None
    return AlertPage(items=items, total=total, limit=limit, offset=offset, next_offset=next_offset)


def _status_filter(chain_id: int, status: str) -> ColumnElement[bool]:
    if status not in STATUS_FILTERS:
        raise ApiError(
            422, "InvalidStatus", f"unknown status {status!r}; one of: {', '.join(STATUS_FILTERS)}"
        )
    other = aliased(ChainEvent)

    def alerts_with(*events: str) -> Any:
        return select(other.alert_id).where(
            other.chain_id == chain_id, other.event_name.in_(events)
        )

    if status in ("reviewed", "unreviewed"):
        reviewed = ChainEvent.alert_id.in_(alerts_with(REVIEWED))
        return reviewed if status == "reviewed" else ~reviewed
    if status == "open":
        return ~ChainEvent.alert_id.in_(alerts_with(*CLOSED_BY))
    closing = next(name for name, closed in CLOSED_BY.items() if closed.name.lower() == status)
    return ChainEvent.alert_id.in_(alerts_with(closing))


def _later_events(session: Session, chain_id: int, ids: list[str]) -> dict[str, list[Row[Any]]]:
    """The page's alerts' closing and review events: one query for the whole page."""
    rows = session.execute(
        select(*LATER_COLUMNS)
        .where(
            ChainEvent.chain_id == chain_id,
            ChainEvent.event_name.in_((*CLOSED_BY, REVIEWED)),
            ChainEvent.alert_id.in_(ids),
        )
        .order_by(ChainEvent.block_number, ChainEvent.log_index)
    )
    later: dict[str, list[Row[Any]]] = {}
    for row in rows:
        later.setdefault(row.alert_id or "", []).append(row)
    return later


def _indexed_view(
    raised: Row[Any], later: list[Row[Any]], local: dict[str, LocalReview]
) -> AlertView:
    args = raised.args
    alert_id = raised.alert_id or ""
    status = AlertStatus.OPEN
    closed_round: int | None = None
    review = None
    for event in later:
        if event.event_name == REVIEWED:
            review = _review_of(
                int(event.args["decision"]),
                event.args["reviewerRef"],
                event.args["commentHash"],
                int(event.args["reviewedAt"]),
                local.get(alert_id),
            )
        else:
            status = CLOSED_BY[event.event_name]
            closed_round = int(event.args["roundId"])
    return AlertView(
        alert_id=alert_id,
        vehicle_id=raised.vehicle_id or "",
        bank=args["bank"],
        loan_id=args["loanId"],
        status=status.name.lower(),
        round_id=int(args["roundId"]),
        threshold_bps=int(args["thresholdBps"]),
        value=int(args["value"]),
        appraisal=int(args["appraisal"]),
        raised_at=iso(raised.block_timestamp),
        closed_round_id=closed_round,
        review=review,
    )


@router.get("/{alert_id}", response_model=AlertView, responses={404: {}, 422: {}})
def get_alert(
    alert_id: str, runtime: RuntimeDep, session: SessionDep, _principal: PrincipalDep
) -> AlertView:
    """One alert and its review."""
    number = _parse_alert_id(alert_id)
    alert = _read_alert(runtime, number)
    if alert[4] == AlertStatus.NONE:
        raise ApiError(404, "UnknownAlert", f"no alert with id {number}")
    return _view(number, alert, _local_reviews(session, [str(number)]).get(str(number)))


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
