"""`python -m node_api [--host H] [--port N]`: serve the node API (settings from `VCL_*`,
`VCL_NODE_*`)."""

from __future__ import annotations

import argparse
import sys

from node_api.config import NodeSettings
from node_api.serve import serve
from vcl.config import get_settings
from vcl.errors import VclError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node_api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    try:
        serve(get_settings(), NodeSettings(), args.host, args.port)
    except VclError as exc:
        print(f"node api: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
