"""`vcl node document-key ...`: this member's document key pair (banks and auditors).

The private keys stay in the keyring file (`VCL_NODE_DOCUMENT_KEY_FILE`, mode 0600); the
commands print public keys, versions and transaction hashes, never a private key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from node_api.config import NodeSettings
from node_api.documents import publishing
from node_api.documents.keys import Keyring, load_keyring
from vcl.config import get_settings
from vcl.governance import consortium_contract
from vcl.keys import load_account
from vcl.sender import sender_from_settings

document_key_app = typer.Typer(
    help="This member's document key pair: envelopes are wrapped to its public key.",
    no_args_is_help=True,
)

KeyFile = Annotated[
    Path | None,
    typer.Option("--key-file", help="The keyring file (default: VCL_NODE_DOCUMENT_KEY_FILE)."),
]


def _path(key_file: Path | None) -> Path:
    return key_file if key_file is not None else NodeSettings().document_key_file


@document_key_app.command("create")
def create_command(key_file: KeyFile = None) -> None:
    """Create the key pair (file mode 0600); refuses to replace an existing keyring.
    Publish it next: nobody seals for it before."""
    path = _path(key_file)
    keyring = publishing.create(path, load_account(get_settings()).address)
    typer.echo(f"created {path} for {keyring.member}")
    typer.echo(f"public key 0x{keyring.current.public_key.hex()} (unpublished)")


@document_key_app.command("publish")
def publish_command(key_file: KeyFile = None) -> None:
    """Publish the current public key with Consortium.setDocumentKey (active banks and
    auditors only); documents sealed from then on are wrapped to it."""
    settings = get_settings()
    sender = sender_from_settings(settings)
    path = _path(key_file)
    _report(publishing.publish(path, sender, consortium_contract(sender, settings)))


@document_key_app.command("rotate")
def rotate_command(key_file: KeyFile = None) -> None:
    """A new key pair, published; the old private keys stay in the keyring so documents
    sealed for them still open. Documents sealed for a leaked key stay readable with it:
    an envelope cannot be re-wrapped in place, the issuer signed its CID."""
    settings = get_settings()
    sender = sender_from_settings(settings)
    path = _path(key_file)
    _report(publishing.rotate(path, sender, consortium_contract(sender, settings)))


@document_key_app.command("show")
def show_command(key_file: KeyFile = None) -> None:
    """The keyring's public keys and versions (never a private key)."""
    path = _path(key_file)
    keyring: Keyring = load_keyring(path)
    typer.echo(f"{path}: document keys of {keyring.member}")
    for pair in keyring.pairs:
        version = "unpublished" if pair.version is None else f"v{pair.version}"
        typer.echo(f"  {version:12} 0x{pair.public_key.hex()}  created {pair.created_at}")


def _report(published: publishing.Published) -> None:
    key = published.keyring.current.public_key.hex()
    if published.transaction_hash is None:
        typer.echo(f"0x{key} is already published as v{published.version}")
    else:
        typer.echo(f"published 0x{key} as v{published.version} in {published.transaction_hash}")
