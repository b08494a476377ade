"""Dependencies of the routes: the node runtime, a database session per request, the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from node_api.api.errors import ApiError
from node_api.api_keys import WRITE_ROLES, Principal, authenticate
from node_api.runtime import NodeRuntime


def get_runtime(request: Request) -> NodeRuntime:
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


def writer(principal: PrincipalDep) -> Principal:
    """An officer or admin; 403 for a reviewer or an auditor."""
    if principal.role not in WRITE_ROLES:
        allowed = ", ".join(sorted(WRITE_ROLES))
        raise ApiError(
            403,
            "Forbidden",
            f"role {principal.role.value} may not write (needs one of: {allowed})",
            {"role": principal.role.value},
        )
    return principal


WriterDep = Annotated[Principal, Depends(writer)]
