"""Daily monitoring figures from the indexed events, and the node's own stability.

Per UTC day (block time): loans applied and activated, the mean processing time from
application to activation of the loans activated that day, the overdue rate at the day's
end (overdue loans over active + overdue loans, replaying `LoanStateChanged`), alerts
raised and reviewed. Stability is this process's uptime and the indexer's lag, sampled
whenever the figures are asked for (kept in memory: the history starts with the process).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from node_api.indexer.metrics import IndexerMetrics
from node_api.models import ChainEvent
from vcl.contract_enums import LoanState

DAY_S = 86_400
MONITORED_EVENTS = ("LoanApplied", "LoanStateChanged", "ValueThresholdBreached", "AlertReviewed")
MAX_SAMPLES = 500
# The node API imports this module at start-up: uptime counts from here.
STARTED_AT = time.time()


def _day(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()


@dataclass
class _Day:
    applied: int = 0
    activated: int = 0
    processing_s: list[int] = field(default_factory=list)
    alerts_raised: int = 0
    alerts_reviewed: int = 0
    active_end: int = 0
    overdue_end: int = 0

    def as_json(self, day: date) -> dict[str, Any]:
        performing = self.active_end + self.overdue_end
        mean = sum(self.processing_s) / len(self.processing_s) if self.processing_s else None
        return {
            "date": day.isoformat(),
            "loans_applied": self.applied,
            "loans_activated": self.activated,
            "processing_time_hours": None if mean is None else round(mean / 3600, 2),
            "loans_active": self.active_end,
            "loans_overdue": self.overdue_end,
            "overdue_rate": None if performing == 0 else round(self.overdue_end / performing, 4),
            "alerts_raised": self.alerts_raised,
            "alerts_reviewed": self.alerts_reviewed,
        }


def daily_figures(session: Session, chain_id: int, days: int, today: date) -> list[dict[str, Any]]:
    """The last `days` days up to `today` (or the last day with an event, if later)."""
    rows = session.execute(
        select(
            ChainEvent.event_name, ChainEvent.block_timestamp, ChainEvent.loan_id, ChainEvent.args
        )
        .where(ChainEvent.chain_id == chain_id, ChainEvent.event_name.in_(MONITORED_EVENTS))
        .order_by(ChainEvent.block_number, ChainEvent.log_index)
    ).tuples()
    applied_at: dict[str, int] = {}
    state: dict[str, int] = {}
    by_day: dict[date, _Day] = {}
    # The state of every loan at each day's end, recorded when the first later event arrives.
    snapshots: dict[date, tuple[int, int]] = {}
    last_day: date | None = None

    def snapshot(day: date) -> None:
        counts = list(state.values())
        snapshots[day] = (counts.count(LoanState.ACTIVE), counts.count(LoanState.OVERDUE))

    for name, stamp, loan_id, args in rows:
        day = _day(stamp)
        if last_day is not None and day != last_day:
            snapshot(last_day)
        last_day = day
        figures = by_day.setdefault(day, _Day())
        if name == "LoanApplied" and loan_id is not None:
            figures.applied += 1
            applied_at[loan_id] = stamp
            state[loan_id] = LoanState.APPLIED
        elif name == "LoanStateChanged" and loan_id is not None:
            before, after = int(args["from"]), int(args["to"])
            state[loan_id] = after
            if before == LoanState.APPROVED and after == LoanState.ACTIVE:
                figures.activated += 1
                if loan_id in applied_at:
                    figures.processing_s.append(stamp - applied_at[loan_id])
        elif name == "ValueThresholdBreached":
            figures.alerts_raised += 1
        elif name == "AlertReviewed":
            figures.alerts_reviewed += 1
    if last_day is not None:
        snapshot(last_day)
    end = max(today, last_day) if last_day is not None else today
    start = end - timedelta(days=days - 1)
    carried = (0, 0)
    for day in sorted(snapshots):
        if day < start:
            carried = snapshots[day]
    result: list[dict[str, Any]] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        figures = by_day.get(day, _Day())
        carried = snapshots.get(day, carried)
        figures.active_end, figures.overdue_end = carried
        result.append(figures.as_json(day))
    return result


class StabilitySamples:
    """The indexer's lag, sampled on each request for the figures (bounded, in memory)."""

    def __init__(self) -> None:
        self._samples: deque[dict[str, Any]] = deque(maxlen=MAX_SAMPLES)
        self._lock = threading.Lock()

    def sample(self, metrics: IndexerMetrics) -> dict[str, Any]:
        started = STARTED_AT
        now = time.time()
        entry = {
            "at": datetime.fromtimestamp(now, UTC)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z"),
            "uptime_s": round(now - started, 1),
            "indexer_lag_blocks": metrics.lag_blocks,
        }
        with self._lock:
            self._samples.append(entry)
            samples = list(self._samples)
        return {
            "started_at": datetime.fromtimestamp(started, UTC)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z"),
            "uptime_s": entry["uptime_s"],
            "chain_head": metrics.chain_head,
            "indexed_block": metrics.cursor_block,
            "indexer_lag_blocks": metrics.lag_blocks,
            "reorgs_total": metrics.reorgs_total,
            "read_errors_total": metrics.read_errors_total,
            "samples": samples,
        }
