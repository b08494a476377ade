"""`vcl localnet up`: the command behind `make run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from localnet.launcher import Options, up
from localnet.layout import DEFAULT_BASE_PORT, DEFAULT_STATE_DIR, Layout
from vcl.logging_setup import json_requested, setup_logging

localnet_app = typer.Typer(help="The whole local consortium on this machine.", no_args_is_help=True)


@localnet_app.command("up")
def up_command(  # noqa: PLR0917 - typer maps each option to a parameter
    fresh: Annotated[
        bool, typer.Option(help="Forget the previous chain, databases and demo data first.")
    ] = False,
    state_dir: Annotated[
        Path, typer.Option(help="Where chain state, databases, documents and logs live.")
    ] = DEFAULT_STATE_DIR,
    base_port: Annotated[
        int,
        typer.Option(
            help="Chain RPC port; the nodes use the next four, the oracle's metrics the fifth."
        ),
    ] = DEFAULT_BASE_PORT,
    vehicles: Annotated[
        int,
        typer.Option(help="Sample fleet size (when the fleet is first made).", min=10),
    ] = 200,
    oracle_interval: Annotated[
        float, typer.Option(help="Seconds between the oracle's pushes.", min=0.5)
    ] = 5.0,
    log_json: Annotated[bool, typer.Option("--log-json", help="JSON log lines.")] = False,
) -> None:
    """Start chain, node APIs, oracle and demo data; Ctrl-C stops every process."""
    log_json = log_json or json_requested()
    setup_logging(json_lines=log_json)
    options = Options(
        layout=Layout(state_dir.resolve(), base_port),
        fresh=fresh,
        vehicles=vehicles,
        oracle_interval_s=oracle_interval,
        log_json=log_json,
    )
    raise typer.Exit(up(options))
