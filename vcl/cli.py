"""`vcl`: the operators' command line. Errors are one line and a non-zero exit."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from eth_account import Account

from vcl.chain import make_web3
from vcl.config import DEV_PRIVATE_KEYS, Settings, get_settings
from vcl.deploy import Founder, MemberKind, deploy_system, deployed_and_live
from vcl.errors import VclError
from vcl.localchain import LocalChain, LocalChainConfig
from vcl.sender import sender_from_settings

app = typer.Typer(
    help="Vehicle-collateral consortium node.", no_args_is_help=True, pretty_exceptions_enable=False
)
chain_app = typer.Typer(help="The local development chain.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")

DEV_STATE = Path("var/dev")

# Local consortium: anvil's accounts 1..7 play the founding institutions.
DEV_FOUNDERS: tuple[tuple[int, MemberKind, str], ...] = (
    (1, MemberKind.BANK, "bank-a"),
    (2, MemberKind.BANK, "bank-b"),
    (3, MemberKind.AUDITOR, "auditor"),
    (4, MemberKind.ORACLE_OPERATOR, "oracle-1"),
    (5, MemberKind.ORACLE_OPERATOR, "oracle-2"),
    (6, MemberKind.ORACLE_OPERATOR, "oracle-3"),
    (7, MemberKind.DOCUMENT_ISSUER, "issuer"),
)


def dev_founders() -> list[Founder]:
    return [
        Founder(Account.from_key(DEV_PRIVATE_KEYS[i]).address, kind, name)
        for i, kind, name in DEV_FOUNDERS
    ]


@app.command()
def deploy() -> None:
    """Deploy the contracts to the configured chain (VCL_RPC_URL) with the dev founders."""
    settings = get_settings()
    addresses = deploy_system(sender_from_settings(settings), settings, dev_founders())
    for name, address in addresses.items():
        typer.echo(f"{name:16} {address}")


@chain_app.command("up")
def chain_up(
    port: Annotated[int, typer.Option(help="RPC port of the local chain.")] = 8545,
    fresh: Annotated[bool, typer.Option(help="Forget the saved chain state first.")] = False,
) -> None:
    """Start anvil (gasless), deploy unless the saved state has the contracts, wait for Ctrl-C."""
    state_file = DEV_STATE / "anvil-state.json"
    if fresh:
        state_file.unlink(missing_ok=True)
    settings = Settings(
        rpc_url=f"http://127.0.0.1:{port}",
        deployment_file=DEV_STATE / "deployments.json",
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalChain(LocalChainConfig(port=port, chain_id=settings.chain_id, state_file=state_file)):
        w3 = make_web3(settings)
        addresses = deployed_and_live(w3, settings)
        resumed = addresses is not None
        if addresses is None:
            addresses = deploy_system(sender_from_settings(settings), settings, dev_founders())
        typer.echo(f"local chain {settings.rpc_url} (chain id {settings.chain_id}, gas price 0)")
        typer.echo("contracts " + ("resumed from saved state" if resumed else "deployed") + ":")
        for name, address in addresses.items():
            typer.echo(f"  {name:16} {address}")
        typer.echo("running; Ctrl-C stops it and saves the chain state")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


def main() -> None:
    try:
        app()
    except VclError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
