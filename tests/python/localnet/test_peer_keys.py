"""The keys a local consortium's node hands the other nodes for fetching envelopes are `peer`
keys (issue 15, attack 4: they were auditor keys, which read borrower data), also on a
consortium resumed from before that role existed."""

from __future__ import annotations

import json
from pathlib import Path

from localnet.layout import NODES, Layout
from localnet.nodes import database_url, peers_setting, prepare_node
from node_api.api_keys import Role, authenticate, create_key
from node_api.db import make_engine, make_session_factory, migrate


def roles_of(layout: Layout, tokens: dict[str, str]) -> dict[str, Role | None]:
    engine = make_engine(database_url(layout, NODES[0]))
    try:
        with make_session_factory(engine)() as session:
            holders = {name: authenticate(session, token) for name, token in tokens.items()}
    finally:
        engine.dispose()
    return {name: None if h is None else h.role for name, h in holders.items()}


def test_a_new_node_issues_peer_keys_to_the_other_nodes(tmp_path: Path) -> None:
    layout = Layout(tmp_path, 9000)
    node = NODES[0]
    keys = prepare_node(layout, node)
    assert set(keys.peers) == {other.name for other in NODES if other is not node}
    assert set(roles_of(layout, keys.peers).values()) == {Role.PEER}
    # A resumed consortium keeps them.
    assert prepare_node(layout, node).peers == keys.peers
    # Another node's VCL_NODE_PEERS carries these tokens for this node.
    others = {other.name: prepare_node(layout, other) for other in NODES if other is not node}
    setting = json.loads(peers_setting(layout, NODES[1], {node.name: keys, **others}))
    entry = next(peer for peer in setting if peer["name"] == node.name)
    assert entry["api_key"] == keys.peers[NODES[1].name]


def test_auditor_keys_of_an_older_consortium_are_revoked_and_replaced(tmp_path: Path) -> None:
    layout = Layout(tmp_path, 9000)
    node = NODES[0]
    layout.node_dir(node).mkdir(parents=True)
    migrate(database_url(layout, node))
    engine = make_engine(database_url(layout, node))
    try:
        with make_session_factory(engine)() as session:
            operator = create_key(session, node.key_role, f"{node.name}-operator").token
            old = {
                other.name: create_key(session, Role.AUDITOR, f"peer-{other.name}").token
                for other in NODES
                if other is not node
            }
    finally:
        engine.dispose()
    keys_file = layout.node_dir(node) / "api-keys.json"
    keys_file.write_text(json.dumps({"operator": operator, "reviewer": None, "peers": old}))

    keys = prepare_node(layout, node)
    assert keys.operator == operator  # the rest is kept
    assert set(roles_of(layout, keys.peers).values()) == {Role.PEER}
    assert set(roles_of(layout, old).values()) == {None}  # revoked: 401 from now on
    assert json.loads(keys_file.read_text())["peers"] == keys.peers
