"""The node API's FastAPI application.

`create_app` builds the app; its lifespan refuses an unmigrated database (the message
names `vcl node migrate`), connects the sender with the institution's key, opens the
document store and runs the indexer in a thread until shutdown. Routes are plain `def`:
web3, database and store calls block, so they run in the threadpool.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node_api.api import errors, openapi
from node_api.api.admission import AdmissionLimit
from node_api.api.edge import EdgeLimits
from node_api.api.routes import alerts, documents, health, loans, vehicles
from node_api.api.routes import audit as audit_routes
from node_api.api.routes import consortium as consortium_routes
from node_api.api.routes import dashboard as dashboard_routes
from node_api.api.routes import portfolio as portfolio_routes
from node_api.config import NodeSettings
from node_api.runtime import NodeRuntime
from vcl.config import Settings, get_settings
from vcl.logging_setup import setup_logging


def app_from_environment() -> FastAPI:
    """The app of one worker process (`uvicorn --factory`): settings from `VCL_*`, as the
    process that started the workers read them."""
    setup_logging()
    return create_app(get_settings(), NodeSettings())


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
    app.include_router(portfolio_routes.router)

    # Innermost: requests the admission limit sheds never ask the database for their key.
    app.add_middleware(
        EdgeLimits,
        json_max_bytes=node_settings.max_json_bytes,
        upload_max_bytes=node_settings.max_upload_bytes,
    )
    app.add_middleware(AdmissionLimit)  # inside the metrics: shed requests are counted too
    app.add_middleware(RequestMetrics)
    return app


class RequestMetrics:
    """Counts and times every HTTP request by route template, as plain ASGI: Starlette's
    `BaseHTTPMiddleware` (`@app.middleware`) ran each request in an extra task behind memory
    streams, a measurable share of a cheap read's CPU (docs/api-benchmark.md)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, send_counted)
        runtime: NodeRuntime | None = getattr(scope["app"].state, "runtime", None)
        if runtime is not None:
            runtime.metrics.observe_request(
                scope["method"], _route_template(scope), status, time.perf_counter() - started
            )


def _route_template(scope: Scope) -> str:
    """The route's path template (`/v1/vehicles/{vin}`): never the VIN itself in a label."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
