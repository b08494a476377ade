"""The per-day figures replayed from indexed loan and alert events (no chain needed: the
events are rows of `chain_events`, as the indexer writes them)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from itertools import count
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from node_api.models import Base, ChainEvent
from node_api.monitoring import daily_figures

CHAIN_ID = 1337
HOUR = 3600


def at(day: int, hour: int) -> int:
    return int(datetime(2026, 11, day, hour, tzinfo=UTC).timestamp())


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def add(session: Session, events: list[tuple[str, int, str | None, dict[str, Any]]]) -> None:
    blocks = count(1)
    for name, stamp, loan_id, args in events:
        block = next(blocks)
        session.add(
            ChainEvent(
                chain_id=CHAIN_ID,
                contract_name="LoanManager",
                contract_address="0x" + "11" * 20,
                event_name=name,
                block_number=block,
                block_hash="0x" + f"{block:064x}",
                block_timestamp=stamp,
                transaction_hash="0x" + f"{block:064x}",
                transaction_index=0,
                log_index=0,
                args=args,
                loan_id=loan_id,
            )
        )
    session.commit()


def changed(loan: str, stamp: int, before: int, after: int) -> tuple[str, int, str, dict[str, Any]]:
    return ("LoanStateChanged", stamp, loan, {"from": str(before), "to": str(after)})


def test_a_week_of_loans_and_alerts(session: Session) -> None:
    add(
        session,
        [
            ("LoanApplied", at(1, 9), "1", {}),
            ("LoanApplied", at(1, 10), "2", {}),
            changed("1", at(1, 12), 1, 2),
            changed("1", at(2, 9), 2, 3),  # activated 24 h after the application
            changed("2", at(2, 10), 1, 2),
            changed("2", at(2, 22), 2, 3),  # 36 h
            ("ValueThresholdBreached", at(3, 8), None, {}),
            changed("2", at(4, 9), 3, 4),  # overdue from day 4
            ("AlertReviewed", at(4, 15), None, {}),
        ],
    )
    days = {d["date"]: d for d in daily_figures(session, CHAIN_ID, 6, date(2026, 11, 6))}
    assert list(days) == [f"2026-11-0{n}" for n in range(1, 7)]
    assert days["2026-11-01"]["loans_applied"] == 2
    assert days["2026-11-01"]["overdue_rate"] is None  # nothing active yet
    assert days["2026-11-02"]["loans_activated"] == 2
    assert days["2026-11-02"]["processing_time_hours"] == 30.0
    assert days["2026-11-03"]["overdue_rate"] == 0
    assert days["2026-11-03"]["alerts_raised"] == 1
    assert days["2026-11-04"]["overdue_rate"] == 0.5
    assert days["2026-11-04"]["alerts_reviewed"] == 1
    # Days without events carry the last state forward.
    assert (days["2026-11-06"]["loans_active"], days["2026-11-06"]["loans_overdue"]) == (1, 1)


def test_the_window_starts_with_the_state_of_earlier_days(session: Session) -> None:
    add(
        session,
        [
            ("LoanApplied", at(1, 9), "1", {}),
            changed("1", at(1, 10), 1, 2),
            changed("1", at(1, 11), 2, 3),
        ],
    )
    days = daily_figures(session, CHAIN_ID, 2, date(2026, 11, 10))
    assert [d["date"] for d in days] == ["2026-11-09", "2026-11-10"]
    assert [d["loans_applied"] for d in days] == [0, 0]
    assert [d["loans_active"] for d in days] == [1, 1]


def test_an_empty_chain_gives_empty_days(session: Session) -> None:
    days = daily_figures(session, CHAIN_ID, 3, date(2026, 11, 6))
    assert [d["loans_applied"] + d["alerts_raised"] for d in days] == [0, 0, 0]
    assert {d["overdue_rate"] for d in days} == {None}
