"""`Idempotency-Key` on POSTs: a retried request returns the first answer, never acts twice.

The key (per API key) and the request's hash are recorded, committed, before the action
runs; a second request with that key waits for nothing: while the first is in progress it
gets 409, afterwards the stored answer. Answers below 500 are stored; after a 5xx (an
outage, nothing done) the record is removed so the retry acts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from node_api.api.errors import ApiError, answer_for, to_response
from node_api.api_keys import Principal
from node_api.models import IdempotencyRecord
from vcl.errors import VclError

MAX_KEY_LENGTH = 200
REPLAY_HEADER = "Idempotent-Replayed"

Action = Callable[[], tuple[int, dict[str, Any]]]


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
) -> JSONResponse:
    """Run `action` once per (API key, `key`); errors of the node become answers here."""
    if key is None:
        return _respond(action)
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            422, "InvalidIdempotencyKey", f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} chars"
        )
    stored = _claim(sessions, principal.key_id, key, fingerprint)
    if stored is not None:
        return stored
    done = False
    try:
        status, content = _answer(action)
        if status < 500:
            _finish(sessions, principal.key_id, key, status, content)
            done = True
    finally:
        if not done:
            _release(sessions, principal.key_id, key)
    return to_response(status, content)


def _respond(action: Action) -> JSONResponse:
    status, content = action()
    return to_response(status, content)


def _answer(action: Action) -> tuple[int, dict[str, Any]]:
    try:
        return action()
    except (ApiError, VclError, OperationalError) as exc:
        return answer_for(exc)


def _claim(
    sessions: sessionmaker[Session], key_id: str, key: str, fingerprint: str
) -> JSONResponse | None:
    """Record the key as in progress; or the stored answer (or 409) if it was used."""
    with sessions() as session:
        session.add(
            IdempotencyRecord(
                api_key_id=key_id,
                idempotency_key=key,
                request_hash=fingerprint,
                status_code=None,
                response=None,
                created_at=datetime.now(UTC),
            )
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
        else:
            return None
        record = session.get(IdempotencyRecord, (key_id, key))
    if record is None:  # removed in between by a failed first attempt: the caller retries
        raise ApiError(409, "IdempotencyKeyInProgress", "a request with this key is running")
    if record.request_hash != fingerprint:
        raise ApiError(
            409,
            "IdempotencyKeyReused",
            "this Idempotency-Key was used for a different request; use a new key",
        )
    if record.status_code is None or record.response is None:
        raise ApiError(409, "IdempotencyKeyInProgress", "a request with this key is running")
    response = to_response(record.status_code, record.response)
    response.headers[REPLAY_HEADER] = "true"
    return response


def _finish(
    sessions: sessionmaker[Session], key_id: str, key: str, status: int, content: dict[str, Any]
) -> None:
    with sessions() as session:
        record = session.get(IdempotencyRecord, (key_id, key))
        if record is not None:
            record.status_code = status
            record.response = content
            session.commit()


def _release(sessions: sessionmaker[Session], key_id: str, key: str) -> None:
    with sessions() as session:
        record = session.get(IdempotencyRecord, (key_id, key))
        if record is not None:
            session.delete(record)
            session.commit()
