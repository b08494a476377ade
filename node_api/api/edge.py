"""The edge of the node: who may send a body, and how large, decided before a byte of it is
read.

FastAPI reads (and spools to disk: a multipart upload past 1 MiB) a request's body before it
runs the route's dependencies, so the API key check of a dependency comes after the upload
is on disk. This plain ASGI middleware runs before that, on the route the router will pick:

- a route that takes a body and needs a key: the key is checked (the same `authenticate`,
  against the database) and the role against the route's `RoleCheck`: 401 or 403 at once,
  the body never read;
- every request: a `Content-Length` above the route's limit is 413 at once; a body sent
  without one (chunked) is counted as it arrives and refused with 413 at the limit.

The limits are settings (`VCL_NODE_MAX_JSON_BYTES`; multipart uploads follow
`VCL_NODE_MAX_UPLOAD_BYTES`). The body of every refusal is the node's one error body.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette._utils import get_route_path
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node_api.api.deps import PRINCIPAL_SCOPE_KEY, RoleCheck, bearer_token, principal_of, refusal
from node_api.api.errors import ApiError, BodyTooLarge, answer_for, to_response
from node_api.api_keys import Principal
from node_api.runtime import NodeRuntime
from vcl.errors import VclError

# A multipart upload carries the document and, pre-signed, its envelope (the document plus
# the envelope's overhead: `routes.documents.ENVELOPE_SLACK`), with the form's small fields
# and the multipart framing: this much on top of twice the document limit.
MULTIPART_SLACK = 64 * 1024


@dataclass(frozen=True)
class RouteNeeds:
    """What a route asks of a request before its body: its role checks (none: no key
    needed), whether it takes a body, and whether that body is a multipart form."""

    checks: tuple[RoleCheck, ...]
    takes_body: bool
    multipart: bool


NO_ROUTE = RouteNeeds((), takes_body=False, multipart=False)
Refusal = ApiError | BodyTooLarge | VclError | OperationalError | PoolTimeout


@dataclass(frozen=True)
class KnownRoute:
    """One API route as the router matches it, with what it needs."""

    path: str  # the template, for the metrics' label
    path_regex: re.Pattern[str]
    methods: frozenset[str]
    route: APIRoute
    needs: RouteNeeds


def known_routes(routes: Sequence[BaseRoute]) -> list[KnownRoute]:
    """Every API route of the app, in the router's order, included routers flattened (the
    effective route carries the dependencies of every level of inclusion)."""
    known = []
    for context in iter_route_contexts(routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        dependant = getattr(context, "dependant", None) or route.dependant
        body = getattr(context, "body_field", route.body_field)
        multipart = body is not None and isinstance(body.field_info, params.Form)  # File too
        needs = RouteNeeds(tuple(_role_checks(dependant)), body is not None, multipart)
        known.append(
            KnownRoute(
                path=context.path or route.path,
                path_regex=context.path_regex,
                methods=frozenset(context.methods or ()),
                route=route,
                needs=needs,
            )
        )
    return known


def _role_checks(dependant: Dependant) -> list[RoleCheck]:
    found = [dependant.call] if isinstance(dependant.call, RoleCheck) else []
    for sub in dependant.dependencies:
        found.extend(_role_checks(sub))
    return found


def _authenticate(runtime: NodeRuntime, token: str) -> Principal:
    with runtime.sessions() as session:
        return principal_of(session, token)


class EdgeLimits:
    """Plain ASGI (not `BaseHTTPMiddleware`): it answers before the body is read and wraps
    `receive` to count what does arrive."""

    def __init__(self, app: ASGIApp, *, json_max_bytes: int, upload_max_bytes: int) -> None:
        self.app = app
        self.json_max_bytes = json_max_bytes
        self.multipart_max_bytes = 2 * upload_max_bytes + MULTIPART_SLACK
        self._routes: list[KnownRoute] | None = None

    def _route(self, scope: Scope) -> KnownRoute | None:
        """The API route the router will run: the same path and method matching, in the
        same order (the routes are read once, at the first request: all are included)."""
        if self._routes is None:
            self._routes = known_routes(scope["app"].router.routes)
        path = get_route_path(scope)
        for known in self._routes:
            if scope["method"] in known.methods and known.path_regex.fullmatch(path):
                return known
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if _without_body(headers):  # most requests (every GET): nothing to check or count
            await self.app(scope, receive, send)
            return
        route = self._route(scope)
        needs = NO_ROUTE if route is None else route.needs
        if needs.multipart:
            limit, setting = self.multipart_max_bytes, "VCL_NODE_MAX_UPLOAD_BYTES"
        else:
            limit, setting = self.json_max_bytes, "VCL_NODE_MAX_JSON_BYTES"
        refused: Refusal | None = None
        if needs.takes_body and needs.checks:
            refused = await self._check_key(scope, headers, needs.checks)
        if refused is None:
            refused = _declared_too_large(headers, limit, setting)
        if refused is not None:
            await self._refuse(scope, receive, send, route, refused)
            return
        received = 0

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the route's body read: FastAPI passes an HTTPException
                    # on, and errors.py answers it with 413 and the one error body.
                    raise BodyTooLarge(limit, setting)
            return message

        await self.app(scope, receive_counted, send)

    async def _check_key(
        self, scope: Scope, headers: Headers, checks: tuple[RoleCheck, ...]
    ) -> Refusal | None:
        runtime: NodeRuntime | None = getattr(scope["app"].state, "runtime", None)
        if runtime is None:  # not started: the route's own dependency answers
            return None
        token = bearer_token(headers.get("authorization"))
        try:
            principal = await run_in_threadpool(_authenticate, runtime, token)
        except (ApiError, VclError, OperationalError, PoolTimeout) as exc:
            return exc
        scope[PRINCIPAL_SCOPE_KEY] = principal
        for check in checks:  # the same 403 as the route's own dependency would answer
            refused = refusal(principal, check.roles, check.action)
            if refused is not None:
                return refused
        return None

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: KnownRoute | None,
        error: Refusal,
    ) -> None:
        if route is not None:
            scope["route"] = route.route  # the metrics label the refusal with its template
        if isinstance(error, BodyTooLarge):
            status, content = 413, error.content()
        else:
            status, content = answer_for(error)
        response = to_response(status, content)
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        await response(scope, receive, send)


def _without_body(headers: Headers) -> bool:
    """HTTP/1.1 frames a request body by `Content-Length` or `Transfer-Encoding` only."""
    length = headers.get("content-length")
    return "transfer-encoding" not in headers and (length is None or length.strip() == "0")


def _declared_too_large(headers: Headers, limit: int, setting: str) -> BodyTooLarge | None:
    declared = headers.get("content-length")
    if (
        declared is not None
        and declared.strip().isascii()
        and declared.strip().isdigit()
        and int(declared) > limit
    ):
        return BodyTooLarge(limit, setting, declared=int(declared))
    return None
