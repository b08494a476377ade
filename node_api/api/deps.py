"""Dependencies of the routes: the node runtime, a database session per request, the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from node_api.api.errors import ApiError
from node_api.api_keys import (
    ENVELOPE_ROLES,
    REVIEW_ROLES,
    STAFF_ROLES,
    WRITE_ROLES,
    Principal,
    Role,
    authenticate,
)
from node_api.runtime import NodeRuntime


async def get_runtime(request: Request) -> NodeRuntime:
    """`async`: no I/O here, and a plain `def` would cost a worker-thread hop per request."""
    runtime: NodeRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[NodeRuntime, Depends(get_runtime)]


def get_db(runtime: RuntimeDep) -> Iterator[Session]:
    with runtime.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]


# Declares the scheme in OpenAPI (/docs); the answer for a missing key is ours (401).
bearer = HTTPBearer(auto_error=False, description="An API key from `vcl node keys create`")

# Where the edge (node_api.api.edge) leaves the key holder it already checked, before the
# body was read: the route's dependencies then do not ask the database a second time.
PRINCIPAL_SCOPE_KEY = "vcl.principal"


def bearer_token(authorization: str | None) -> str:
    """The token of `Authorization: Bearer <token>` ("" if absent or another scheme), read
    the way `HTTPBearer` reads it."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def principal_of(session: Session, token: str) -> Principal:
    """The holder of a valid key; 401 (ApiError) without one."""
    if not token:
        raise ApiError(401, "Unauthenticated", "send an API key: Authorization: Bearer <key>")
    principal = authenticate(session, token)
    if principal is None:
        raise ApiError(401, "Unauthenticated", "the API key is unknown or revoked")
    return principal


def any_key(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The key holder of `Authorization: Bearer <key>`, of any role; 401 without a valid
    key. Routes never take this directly: they take a `RoleCheck`, so a route nobody
    classified is closed to `peer` keys."""
    checked = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if isinstance(checked, Principal):
        return checked
    return principal_of(session, "" if credentials is None else credentials.credentials.strip())


AnyKeyDep = Annotated[Principal, Depends(any_key)]


def refusal(principal: Principal, roles: frozenset[Role], action: str) -> ApiError | None:
    """The 403 for a role outside `roles`, naming the roles that may `action`."""
    if principal.role in roles:
        return None
    allowed = ", ".join(sorted(roles))
    return ApiError(
        403,
        "Forbidden",
        f"role {principal.role.value} may not {action} (needs one of: {allowed})",
        {"role": principal.role.value},
    )


class RoleCheck:
    """A dependency letting through only `roles`. A class, not a closure: the edge finds
    the roles of a route among its dependencies and refuses a caller before reading the
    body (node_api.api.edge)."""

    def __init__(self, roles: frozenset[Role], action: str) -> None:
        self.roles = roles
        self.action = action

    def __call__(self, principal: AnyKeyDep) -> Principal:
        error = refusal(principal, self.roles, self.action)
        if error is not None:
            raise error
        return principal


# The default of every /v1 route: this institution's people; a peer node's key gets 403.
staff = RoleCheck(STAFF_ROLES, "read or change this node's data")
# An officer or admin writes; a reviewer, an auditor or a peer gets 403.
writer = RoleCheck(WRITE_ROLES, "write")
# A reviewer or admin reviews alerts; an officer, an auditor or a peer gets 403.
reviewer = RoleCheck(REVIEW_ROLES, "review alerts")
# Stored envelopes (encrypted bytes): staff and other members' nodes (`peer` keys).
envelope_reader = RoleCheck(ENVELOPE_ROLES, "fetch document envelopes")


PrincipalDep = Annotated[Principal, Depends(staff)]
WriterDep = Annotated[Principal, Depends(writer)]
ReviewerDep = Annotated[Principal, Depends(reviewer)]
EnvelopeReaderDep = Annotated[Principal, Depends(envelope_reader)]


# Paging of every list: the same bounds everywhere. The offset's bound is far beyond any
# list and inside every backend's OFFSET type (PostgreSQL's is a bigint).
MAX_PAGE = 200
MAX_OFFSET = 10**9
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"items per page, 1..{MAX_PAGE}")]
PageOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items skipped")]
