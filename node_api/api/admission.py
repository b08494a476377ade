"""Requests a node works on at once; past the limit it answers 503 at once, with the one error
body and `Retry-After`, instead of queueing work that holds database connections (the pools of
node_api/db.py are sized above the limit, so the indexer always gets one) and outlives the
clients that gave up on it. The health and metrics endpoints are always answered, so an
overloaded node can still be watched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from node_api.api.errors import to_response

MAX_REQUESTS_IN_FLIGHT = 64
ALWAYS_ANSWERED = frozenset({"/healthz", "/readyz", "/metrics"})
RETRY_AFTER_S = 1


class AdmissionLimit:
    """Plain ASGI; one event loop per process, so a counter needs no lock."""

    def __init__(self, app: ASGIApp, limit: int = MAX_REQUESTS_IN_FLIGHT) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ALWAYS_ANSWERED:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            body = {
                "error": "NodeOverloaded",
                "message": f"the node is already working on {self.limit} requests; retry shortly",
                "details": {"limit": self.limit, "retry_after_s": RETRY_AFTER_S},
            }
            response = to_response(503, body)
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            await response(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
