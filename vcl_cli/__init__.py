"""`vcl`: the operators' one command line, composed from each package's commands.

It lives outside the core package so that `vcl` never imports the oracle or the node
API; errors are one line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from node_api.cli import node_app
from oracle.cli import app as oracle_app
from vcl.cli import chain_app, deploy
from vcl.errors import VclError
from vcl_cli.audit import audit_app

app = typer.Typer(
    help="Vehicle-collateral consortium node.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.add_typer(chain_app, name="chain")
app.add_typer(oracle_app, name="oracle")
app.add_typer(node_app, name="node")
app.add_typer(audit_app, name="audit")
app.command()(deploy)


def main() -> None:
    try:
        app()
    except VclError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
