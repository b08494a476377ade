"""`vcl`: the operators' one command line, composed from each package's commands.

It lives outside the core package so that `vcl` never imports the oracle or the node
API; errors are one line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import httpx
import typer
from web3.exceptions import Web3Exception

from localnet.cli import localnet_app
from node_api.cli import node_app
from oracle.cli import app as oracle_app
from vcl.cli import chain_app, deploy
from vcl.errors import VclError
from vcl.logging_setup import setup_logging
from vcl_cli import upgrades  # noqa: F401  (registers `propose upgrade`, `verify-upgrade`)
from vcl_cli.audit import audit_app
from vcl_cli.governance import governance_app
from vcl_cli.vin_secret import vin_secret_app

app = typer.Typer(
    help="Vehicle-collateral consortium node.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.add_typer(chain_app, name="chain")
app.add_typer(oracle_app, name="oracle")
app.add_typer(node_app, name="node")
app.add_typer(audit_app, name="audit")
app.command()(deploy)
app.add_typer(governance_app, name="governance")
app.add_typer(localnet_app, name="localnet")
app.add_typer(vin_secret_app, name="vin-secret")


@app.callback()
def _logging(
    log_json: Annotated[
        bool, typer.Option("--log-json", help="Log JSON lines (also VCL_LOG_JSON=1).")
    ] = False,
) -> None:
    setup_logging(json_lines=True if log_json else None)


def main() -> None:
    try:
        app()
    except VclError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except (OSError, httpx.HTTPError, Web3Exception) as exc:  # a node or the chain went away
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
