"""`Idempotency-Key` on POSTs: a retried request returns the first answer, never acts twice.

The key (per API key) and the request's hash are recorded, committed, before the action
runs; a second request with that key waits for nothing: while the first is in progress it
gets 409, afterwards the stored answer. Answers below 500 are stored; after a 5xx (an
outage, nothing done) the record is removed so the retry acts.

After a crash. A record also names the boot (this process run, `BOOT_ID`) that claimed it.
A node runs one process per database (its transaction sender owns the key's nonce), so a
claim by another boot was left by a process that is gone (`kill -9`, a crash, a restart),
and so is a claim of this boot that no request of this process is running (its record
could not be released because the database failed). The next retry takes such a dead claim
over (one retry wins, atomically) and runs the route's `resume` action instead of its
action: the route finds what the interrupted run already did and finishes it or answers
from it, so the retry gets the answer the first run would have given (vehicles: the local
record written before the transaction, then the registration on-chain). A route without a
safe resumption answers 409 `IdempotencyKeyInterrupted`: the outcome is to be looked up,
and a new request sent with a new key if it did not happen.
"""

from __future__ import annotations

import enum
import hashlib
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from fastapi.responses import JSONResponse
from sqlalchemy import CursorResult, delete, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from node_api.api.errors import ApiError, answer_for, to_response
from node_api.api_keys import Principal
from node_api.models import IdempotencyRecord
from vcl.errors import VclError

MAX_KEY_LENGTH = 200
REPLAY_HEADER = "Idempotent-Replayed"
BOOT_ID = uuid.uuid4().hex  # this process run

Action = Callable[[], tuple[int, dict[str, Any]]]
RecordKey = tuple[str, str]  # (API key id, Idempotency-Key)

# The claims this process's requests are running right now.
_running: set[RecordKey] = set()
_running_lock = threading.Lock()


class _Claim(enum.Enum):
    NEW = "new"  # the first request with this key: run the action
    TAKEN_OVER = "taken over"  # a dead claim: run the resumption


def request_hash(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def run_idempotent(
    sessions: sessionmaker[Session],
    principal: Principal,
    key: str | None,
    fingerprint: str,
    action: Action,
    *,
    resume: Action | None = None,
) -> JSONResponse:
    """Run `action` once per (API key, `key`); errors of the node become answers here.
    `resume` finishes a run interrupted by a crash (see the module's docstring)."""
    if key is None:
        return _respond(action)
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            422, "InvalidIdempotencyKey", f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} chars"
        )
    record_key = (principal.key_id, key)
    with _running_lock:
        if record_key in _running:
            raise _in_progress()
        _running.add(record_key)
    try:
        claim = _claim(sessions, record_key, fingerprint, resumable=resume is not None)
        if isinstance(claim, JSONResponse):
            return claim
        run = action if claim is _Claim.NEW or resume is None else resume
        done = False
        try:
            status, content = _answer(run)
            if status < 500:
                _finish(sessions, record_key, status, content)
                done = True
        finally:
            if not done:
                _release(sessions, record_key)
        return to_response(status, content)
    finally:
        with _running_lock:
            _running.discard(record_key)


def _respond(action: Action) -> JSONResponse:
    status, content = action()
    return to_response(status, content)


def _answer(action: Action) -> tuple[int, dict[str, Any]]:
    try:
        return action()
    except (ApiError, VclError, OperationalError) as exc:
        return answer_for(exc)


def _in_progress() -> ApiError:
    return ApiError(409, "IdempotencyKeyInProgress", "a request with this key is running")


def _claim(
    sessions: sessionmaker[Session], record_key: RecordKey, fingerprint: str, *, resumable: bool
) -> _Claim | JSONResponse:
    """Record the key as in progress by this boot; or take over a dead claim; or the stored
    answer (or a 409) if the key was used."""
    key_id, key = record_key
    with sessions() as session:
        session.add(
            IdempotencyRecord(
                api_key_id=key_id,
                idempotency_key=key,
                request_hash=fingerprint,
                status_code=None,
                response=None,
                created_at=datetime.now(UTC),
                boot_id=BOOT_ID,
            )
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
        else:
            return _Claim.NEW
        record = session.get(IdempotencyRecord, record_key)
    if record is None:  # removed in between by a failed first attempt: the caller retries
        raise _in_progress()
    if record.request_hash != fingerprint:
        raise ApiError(
            409,
            "IdempotencyKeyReused",
            "this Idempotency-Key was used for a different request; use a new key",
        )
    if record.status_code is None or record.response is None:
        # Not running in this process (checked by the caller): its run is dead.
        if not resumable:
            raise ApiError(
                409,
                "IdempotencyKeyInterrupted",
                "the node stopped while the request with this key ran; look up whether it "
                "took effect, and if not send it again with a new Idempotency-Key",
            )
        if not _take_over(sessions, record_key, record.boot_id):
            raise _in_progress()
        return _Claim.TAKEN_OVER
    response = to_response(record.status_code, record.response)
    response.headers[REPLAY_HEADER] = "true"
    return response


def _take_over(sessions: sessionmaker[Session], record_key: RecordKey, dead: str | None) -> bool:
    """Move a dead in-progress claim to this boot; False if another retry moved it first."""
    key_id, key = record_key
    claimed_by = (
        IdempotencyRecord.boot_id.is_(None) if dead is None else IdempotencyRecord.boot_id == dead
    )
    statement = (
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.api_key_id == key_id,
            IdempotencyRecord.idempotency_key == key,
            IdempotencyRecord.status_code.is_(None),
            claimed_by,
        )
        .values(boot_id=BOOT_ID, created_at=datetime.now(UTC))
    )
    with sessions() as session:
        result = cast(CursorResult[Any], session.execute(statement))
        session.commit()
        return result.rowcount == 1


# The record is written and removed with one statement each, not loaded first: a write's
# every round trip to the database counts (docs/load-benchmark.md, "What a write costs").


def _finish(
    sessions: sessionmaker[Session], record_key: RecordKey, status: int, content: dict[str, Any]
) -> None:
    with sessions() as session:
        session.execute(
            update(IdempotencyRecord)
            .where(*_is(record_key))
            .values(status_code=status, response=content)
        )
        session.commit()


def _release(sessions: sessionmaker[Session], record_key: RecordKey) -> None:
    with sessions() as session:
        session.execute(delete(IdempotencyRecord).where(*_is(record_key)))
        session.commit()


def _is(record_key: RecordKey) -> tuple[Any, ...]:
    key_id, key = record_key
    return (IdempotencyRecord.api_key_id == key_id, IdempotencyRecord.idempotency_key == key)
