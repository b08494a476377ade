"""Value alerts: raised (with the threshold the contract applied, which the event carries),
closed by a recovery or by the end of the lien, and the lending bank's review."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from node_api.models import ProjectedAlert
from node_api.projections.events import Event, label
from node_api.projections.keyed import KeyedModel, Rows
from vcl.contract_enums import AlertStatus, ReviewDecision

RAISED = "ValueThresholdBreached"
CLOSED_BY = {"ValueRecovered": AlertStatus.RECOVERED, "ValueAlertClosed": AlertStatus.LIEN_ENDED}
REVIEWED = "AlertReviewed"
EVENTS = frozenset({RAISED, REVIEWED, *CLOSED_BY})


def fold(_session: Session, chain_id: int, alert_id: str, events: list[Event]) -> Rows:
    alert: dict[str, Any] | None = None
    for event in events:
        if event.name == RAISED:
            alert = {
                "chain_id": chain_id,
                "alert_id": alert_id,
                "vehicle_id": event.args["vehicleId"],
                "bank": event.args["bank"],
                "loan_id": event.args["loanId"],
                "status": AlertStatus.OPEN.word,
                "round_id": event.int("roundId"),
                "threshold_bps": event.int("thresholdBps"),
                "value": event.args["value"],
                "appraisal": event.args["appraisal"],
                "raised_at": event.block_timestamp,
                "closed_round_id": None,
                "review_decision": None,
                "reviewer_ref": None,
                "comment_hash": None,
                "reviewed_at": None,
                "review_transaction_hash": None,
                "transaction_hash": event.transaction_hash,
                "block_number": event.block_number,
                "log_index": event.log_index,
            }
        elif alert is None:
            continue
        elif event.name == REVIEWED:
            alert["review_decision"] = label(ReviewDecision, event.args["decision"])
            alert["reviewer_ref"] = event.args["reviewerRef"]
            alert["comment_hash"] = event.args["commentHash"]
            alert["reviewed_at"] = event.int("reviewedAt")
            alert["review_transaction_hash"] = event.transaction_hash
        else:
            alert["status"] = CLOSED_BY[event.name].word
            alert["closed_round_id"] = event.int("roundId")
    if alert is None:
        return {}
    alert["changed_block"] = events[-1].block_number
    return {ProjectedAlert: [alert]}


ALERTS = KeyedModel(
    name="alerts",
    events=EVENTS,
    column="alert_id",
    args_key=None,
    tables=((ProjectedAlert, "alert_id"),),
    fold=fold,
)
