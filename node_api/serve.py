"""Run the node API with uvicorn: `python -m node_api --port 8000` or `vcl node serve`.

Access logs are off: request paths carry VINs, which are never logged.
"""

from __future__ import annotations

import uvicorn

from node_api.api.admission import MAX_REQUESTS_IN_FLIGHT
from node_api.app import create_app
from node_api.config import NodeSettings
from node_api.db import check_migrated, make_engine
from vcl.config import Settings
from vcl.logging_setup import setup_logging

# Connections and requests uvicorn admits at once, a backstop well above the requests the
# node itself works on (`node_api.api.admission`, which answers the excess with the error
# body); past it uvicorn answers a plain-text 503.
MAX_CONNECTIONS = 4 * MAX_REQUESTS_IN_FLIGHT
# libuv's event loop and the C HTTP parser: about 0.4 ms less CPU per request than asyncio's
# loop with h11, a third of `/healthz` (docs/api-benchmark.md); the answers are the same.
EVENT_LOOP = "uvloop"
HTTP_PARSER = "httptools"


def serve(settings: Settings, node_settings: NodeSettings, host: str, port: int) -> None:
    """Checks the database first, so an unmigrated one is one line, not a traceback."""
    setup_logging()
    engine = make_engine(settings.database_url)
    try:
        check_migrated(engine)
    finally:
        engine.dispose()
    uvicorn.run(
        create_app(settings, node_settings),
        host=host,
        port=port,
        access_log=False,
        limit_concurrency=MAX_CONNECTIONS,
        loop=EVENT_LOOP,
        http=HTTP_PARSER,
        log_level="info",
        log_config=None,  # keep the process's logging set-up (JSON lines with VCL_LOG_JSON)
    )
