"""Run the node API with uvicorn: `python -m node_api --port 8000` or `vcl node serve`.

Access logs are off: request paths carry VINs, which are never logged.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import uvicorn

from node_api.api.admission import MAX_REQUESTS_IN_FLIGHT
from node_api.app import create_app
from node_api.config import NodeSettings
from node_api.db import check_migrated, make_engine
from vcl.config import Settings
from vcl.logging_setup import setup_logging

log = logging.getLogger(__name__)

# Connections and requests uvicorn admits at once, a backstop well above the requests the
# node itself works on (`node_api.api.admission`, which answers the excess with the error
# body); past it uvicorn answers a plain-text 503.
MAX_CONNECTIONS = 4 * MAX_REQUESTS_IN_FLIGHT
# libuv's event loop and the C HTTP parser: about 0.4 ms less CPU per request than asyncio's
# loop with h11, a third of `/healthz` (docs/api-benchmark.md); the answers are the same.
EVENT_LOOP = "uvloop"
HTTP_PARSER = "httptools"


# Where workers coordinate (VCL_LOCK_DIR) when the settings name no place.
DEFAULT_LOCK_DIR = Path("var/locks")


def serve(settings: Settings, node_settings: NodeSettings, host: str, port: int) -> None:
    """Checks the database first, so an unmigrated one is one line, not a traceback.

    With `VCL_NODE_WORKERS` > 1, uvicorn starts that many processes, each building its app
    from the environment (`app_from_environment`): they share the key's nonces through
    `VCL_LOCK_DIR` and one of them indexes (`node_api.indexer.leader`). Counters at
    `/metrics` are those of the worker that answers."""
    setup_logging()
    engine = make_engine(settings.database_url)
    try:
        check_migrated(engine)
    finally:
        engine.dispose()
    workers = node_settings.workers
    app: Any
    if workers == 1:
        app = create_app(settings, node_settings)
    else:
        if settings.lock_dir is None:
            os.environ["VCL_LOCK_DIR"] = str(DEFAULT_LOCK_DIR.resolve())
        log.info("starting %d workers; lock directory %s", workers, os.environ["VCL_LOCK_DIR"])
        app = "node_api.app:app_from_environment"
    uvicorn.run(
        app,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        access_log=False,
        limit_concurrency=MAX_CONNECTIONS,
        loop=EVENT_LOOP,
        http=HTTP_PARSER,
        log_level="info",
        log_config=None,  # keep the process's logging set-up (JSON lines with VCL_LOG_JSON)
    )
