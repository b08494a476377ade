"""The node API's FastAPI application.

`create_app` builds the app; its lifespan refuses an unmigrated database (the message
names `vcl node migrate`), connects the sender with the institution's key, opens the
document store and runs the indexer in a thread until shutdown. Routes are plain `def`:
web3, database and store calls block, so they run in the threadpool.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from node_api.api import errors, openapi
from node_api.api.routes import alerts, documents, health, loans, vehicles
from node_api.api.routes import audit as audit_routes
from node_api.api.routes import consortium as consortium_routes
from node_api.api.routes import dashboard as dashboard_routes
from node_api.config import NodeSettings
from node_api.runtime import NodeRuntime
from vcl.config import Settings


def create_app(settings: Settings, node_settings: NodeSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = NodeRuntime.start(settings, node_settings)
        app.state.runtime = runtime
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(
        title="Vehicle-collateral consortium node API",
        version="0.1.0",
        description="One institution's node: vehicles, documents and their verification. "
        "Money in integer minor units, times ISO 8601 UTC. "
        "Authorization: Bearer <API key> on every /v1 route.",
        lifespan=lifespan,
    )
    errors.install(app)
    openapi.install(app)
    app.include_router(health.router)
    app.include_router(vehicles.router)
    app.include_router(documents.router)
    app.include_router(loans.router)
    app.include_router(alerts.router)
    app.include_router(audit_routes.router)
    app.include_router(consortium_routes.router)
    app.include_router(dashboard_routes.router)

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        runtime: NodeRuntime | None = getattr(request.app.state, "runtime", None)
        if runtime is not None:
            runtime.metrics.observe_request(
                request.method,
                _route_template(request),
                response.status_code,
                time.perf_counter() - started,
            )
        return response

    return app


def _route_template(request: Request) -> str:
    """The route's path template (`/v1/vehicles/{vin}`): never the VIN itself in a label."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
