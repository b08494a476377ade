"""Core commands of the `vcl` command line: the local chain and deployment."""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from vcl.chain import make_web3
from vcl.config import Settings, get_settings
from vcl.deploy import deploy_system, deployed_and_live, dev_founders
from vcl.founders import founders_for
from vcl.localchain import LocalChain, LocalChainConfig
from vcl.sender import sender_from_settings

chain_app = typer.Typer(help="The local development chain.", no_args_is_help=True)

DEV_STATE = Path("var/dev")


def deploy() -> None:
    """Deploy the contracts to the configured chain (VCL_RPC_URL); founders from
    VCL_FOUNDERS_FILE (required in production), else the development founders."""
    settings = get_settings()
    founders = founders_for(settings)  # a settings mistake is reported before connecting
    addresses = deploy_system(sender_from_settings(settings), settings, founders)
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
