"""Dependencies of the routes: the node runtime, a database session per request, the caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from node_api.api.errors import ApiError
from node_api.api_keys import REVIEW_ROLES, WRITE_ROLES, Principal, Role, authenticate
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


def current_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The key holder of `Authorization: Bearer <key>`; 401 without a valid key."""
    token = "" if credentials is None else credentials.credentials.strip()
    if not token:
        raise ApiError(401, "Unauthenticated", "send an API key: Authorization: Bearer <key>")
    principal = authenticate(session, token)
    if principal is None:
        raise ApiError(401, "Unauthenticated", "the API key is unknown or revoked")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_role(roles: frozenset[Role], action: str) -> Callable[[Principal], Principal]:
    """A dependency letting through only `roles`; 403 naming the roles that may `action`."""

    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            allowed = ", ".join(sorted(roles))
            raise ApiError(
                403,
                "Forbidden",
                f"role {principal.role.value} may not {action} (needs one of: {allowed})",
                {"role": principal.role.value},
            )
        return principal

    return check


# An officer or admin writes; a reviewer or an auditor gets 403.
writer = require_role(WRITE_ROLES, "write")
# A reviewer or admin reviews alerts; an officer or an auditor gets 403.
reviewer = require_role(REVIEW_ROLES, "review alerts")


WriterDep = Annotated[Principal, Depends(writer)]
ReviewerDep = Annotated[Principal, Depends(reviewer)]


# Paging of every list: the same bounds everywhere. The offset's bound is far beyond any
# list and inside every backend's OFFSET type (PostgreSQL's is a bigint).
MAX_PAGE = 200
MAX_OFFSET = 10**9
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"items per page, 1..{MAX_PAGE}")]
PageOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items skipped")]
