"""A node at its limit of requests in flight answers the next one at once with 503, the one
error body and Retry-After; its health and metrics endpoints still answer; and once a request
finishes, the next is taken again (`node_api.api.admission`)."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from node_api.api.admission import AdmissionLimit

LIMIT = 2


def _app(release: asyncio.Event, started: asyncio.Queue[None]) -> AdmissionLimit:
    async def slow(_request: Request) -> JSONResponse:
        started.put_nowait(None)
        await release.wait()
        return JSONResponse({"done": True})

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    routes = [Route("/v1/slow", slow), Route("/healthz", healthz)]
    return AdmissionLimit(Starlette(routes=routes), limit=LIMIT)


async def _scenario() -> None:
    release, started = asyncio.Event(), asyncio.Queue[None]()
    transport = httpx.ASGITransport(app=_app(release, started))
    async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
        busy = [asyncio.create_task(client.get("/v1/slow")) for _ in range(LIMIT)]
        for _ in range(LIMIT):
            await asyncio.wait_for(started.get(), 5)

        refused = await asyncio.wait_for(client.get("/v1/slow"), 5)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        body = refused.json()
        assert body["error"] == "NodeOverloaded"
        assert str(LIMIT) in body["message"]
        assert body["details"] == {"limit": LIMIT, "retry_after_s": 1}

        assert (await asyncio.wait_for(client.get("/healthz"), 5)).status_code == 200

        release.set()
        assert [(await task).status_code for task in busy] == [200] * LIMIT
        assert (await client.get("/v1/slow")).status_code == 200


def test_past_the_limit_a_request_is_refused_at_once_and_health_still_answers() -> None:
    asyncio.run(_scenario())
