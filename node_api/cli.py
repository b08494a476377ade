"""`vcl node ...`: migrate the database, rebuild the read models, manage API keys, serve
the API."""

from __future__ import annotations

from typing import Annotated

import typer

from node_api.api_keys import Role, create_key, list_keys, revoke_key
from node_api.config import NodeSettings
from node_api.db import check_migrated, make_engine, make_session_factory, migrate, shown_url
from node_api.document_key_cli import document_key_app
from node_api.indexer.store import IndexStore
from node_api.serve import serve
from vcl.config import get_settings

node_app = typer.Typer(help="This institution's node API.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of the institution's people.", no_args_is_help=True)
node_app.add_typer(keys_app, name="keys")
node_app.add_typer(document_key_app, name="document-key")


@node_app.command("migrate")
def migrate_command() -> None:
    """Bring the node's database (VCL_DATABASE_URL) to the newest schema."""
    settings = get_settings()
    revision = migrate(settings.database_url)
    typer.echo(f"database {shown_url(settings.database_url)} at revision {revision}")


@node_app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the REST API and run the indexer."""
    serve(get_settings(), NodeSettings(), host, port)


@node_app.command("rebuild-projections")
def rebuild_projections_command() -> None:
    """Fold the read models (vehicles, loans, scores, alerts, ...) again from the indexed
    events alone, in one transaction; no chain call. Safe while the node runs: the indexer's
    next step waits for it, and readers see the old projections until it commits."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        check_migrated(engine)
        store = IndexStore(engine, settings.chain_id)
        store.rebuild_projections()
        cursor = store.cursor()
    finally:
        engine.dispose()
    where = "nothing indexed yet" if cursor is None else f"indexed to block {cursor.number}"
    typer.echo(f"projections of chain {settings.chain_id} rebuilt ({where})")


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="What the key may do.")],
    person_ref: Annotated[str, typer.Option(help="The institution's reference of the person.")],
) -> None:
    """Create a key; the token is printed once and stored only as a hash."""
    engine = make_engine(get_settings().database_url)
    try:
        check_migrated(engine)
        with make_session_factory(engine)() as session:
            created = create_key(session, role, person_ref)
    finally:
        engine.dispose()
    typer.echo(f"key id {created.key_id} ({created.role.value}, {created.person_ref})")
    typer.echo(created.token)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id.")]) -> None:
    """Revoke a key at once; requests with it get 401."""
    engine = make_engine(get_settings().database_url)
    try:
        check_migrated(engine)
        with make_session_factory(engine)() as session:
            revoke_key(session, key_id)
    finally:
        engine.dispose()
    typer.echo(f"key {key_id} revoked")


@keys_app.command("list")
def keys_list() -> None:
    """Every key: id, role, person, created and revoked (never the token)."""
    engine = make_engine(get_settings().database_url)
    try:
        check_migrated(engine)
        with make_session_factory(engine)() as session:
            for key in list_keys(session):
                revoked = key.revoked_at.isoformat() if key.revoked_at else "-"
                typer.echo(
                    f"{key.id}  {key.role:8}  {key.person_ref}  "
                    f"{key.created_at.isoformat()}  revoked: {revoked}"
                )
    finally:
        engine.dispose()
