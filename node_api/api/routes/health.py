"""Liveness, readiness (chain, database, store) and Prometheus metrics."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from web3.exceptions import Web3Exception

from node_api.api.deps import RuntimeDep
from node_api.documents.errors import DocumentStoreError
from node_api.runtime import NodeRuntime

router = APIRouter(tags=["health"])

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers (no dependency is asked)."""
    return {"status": "ok"}


def _chain(runtime: NodeRuntime) -> str:
    return f"block {runtime.sender.w3.eth.block_number}"


def _database(runtime: NodeRuntime) -> str:
    with runtime.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return "answers"


def _store(runtime: NodeRuntime) -> str:
    return runtime.store.version()


@router.get("/readyz", responses={503: {"description": "a dependency does not answer"}})
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Chain, database and document store each answer within the readiness timeout."""
    probes = {"chain": _chain, "database": _database, "store": _store}
    timeout = runtime.node.readiness_timeout_s
    checks: dict[str, dict[str, Any]] = {}
    # Not `with`: leaving it would wait for a probe that hangs past the timeout.
    pool = ThreadPoolExecutor(max_workers=len(probes), thread_name_prefix="readyz")
    try:
        futures = {name: pool.submit(probe, runtime) for name, probe in probes.items()}
        for name, future in futures.items():
            try:
                checks[name] = {"ok": True, "detail": future.result(timeout=timeout)}
            except FutureTimeout:
                checks[name] = {"ok": False, "detail": f"no answer within {timeout:g} s"}
            except (OSError, Web3Exception, SQLAlchemyError, DocumentStoreError) as exc:
                checks[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    failing = [name for name, check in checks.items() if not check["ok"]]
    status = 503 if failing else 200
    content = {"status": "unavailable" if failing else "ready", "failing": failing, **checks}
    return JSONResponse(status_code=status, content=content)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(runtime: RuntimeDep) -> PlainTextResponse:
    """Prometheus text format: request counts and latency per route, indexer lag,
    transactions sent and failed, verification results."""
    return PlainTextResponse(
        runtime.metrics.render(runtime.indexer.metrics), media_type=PROMETHEUS_TEXT
    )
