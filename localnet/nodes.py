"""A node API of the local consortium: its directory, migrated database, API keys, peers
and the environment its process runs with."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from localnet.layout import NODES, Layout, NodeSpec
from node_api.api_keys import Role, authenticate, create_key, revoke_key
from node_api.db import make_engine, make_session_factory, migrate
from vcl.localchain import REPO_ROOT


@dataclass(frozen=True)
class NodeKeys:
    """Tokens of the node's API keys. Development only: kept in the node's directory so a
    resumed consortium prints the same keys (production shows a token once, never stores it)."""

    operator: str
    reviewer: str | None
    peers: dict[str, str]  # peer node name -> a `peer` key (envelopes only) on this node


def document_key_file(layout: Layout, node: NodeSpec) -> Path:
    """The node's document keyring (a bank's or the auditor's; created and published by
    the launcher at start, absent for the issuer)."""
    return layout.node_dir(node) / "document-keys.json"


def database_url(layout: Layout, node: NodeSpec) -> str:
    return f"sqlite:///{layout.node_dir(node) / 'node.db'}"


def prepare_node(layout: Layout, node: NodeSpec) -> NodeKeys:
    """Create the node's directory, migrate its database and create its keys once."""
    directory = layout.node_dir(node)
    directory.mkdir(parents=True, exist_ok=True)
    url = database_url(layout, node)
    migrate(url)
    keys_file = directory / "api-keys.json"
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            if keys_file.exists():
                stored = json.loads(keys_file.read_text())
                peers = _peer_keys(session, node, dict(stored["peers"]))
                keys = NodeKeys(stored["operator"], stored.get("reviewer"), peers)
            else:
                operator = create_key(session, node.key_role, f"{node.name}-operator").token
                reviewer = (
                    create_key(session, Role.REVIEWER, f"{node.name}-reviewer").token
                    if node.reviewer_key
                    else None
                )
                keys = NodeKeys(operator, reviewer, _peer_keys(session, node, {}))
    finally:
        engine.dispose()
    keys_file.write_text(json.dumps(keys.__dict__, indent=1))
    keys_file.chmod(0o600)
    return keys


def _peer_keys(session: Session, node: NodeSpec, stored: dict[str, str]) -> dict[str, str]:
    """A `peer` key for each other node: the stored one, or a new one where none is stored
    or the stored one is not a `peer` key (consortia started before that role existed got
    auditor keys, which read borrower data: those are revoked)."""
    peers = {}
    for other in NODES:
        if other is node:
            continue
        token = stored.get(other.name, "")
        holder = authenticate(session, token) if token else None
        if holder is not None and holder.role is Role.PEER:
            peers[other.name] = token
            continue
        if holder is not None:
            revoke_key(session, holder.key_id)
        peers[other.name] = create_key(session, Role.PEER, f"peer-{other.name}").token
    return peers


def peers_setting(layout: Layout, node: NodeSpec, keys: dict[str, NodeKeys]) -> str:
    """`VCL_NODE_PEERS`: where this node fetches documents it does not hold."""
    peers = [
        {
            "name": other.name,
            "url": layout.node_url(other),
            "api_key": keys[other.name].peers[node.name],
        }
        for other in NODES
        if other is not node
    ]
    return json.dumps(peers)


def node_env(
    layout: Layout, node: NodeSpec, keys: dict[str, NodeKeys], *, log_json: bool
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VCL_")}
    env.update(
        VCL_RPC_URL=layout.rpc_url,
        VCL_BUILD_DIR=str(REPO_ROOT / "build/contracts"),
        VCL_DEPLOYMENT_FILE=str(layout.deployment_file.resolve()),
        VCL_DATABASE_URL=database_url(layout, node),
        VCL_KEY_SOURCE="dev",
        VCL_DEV_ACCOUNT_INDEX=str(node.account_index),
        VCL_IPFS_URL="embedded",
        VCL_NODE_STORE_DIR=str(layout.node_dir(node) / "documents"),
        VCL_NODE_DOCUMENT_KEY_FILE=str(document_key_file(layout, node)),
        VCL_VIN_SECRETS_FILE=str((layout.node_dir(node) / "vin-secrets.json").resolve()),
        VCL_NODE_INDEXER_POLL_INTERVAL_S="0.5",
        VCL_NODE_PEERS=peers_setting(layout, node, keys),
        VCL_LOG_JSON="1" if log_json else "0",
    )
    return env


def node_argv(layout: Layout, node: NodeSpec) -> list[str]:
    return [sys.executable, "-m", "node_api", "--port", str(layout.node_port(node))]
