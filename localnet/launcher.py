"""`vcl localnet up` (`make run`): the whole local consortium on this machine until Ctrl-C.

Order: anvil (state resumed from the last run), the contracts (deployed once), the score
model approved by the banks' vote, the four node APIs, the oracle scheduler, then the demo
data through the nodes' APIs. Ctrl-C or SIGTERM stops every child, newest first; anvil
last, saving the chain state.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from types import FrameType

from eth_typing import ChecksumAddress

from localnet.demo_data import DemoData, Endpoint, Progress
from localnet.layout import NODES, ORACLE_OPERATORS, Layout, NodeSpec
from localnet.nodes import NodeKeys, document_key_file, node_argv, node_env, prepare_node
from localnet.processes import Supervisor, http_ok
from node_api.documents.publishing import ensure_published
from oracle.fleet_feeds import load_fleet_feeds
from oracle.model import load_model
from oracle.sample_fleet import generate_fleet
from vcl.config import KeySource, Settings
from vcl.deploy import deploy_system, deployed_and_live, dev_founders
from vcl.errors import VclError
from vcl.governance import consortium_contract, execute, model_action, propose, vote
from vcl.localchain import (
    REPO_ROOT,
    LocalChainConfig,
    anvil_command,
    anvil_environment,
    rpc_answers,
)
from vcl.sender import sender_from_settings

log = logging.getLogger("localnet")

# Development consortium only: a 2-second grace period lets the demo show loans that are
# defaulted and liquidated without waiting 30 days (the production default).
LOCAL_PARAMETERS = {"GRACE_PERIOD": 2}
BANK_A, BANK_B = 1, 2
START_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Options:
    layout: Layout
    fresh: bool = False
    vehicles: int = 200
    oracle_interval_s: float = 5.0
    log_json: bool = False


def core_settings(layout: Layout, account_index: int = 0) -> Settings:
    return Settings(
        rpc_url=layout.rpc_url,
        key_source=KeySource.DEV,
        dev_account_index=account_index,
        build_dir=REPO_ROOT / "build/contracts",
        deployment_file=layout.deployment_file,
    )


def forget_state(layout: Layout) -> None:
    """`--fresh`: everything of the previous consortium except its logs."""
    if not layout.state_dir.exists():
        return
    for entry in layout.state_dir.iterdir():
        if entry == layout.log_dir:
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def forget_off_chain_state(layout: Layout) -> None:
    """A new chain: databases, stores and demo progress of an older one describe a chain
    that is gone (its saved state was lost), so they go too; the fleet and logs stay."""
    for node in NODES:
        if layout.node_dir(node).exists():
            log.warning("the saved chain is gone: starting %s's database afresh", node.name)
            shutil.rmtree(layout.node_dir(node))
    layout.demo_progress_file.unlink(missing_ok=True)
    if layout.oracle_dir.exists():
        shutil.rmtree(layout.oracle_dir)


def deploy_once(layout: Layout) -> tuple[dict[str, ChecksumAddress], bool]:
    """The contracts of the saved chain, or freshly deployed ones; (addresses, resumed)."""
    settings = core_settings(layout)
    sender = sender_from_settings(settings)
    addresses = deployed_and_live(sender.w3, settings)
    if addresses is not None:
        return addresses, True
    # Founders are admitted by the Consortium's initializer (its genesis), not by votes.
    return deploy_system(sender, settings, dev_founders(), LOCAL_PARAMETERS), False


def approve_score_model(layout: Layout) -> None:
    """The oracle pushes only with an approved model: both banks vote it in (before the
    banks' nodes start, which send with the same keys)."""
    version = load_model().version
    bank_a = sender_from_settings(core_settings(layout, BANK_A))
    bank_b = sender_from_settings(core_settings(layout, BANK_B))
    consortium = consortium_contract(bank_a, core_settings(layout))
    if consortium.functions.isModelApproved(version).call():
        return
    proposal = propose(bank_a, consortium, model_action("0x" + version.hex()))
    vote(bank_a, consortium, proposal, True)
    vote(bank_b, consortium, proposal, True)
    execute(bank_a, consortium, proposal)
    log.info("score model 0x%s approved by the banks (proposal %d)", version.hex(), proposal)


def publish_document_key(layout: Layout, node: NodeSpec) -> None:
    """A bank's or the auditor's node gets its own document key pair, published from its
    member account before it starts (documents are sealed for the keys on-chain)."""
    settings = core_settings(layout, node.account_index)
    sender = sender_from_settings(settings)
    path = document_key_file(layout, node)
    published = ensure_published(path, sender, consortium_contract(sender, settings))
    if published is not None and published.transaction_hash is not None:
        log.info("%s published its document key v%d", node.name, published.version)


def fleet_degrading(layout: Layout, vehicles: int) -> set[str]:
    truth_file = layout.fleet_dir / "ground_truth.json"
    if not truth_file.exists():
        generate_fleet(layout.fleet_dir, vehicles=vehicles)
    truth = json.loads(truth_file.read_text())
    return {v["vin"] for v in truth["vehicles"] if v["degrading"]}


def oracle_env(layout: Layout, log_json: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VCL_")}
    env.update(
        VCL_RPC_URL=layout.rpc_url,
        VCL_BUILD_DIR=str(REPO_ROOT / "build/contracts"),
        VCL_DEPLOYMENT_FILE=str(layout.deployment_file),
        VCL_KEY_SOURCE="dev",
        VCL_DEV_ACCOUNT_INDEX=str(ORACLE_OPERATORS[0]),
        VCL_ORACLE_DEV_OPERATOR_INDEXES=json.dumps(list(ORACLE_OPERATORS)),
        VCL_ORACLE_JOURNAL_PATH=str(layout.oracle_dir / "journal.sqlite"),
        VCL_VIN_SECRETS_FILE=str((layout.oracle_dir / "vin-secrets.json").resolve()),
        VCL_LOG_JSON="1" if log_json else "0",
    )
    return env


def consortium_document(
    layout: Layout, addresses: dict[str, ChecksumAddress], keys: dict[str, NodeKeys]
) -> dict[str, object]:
    nodes = []
    for node in NODES:
        entry = {
            "name": node.name,
            "role": node.role,
            "url": layout.node_url(node),
            "api_key": keys[node.name].operator,
        }
        if keys[node.name].reviewer is not None:
            entry["reviewer_api_key"] = keys[node.name].reviewer or ""
        nodes.append(entry)
    return {
        "chain": {"rpc_url": layout.rpc_url, "chain_id": core_settings(layout).chain_id},
        "contracts": dict(addresses),
        "nodes": nodes,
        "oracle": {
            "operators": list(ORACLE_OPERATORS),
            "metrics_url": f"http://127.0.0.1:{layout.oracle_metrics_port}/metrics",
        },
        "logs": str(layout.log_dir),
    }


def print_table(document: dict[str, object]) -> None:
    nodes = document["nodes"]
    assert isinstance(nodes, list)
    rows = [("node", "role", "URL", "API key")]
    rows += [(n["name"], n["role"], n["url"], n["api_key"]) for n in nodes]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    for n in nodes:
        if "reviewer_api_key" in n:
            print(f"{n['name']} reviewer key (alert reviews): {n['reviewer_api_key']}")


def _stop_on_signal(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def up(options: Options) -> int:
    layout = options.layout
    check_ports_free(layout)
    if options.fresh:
        forget_state(layout)
    layout.state_dir.mkdir(parents=True, exist_ok=True)
    # Both explicitly: a launcher started in the background inherits SIGINT ignored.
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    supervisor = Supervisor(layout.log_dir)
    try:
        return _run(options, supervisor)
    except KeyboardInterrupt:
        log.info("stopping the local consortium")
        return 0
    finally:
        supervisor.stop_all()
        log.info("every process stopped; chain state saved to %s", layout.anvil_state)


class PortsInUse(VclError):
    """A port of the local consortium is taken: another one runs, or another program."""


def check_ports_free(layout: Layout) -> None:
    """Before anything starts or is deployed: a chain already answering on the port would
    otherwise receive a second set of contracts."""
    busy = [f"{port} ({what})" for what, port in layout.ports().items() if not port_free(port)]
    if busy:
        raise PortsInUse(
            f"port {', '.join(busy)} in use: is a local consortium already running? Stop it "
            f"(Ctrl-C in its terminal), or start this one elsewhere with --base-port N "
            f"(it uses N to N+{max(layout.ports().values()) - layout.base_port})"
        )


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _run(options: Options, supervisor: Supervisor) -> int:
    layout = options.layout
    chain = LocalChainConfig(port=layout.base_port, state_file=layout.anvil_state)
    # Block states anvil wrote to disk in an earlier run are not its saved state: dropped.
    shutil.rmtree(layout.anvil_home, ignore_errors=True)
    layout.anvil_home.mkdir(parents=True)
    anvil = supervisor.start(
        "anvil", anvil_command(chain), env=anvil_environment(layout.anvil_home)
    )
    supervisor.wait_until(anvil, lambda: rpc_answers(layout.rpc_url), 30, "answering")
    addresses, resumed = deploy_once(layout)
    log.info("contracts %s", "resumed from the saved chain" if resumed else "deployed")
    if not resumed:
        forget_off_chain_state(layout)
    approve_score_model(layout)
    degrading = fleet_degrading(layout, options.vehicles)

    keys = {node.name: prepare_node(layout, node) for node in NODES}
    for node in NODES:
        publish_document_key(layout, node)
    for node in NODES:
        env = node_env(layout, node, keys, log_json=options.log_json)
        supervisor.start(node.name, node_argv(layout, node), env=env, cwd=REPO_ROOT)
    for child, node in zip(list(supervisor.children[1:]), NODES, strict=True):
        ready = http_ok(f"{layout.node_url(node)}/readyz")
        supervisor.wait_until(child, ready, START_TIMEOUT_S, "ready")
    scheduler = supervisor.start(
        "oracle",
        [
            sys.executable,
            "-m",
            "localnet.oracle_scheduler",
            "--fleet",
            str(layout.fleet_dir),
            "--interval",
            str(options.oracle_interval_s),
            "--metrics-port",
            str(layout.oracle_metrics_port),
        ],
        env=oracle_env(layout, options.log_json),
        cwd=REPO_ROOT,
    )
    metrics = f"http://127.0.0.1:{layout.oracle_metrics_port}/healthz"
    supervisor.wait_until(scheduler, http_ok(metrics), START_TIMEOUT_S, "serving metrics")

    document = consortium_document(layout, addresses, keys)
    layout.consortium_file.write_text(json.dumps(document, indent=2) + "\n")
    print_table(document)
    print(f"written to {layout.consortium_file}; logs in {layout.log_dir}")

    by_name = {node.name: node for node in NODES}

    def endpoint(name: str) -> Endpoint:
        return Endpoint(name, layout.node_url(by_name[name]), keys[name].operator)

    feeds = load_fleet_feeds(layout.fleet_dir)
    DemoData(
        (endpoint("bank-a"), endpoint("bank-b")),
        endpoint("issuer"),
        feeds,
        degrading,
        Progress(layout.demo_progress_file),
    ).run()
    print("local consortium running; Ctrl-C stops every process and saves the chain state")
    sys.stdout.flush()
    while True:
        exited = supervisor.exited()
        if exited:
            for child in exited:
                log.error(
                    "%s exited with code %s; its log: %s",
                    child.name,
                    child.process.returncode,
                    child.log_path,
                )
            return 1
        time.sleep(1.0)
