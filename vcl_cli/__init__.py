"""`vcl`: the operators' one command line, composed from each package's commands.

It lives outside the core package so that `vcl` never imports the oracle or the node
API; errors are one line and a non-zero exit, never a traceback.

Each group is imported when it is used, not before: `vcl --help` and `vcl oracle ...` do not
pay for importing the node API, web3 and FastAPI they do not need (README, "Command line").
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Any

import typer
import typer.core
import typer.main

from vcl.errors import VclError
from vcl.logging_setup import setup_logging

# name -> (module, attribute, one-line help shown before the module is imported). A module
# in `also` is imported first: it adds commands to the group (`vcl_cli.upgrades`).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "chain": ("vcl.cli", "chain_app", "The local development chain."),
    "oracle": ("oracle.cli", "app", "The condition oracle: scores, signed reports, transmission."),
    "node": ("node_api.cli", "node_app", "This institution's node API."),
    "audit": ("vcl_cli.audit", "audit_app", "Audit trail from a node API: histories and exports."),
    "deploy": ("vcl.cli", "deploy", "Deploy the contracts to the configured chain."),
    "governance": (
        "vcl_cli.governance",
        "governance_app",
        "Consortium governance: proposals, votes, execution.",
    ),
    "localnet": ("localnet.cli", "localnet_app", "The whole local consortium on this machine."),
    "vin-secret": (
        "vcl_cli.vin_secret",
        "vin_secret_app",
        "The consortium's VIN secret: rotate it, import a rotated one, show which is current.",
    ),
}
ALSO_IMPORT = {"governance": "vcl_cli.upgrades"}


def load_command(name: str) -> Any:
    """The click command of group or command `name`, importing its module now."""
    module_name, attribute, _ = COMMANDS[name]
    if name in ALSO_IMPORT:
        importlib.import_module(ALSO_IMPORT[name])
    found = getattr(importlib.import_module(module_name), attribute)
    if isinstance(found, typer.Typer):
        return typer.main.get_group(found)  # a group even with one command (`vcl chain up`)
    single = typer.Typer()
    single.command(name)(found)
    return typer.main.get_command(single)


class LazyCommand(typer.core.TyperCommand):
    """Stands for a command in `vcl --help` with its one-line help; used, it is the real one."""

    def __init__(self, name: str, help_text: str) -> None:
        super().__init__(name, help=help_text, short_help=help_text)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        return load_command(self.name or "").make_context(info_name, args, parent=parent, **extra)


class LazyGroup(typer.core.TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS:
            return LazyCommand(cmd_name, COMMANDS[cmd_name][2])
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    help="Vehicle-collateral consortium node.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)


@app.callback()
def _logging(
    log_json: Annotated[
        bool, typer.Option("--log-json", help="Log JSON lines (also VCL_LOG_JSON=1).")
    ] = False,
) -> None:
    setup_logging(json_lines=True if log_json else None)


def is_outage(exc: BaseException) -> bool:
    """A node or the chain went away: asked only after something failed, so the check
    imports nothing a command that ran did not import already."""
    if isinstance(exc, OSError):
        return True
    httpx = sys.modules.get("httpx")
    web3_exceptions = sys.modules.get("web3.exceptions")
    return (httpx is not None and isinstance(exc, httpx.HTTPError)) or (
        web3_exceptions is not None and isinstance(exc, web3_exceptions.Web3Exception)
    )


def main() -> None:
    try:
        app()
    except VclError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:
        if not is_outage(exc):
            raise
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
