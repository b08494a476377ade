"""API keys: one per person of the institution, with a role; only a hash is stored.

A key is shown once, when created: `vcl_<key id>_<secret>`. The database keeps the
sha256 of the whole token (a random 32-byte secret needs no slow hash), so a copy of
the database does not let anyone call the API. Keys are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from node_api.models import ApiKey
from vcl.errors import VclError

TOKEN_PREFIX = "vcl_"  # noqa: S105 - a prefix, not a secret


class Role(StrEnum):
    OFFICER = "officer"  # registers vehicles, uploads documents, runs loans
    REVIEWER = "reviewer"  # reviews value alerts
    AUDITOR = "auditor"  # reads only
    ADMIN = "admin"  # everything an officer does
    # Another member's node: fetches document envelopes (encrypted bytes) and nothing else.
    # A node holding it must not read this bank's VINs, owners or borrowers.
    PEER = "peer"


WRITE_ROLES = frozenset({Role.OFFICER, Role.ADMIN})
REVIEW_ROLES = frozenset({Role.REVIEWER, Role.ADMIN})
# This institution's people: every role but `peer`. The default of every route.
STAFF_ROLES = frozenset(Role) - {Role.PEER}
# Who may fetch a stored envelope: staff and other members' nodes.
ENVELOPE_ROLES = frozenset(Role)


class ApiKeyError(VclError):
    """An API key cannot be created or revoked as asked."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id (never the token), its role and person."""

    key_id: str
    role: Role
    person_ref: str


@dataclass(frozen=True)
class CreatedKey:
    key_id: str
    token: str  # shown once; not stored
    role: Role
    person_ref: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(session: Session, role: Role, person_ref: str) -> CreatedKey:
    person_ref = person_ref.strip()
    if not person_ref or len(person_ref) > 128:
        raise ApiKeyError("a key needs a person reference of 1 to 128 characters")
    key_id = secrets.token_hex(8)
    token = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    session.add(
        ApiKey(
            id=key_id,
            key_hash=token_hash(token),
            role=role.value,
            person_ref=person_ref,
            created_at=datetime.now(UTC),
            revoked_at=None,
        )
    )
    session.commit()
    return CreatedKey(key_id, token, role, person_ref)


def revoke_key(session: Session, key_id: str) -> None:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise ApiKeyError(f"no API key with id {key_id}")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        session.commit()


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


# Built once: every request runs it. Plain columns, not an ORM object: nothing is changed.
_KEY_BY_HASH = select(
    ApiKey.id, ApiKey.role, ApiKey.person_ref, ApiKey.revoked_at, ApiKey.key_hash
).where(ApiKey.key_hash == bindparam("digest"))


def authenticate(session: Session, token: str) -> Principal | None:
    """The holder of `token`, or None for an unknown or revoked key. Read from the database
    on every request, not cached: `vcl node keys revoke` (another process) takes effect on
    the next request."""
    digest = token_hash(token)
    key = session.execute(_KEY_BY_HASH, {"digest": digest}).first()
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.key_hash, digest):
        return None
    return Principal(key.id, Role(key.role), key.person_ref)
