"""`vcl vin-secret ...`: rotate the consortium's VIN secret, import a rotated one, show them.

A rotation, when a member suspects the VIN secret leaked (`docs/security.md`):
1. one bank runs `vcl vin-secret rotate --export FILE`: a new secret joins its keyring
   (`VCL_VIN_SECRETS_FILE`), FILE (mode 0600) holds it for the other members, and a proposal
   sets the chain's `VIN_SECRET_FINGERPRINT` to it;
2. every member receives FILE out of band and runs `vcl vin-secret import FILE`;
3. the banks check with `vcl vin-secret show` that they hold it, then vote and execute.
From the executing block every node derives new vehicle ids with the new secret, finds older
vehicles under theirs, and refuses to register a VIN any earlier secret registered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vcl.config import Settings, get_settings
from vcl.errors import ConfigError
from vcl.governance import propose, vin_secret_action
from vcl.vin_secrets import (
    KeyringEntry,
    add_to_keyring_file,
    chain_fingerprint,
    keyring_of,
    new_secret,
    now_iso,
    read_keyring_file,
    shown_fingerprint,
    write_keyring_file,
)
from vcl_cli.governance import connected

vin_secret_app = typer.Typer(
    help="The consortium's VIN secret: rotate it, import a rotated one, show which is current.",
    no_args_is_help=True,
)


def _keyring_file(settings: Settings) -> Path:
    if settings.vin_secrets_file is None:
        raise ConfigError(
            "set VCL_VIN_SECRETS_FILE (e.g. var/vin-secrets.json): the keyring the rotated "
            "secrets are added to"
        )
    return settings.vin_secrets_file


@vin_secret_app.command("rotate")
def rotate(
    export: Annotated[
        Path,
        typer.Option(help="Where to write the new secret for the other members (mode 0600)."),
    ],
) -> None:
    """Make a new VIN secret, add it to this keyring, export it, and propose it (banks only)."""
    settings = get_settings()
    keyring_file = _keyring_file(settings)
    if export.exists():
        raise ConfigError(f"{export} exists: the export never overwrites a file")
    entry = KeyringEntry(new_secret().encode(), now_iso())
    # Kept here first: a proposal for a secret nobody holds could never be voted in safely.
    add_to_keyring_file(keyring_file, [entry])
    write_keyring_file(export, [entry])
    sender, consortium = connected()
    proposal_id = propose(sender, consortium, vin_secret_action(entry.fingerprint))
    shown = shown_fingerprint(entry.fingerprint)
    typer.echo(f"new VIN secret {shown} added to {keyring_file} and written to {export}")
    typer.echo(f"proposal {proposal_id} created by {sender.address}: hand {export} to every")
    typer.echo("member out of band; each runs `vcl vin-secret import FILE`, then the banks vote.")


@vin_secret_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="The file `vcl vin-secret rotate` exported.")],
) -> None:
    """Add the secrets of a rotation's export to this keyring."""
    settings = get_settings()
    added = add_to_keyring_file(_keyring_file(settings), read_keyring_file(file))
    for entry in added:
        typer.echo(f"imported VIN secret {shown_fingerprint(entry.fingerprint)}")
    if not added:
        typer.echo("nothing new: this keyring holds every secret of the file")


@vin_secret_app.command("show")
def show() -> None:
    """Every VIN secret held here (fingerprints only), and which one the chain names current."""
    settings = get_settings()
    keyring = keyring_of(settings)
    _, consortium = connected()
    current = chain_fingerprint(consortium)
    held = False
    for entry in keyring.entries:
        is_current = entry.fingerprint == current or (current == 0 and entry.added_at == "founding")
        held = held or is_current
        mark = "current" if is_current else "earlier or proposed"
        typer.echo(f"{shown_fingerprint(entry.fingerprint)}  added {entry.added_at:<25}  {mark}")
    if not held:
        typer.echo(
            f"missing: the chain's current secret {shown_fingerprint(current)} is not held here; "
            "this node cannot register vehicles until it is imported"
        )
        raise typer.Exit(1)
