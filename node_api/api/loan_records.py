"""This node's own record of its loans: the borrower reference behind each on-chain commitment.

The reference is written as pending, keyed by the commitment, before the application is
sent, so that no loan reaches the chain without it. Once the loan id is known it is bound:
moved to `local_loans` under that id. The receipt usually binds it at once; if the database
fails at that moment, the pending record waits and is bound later from the chain's loan
(`GET /v1/loans/{id}`) or from the indexed `LoanApplied` event (`GET /v1/loans`), which
carries the same commitment and this node's address as the bank.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from node_api.models import ChainEvent, LocalLoan, PendingLoan

log = logging.getLogger(__name__)


def write_pending(
    sessions: sessionmaker[Session],
    *,
    commitment: str,
    vehicle_id: str,
    borrower_ref: str,
    salt: str,
) -> None:
    """Committed before the transaction is sent: if the database is down, nothing is sent."""
    with sessions() as session:
        session.add(
            PendingLoan(
                borrower_commitment=commitment,
                vehicle_id=vehicle_id,
                borrower_ref=borrower_ref,
                borrower_salt=salt,
                created_at=datetime.now(UTC),
            )
        )
        session.commit()


def drop_pending(sessions: sessionmaker[Session], commitment: str) -> None:
    """The application was refused by the contract: no loan will ever carry this commitment."""
    with sessions() as session:
        row = session.get(PendingLoan, commitment)
        if row is not None:
            session.delete(row)
            session.commit()


def bind(session: Session, loan_id: str, commitment: str) -> LocalLoan | None:
    """Move the pending record of `commitment` to `local_loans` as `loan_id` (not committed)."""
    pending = session.get(PendingLoan, commitment)
    if pending is None:
        return None
    local = session.get(LocalLoan, loan_id)
    if local is None:
        local = LocalLoan(
            loan_id=loan_id,
            vehicle_id=pending.vehicle_id,
            borrower_ref=pending.borrower_ref,
            borrower_salt=pending.borrower_salt,
            borrower_commitment=commitment,
            created_at=pending.created_at,
        )
        session.add(local)
    session.delete(pending)
    return local


def bind_now(sessions: sessionmaker[Session], loan_id: str, commitment: str) -> bool:
    """Bind right after the receipt; False (logged) if the database fails: the pending
    record stays and a later read binds it."""
    try:
        with sessions() as session:
            bind(session, loan_id, commitment)
            session.commit()
    except SQLAlchemyError as exc:
        log.warning(
            "loan %s: the borrower reference stays pending until the loan is read again: %s",
            loan_id,
            type(exc).__name__,
        )
        return False
    return True


def bind_indexed(session: Session, chain_id: int, bank: str) -> int:
    """Bind every pending record whose `LoanApplied` event (by this node's bank) is indexed;
    returns how many. A database failure here leaves them pending for the next read."""
    try:
        pending = session.scalars(select(PendingLoan.borrower_commitment)).all()
        if not pending:
            return 0
        applied = session.execute(
            select(ChainEvent.loan_id, ChainEvent.args["borrowerCommitment"].as_string()).where(
                ChainEvent.chain_id == chain_id,
                ChainEvent.event_name == "LoanApplied",
                ChainEvent.args["bank"].as_string() == bank,
                ChainEvent.args["borrowerCommitment"].as_string().in_(pending),
            )
        ).tuples()
        bound = 0
        for loan_id, commitment in applied:
            if loan_id is not None and bind(session, loan_id, commitment) is not None:
                bound += 1
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning("pending borrower references not bound yet: %s", type(exc).__name__)
        return 0
    return bound


def borrower_refs(session: Session, loan_ids: list[str]) -> dict[str, str]:
    rows = select(LocalLoan.loan_id, LocalLoan.borrower_ref).where(LocalLoan.loan_id.in_(loan_ids))
    return {loan_id: ref for loan_id, ref in session.execute(rows).tuples()}
