"""Liveness, readiness (chain, database, store) and Prometheus metrics."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import make_url, text
from sqlalchemy.exc import SQLAlchemyError
from web3.exceptions import Web3Exception

from node_api.api.deps import RuntimeDep
from node_api.documents.errors import DocumentStoreError
from node_api.runtime import NodeRuntime

log = logging.getLogger(__name__)

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


# Each dependency's probe and the short, stable reason a failure is answered with. The
# exception's own text names hosts, ports and URLs (an RPC URL may carry credentials): it
# goes to the node's log, redacted, never into the answer of an unauthenticated endpoint.
PROBES: dict[str, tuple[Callable[[NodeRuntime], str], str]] = {
    "chain": (_chain, "chain unreachable"),
    "database": (_database, "database unavailable"),
    "store": (_store, "document store unavailable"),
}
PROBE_ERRORS = (OSError, Web3Exception, SQLAlchemyError, DocumentStoreError)

# `scheme://user:password@` in a URL, and `password=...` in a connection string.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")
_PASSWORD_PARAMETER = re.compile(r"(?i)(?P<key>password\s*=\s*)\S+")


def redacted(text: str, secrets: Sequence[str] = ()) -> str:
    """`text` without URL credentials, password parameters or any of `secrets`."""
    text = _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)
    text = _PASSWORD_PARAMETER.sub(r"\g<key>***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _secrets_of(runtime: NodeRuntime) -> list[str]:
    """The passwords of the node's own URLs, in case a library quotes one differently."""
    found = []
    for url in (runtime.settings.rpc_url, runtime.settings.ipfs_url):
        found.append(urlsplit(url).password or "")
    found.append(make_url(runtime.settings.database_url).password or "")
    return [str(secret) for secret in found]


@router.get("/readyz", responses={503: {"description": "a dependency does not answer"}})
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Chain, database and document store each answer within the readiness timeout. A
    failure is named by its dependency and a short reason (`chain unreachable`, ...); the
    detail is in the node's log."""
    timeout = runtime.node.readiness_timeout_s
    checks: dict[str, dict[str, Any]] = {}
    # Not `with`: leaving it would wait for a probe that hangs past the timeout.
    pool = ThreadPoolExecutor(max_workers=len(PROBES), thread_name_prefix="readyz")
    try:
        futures = {name: pool.submit(probe, runtime) for name, (probe, _) in PROBES.items()}
        for name, future in futures.items():
            reason = PROBES[name][1]
            try:
                checks[name] = {"ok": True, "detail": future.result(timeout=timeout)}
            except FutureTimeout:
                log.warning("readiness: %s gave no answer within %g s", name, timeout)
                checks[name] = {"ok": False, "detail": f"{reason}: no answer within {timeout:g} s"}
            except PROBE_ERRORS as exc:
                detail = redacted(f"{type(exc).__name__}: {exc}", _secrets_of(runtime))
                log.warning("readiness: %s failed: %s", name, detail)
                checks[name] = {"ok": False, "detail": reason}
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
