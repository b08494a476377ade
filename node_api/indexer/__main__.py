"""`python -m node_api.indexer`: run the indexer alone until SIGTERM or Ctrl-C.

Settings come from the environment (`VCL_*` for chain, database and deployment record,
`VCL_NODE_*` for the indexer). The database must be migrated (`vcl node migrate`).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from node_api.config import NodeSettings
from node_api.db import check_migrated, make_engine
from node_api.indexer.indexer import Indexer
from vcl.config import get_settings
from vcl.errors import VclError


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        settings = get_settings()
        engine = make_engine(settings.database_url)
        check_migrated(engine)
        Indexer.from_settings(settings, NodeSettings(), engine).run_forever(stop)
    except VclError as exc:
        print(f"indexer: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
