"""Benchmark of the node API (issue 5, item 9), each figure beside a floor measured in the
same run on the same machine:

- read latency p50/p99 of `GET /v1/vehicles/{vin}` (three chain reads) and `GET /v1/vehicles`
  (a database page) at fixed request rates, open loop, against a real `python -m node_api`
  process on a real anvil. Floor: `GET /healthz` on the same server at the same rate (the
  framework and loopback cost, no dependency asked). Latency counts from the moment a
  request was due, not sent, so a saturated server shows its queue (no coordinated omission).
- documents verified per second: `GET /v1/documents/{cid}/verification` one request at a
  time, and the node's `DocumentVerifier` in-process. Floor: the pure work of a
  verification in-process with no I/O (CID hash, AES-GCM open, sha256, EIP-712 ecrecover).
- events indexed per second by the node's indexer from block 0 into fresh SQLite and
  PostgreSQL databases (a throwaway real server). Floor: the same blocks' `eth_getLogs`
  in the indexer's batch size, the chain's own cost.
- the vehicle list at scale (`benchmarks.api_lists`): `GET /v1/vehicles`' queries on
  100,000 registrations in SQLite and PostgreSQL, with the list's index and without it.

    python -m benchmarks.api --out reports/api-benchmark.json
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from benchmarks.api_lists import list_at_scale
from benchmarks.open_loop import machine, ms, open_loop, percentile
from node_api.anchoring import anchor_document
from node_api.api_keys import Role, create_key
from node_api.config import NodeSettings
from node_api.db import make_engine, make_session_factory, migrate
from node_api.documents.crypto import open_envelope
from node_api.documents.embedded import EmbeddedDocumentStore
from node_api.documents.keys import Keyring, load_keyring
from node_api.documents.publishing import ensure_published
from node_api.documents.readers import ReaderDirectory
from node_api.indexer import Indexer
from node_api.indexer.chain_reader import ChainReader
from node_api.indexer.contracts import WatchedContracts
from node_api.postgres_server import PostgresServer
from node_api.verification import DocumentVerifier
from vcl.artifacts import load_artifact
from vcl.cid import Cid, matches
from vcl.config import DEV_PRIVATE_KEYS, KeySource, Settings
from vcl.deploy import deploy_system, dev_founders
from vcl.deployments import DeploymentRecord
from vcl.eip712 import DocumentAnchor, DocumentType, document_message, recover_signer
from vcl.localchain import REPO_ROOT, LocalChain, LocalChainConfig, free_port
from vcl.sender import TransactionSender, sender_from_settings
from vcl.vin import CHECK_DIGIT_POSITION, check_digit, vehicle_id

DEFAULT_OUT = Path("reports/api-benchmark.json")
BANK_INDEX = 1
ISSUER_INDEX = 7
DEFAULT_RATES = (50, 200, 500)
REQUEST_TIMEOUT_S = 30.0
# A read not answered within this counts as an error: the rate is beyond the server.
READ_TIMEOUT_S = 5.0
MAX_CONNECTIONS = 32
START_TIMEOUT_S = 60.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.api", description=__doc__)
    parser.add_argument("--vehicles", type=int, default=1000, help="registrations to index")
    parser.add_argument("--documents", type=int, default=30, help="documents to verify")
    parser.add_argument("--rates", type=int, nargs="+", default=list(DEFAULT_RATES))
    parser.add_argument("--seconds", type=float, default=4.0, help="per rate and endpoint")
    parser.add_argument(
        "--list-registrations", type=int, default=100_000, help="rows of the list at scale"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vcl-api-bench-") as tmp:
        results = run(Path(tmp), args.vehicles, args.documents, args.rates, args.seconds)
        progress(f"the vehicle list at {args.list_registrations} registrations")
        results["list_at_scale"] = _list_at_scale(Path(tmp), args.list_registrations)
    results["run_seconds"] = round(time.perf_counter() - started, 1)
    results["machine"] = machine(load_before, os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(format_table(results))
    print(f"written to {args.out}")
    return 0


@dataclass
class Consortium:
    chain: LocalChain
    settings: Settings
    vins: list[str]
    anchored: list[tuple[bytes, str]]  # (document id, CID)
    # (CID, envelope, content hash, signed fields, signature): the floor's inputs
    floor_inputs: list[tuple[str, bytes, bytes, DocumentAnchor, bytes]]


def run(
    tmp: Path, vehicles: int, documents: int, rates: Sequence[int], seconds: float
) -> dict[str, Any]:
    chain = LocalChain(LocalChainConfig(port=free_port())).start()
    try:
        store_dir = tmp / "node" / "documents"
        progress(f"registering {vehicles} vehicles and anchoring {documents} documents")
        consortium = populate(chain, tmp, store_dir, vehicles, documents)
        progress("indexing into SQLite and PostgreSQL")
        indexing = _indexing(consortium.settings, tmp)
        progress("starting the node API")
        with node_process(consortium.settings, tmp / "node", store_dir) as (url, token):
            progress(f"read latency at {', '.join(map(str, rates))} requests/s")
            reads = _read_latency(url, token, consortium.vins, rates, seconds)
            progress("verification")
            verification = _verification(url, token, consortium, store_dir)
    finally:
        chain.stop()
    return {
        "benchmark": "node API (issue 5, item 9)",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "chain": {"node": "anvil", "mining": "a block per transaction"},
        "setup": {"vehicles": vehicles, "documents": documents, "seconds_per_rate": seconds},
        "read_latency": reads,
        "verification": verification,
        "indexing": indexing,
    }


# --- the consortium under test ------------------------------------------------------------


def populate(
    chain: LocalChain, tmp: Path, store_dir: Path, vehicles: int, documents: int
) -> Consortium:
    """Deploy, register `vehicles` (pre-signed raw transactions, one block each) and anchor
    `documents` signed by the issuer, their envelopes in the node's store."""
    settings = Settings(
        rpc_url=chain.rpc_url,
        key_source=KeySource.DEV,
        build_dir=REPO_ROOT / "build/contracts",
        deployment_file=tmp / "deployments.json",
    )
    deploy_system(sender_from_settings(settings), settings, dev_founders())
    bank = sender_from_settings(settings.model_copy(update={"dev_account_index": BANK_INDEX}))
    issuer = sender_from_settings(settings.model_copy(update={"dev_account_index": ISSUER_INDEX}))
    registry = _contract(settings, bank, "VehicleRegistry")
    secret = settings.vin_secret.get_secret_value().encode()
    vins = [_vin(i) for i in range(vehicles)]
    _register_all(bank, registry, [vehicle_id(v, secret) for v in vins])

    store = EmbeddedDocumentStore(store_dir)
    account: LocalAccount = Account.from_key(DEV_PRIVATE_KEYS[ISSUER_INDEX])
    # The node under test is the bank's: it publishes its document key, the issuer seals for it.
    consortium = _contract(settings, bank, "Consortium")
    ensure_published(keyring_path(store_dir), bank, consortium)
    readers = ReaderDirectory(issuer.w3, consortium)
    anchored: list[tuple[bytes, str]] = []
    floor_inputs: list[tuple[str, bytes, bytes, DocumentAnchor, bytes]] = []
    for i in range(documents):
        plaintext = f"service record {i}: oil, filters, brakes checked".encode()
        vid = vehicle_id(vins[i % len(vins)], secret)
        doc = anchor_document(
            plaintext,
            "text/plain",
            vid,
            DocumentType.MAINTENANCE,
            account,
            store=store,
            readers=readers,
            keyring=None,
            sender=issuer,
            registry=registry,
        )
        anchored.append((doc.document_id, doc.cid))
        envelope = store.cat(doc.cid)
        fields = DocumentAnchor(
            vehicle_id=vid,
            doc_type=DocumentType.MAINTENANCE,
            cid=Cid.parse(doc.cid).binary,
            content_hash=doc.content_hash,
            issued_at=doc.issued_at,
        )
        message = document_message(fields, settings.chain_id, registry.address)
        signature = bytes(account.sign_message(message).signature)
        floor_inputs.append((doc.cid, envelope, doc.content_hash, fields, signature))
    return Consortium(chain, settings, vins, anchored, floor_inputs)


def keyring_path(store_dir: Path) -> Path:
    """The bank node's document keys, beside its store."""
    return store_dir.parent / "document-keys.json"


def _vin(serial: int) -> str:
    draft = f"1HGCM826X3A{serial:06d}"
    return draft[:CHECK_DIGIT_POSITION] + check_digit(draft) + draft[CHECK_DIGIT_POSITION + 1 :]


def _contract(settings: Settings, sender: TransactionSender, name: str) -> Contract:
    address = DeploymentRecord(settings.deployment_file).address(settings.chain_id, name)
    return sender.w3.eth.contract(address=address, abi=load_artifact(settings.build_dir, name).abi)


def _register_all(bank: TransactionSender, registry: Contract, ids: Sequence[bytes]) -> None:
    """Sign every registration beforehand and send them back to back: setting up the
    chain is not what is measured."""
    w3 = bank.w3
    account: LocalAccount = Account.from_key(DEV_PRIVATE_KEYS[BANK_INDEX])
    nonce = w3.eth.get_transaction_count(account.address)
    stamp = int(w3.eth.get_block("latest")["timestamp"])
    gas_price = 2 * w3.eth.gas_price
    last = None
    for i, vid in enumerate(ids):
        data = registry.encode_abi(
            "registerVehicle", args=[vid, hashlib.sha256(vid).digest(), 2_500_000, stamp]
        )
        tx = {
            "to": registry.address,
            "data": data,
            "gas": 300_000,
            "gasPrice": gas_price,
            "nonce": nonce + i,
            "chainId": w3.eth.chain_id,
        }
        last = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    if last is not None:
        receipt = w3.eth.wait_for_transaction_receipt(last, timeout=120)
        if receipt["status"] != 1:
            raise RuntimeError("the last registration reverted")


# --- indexing -------------------------------------------------------------------------------


def _indexing(settings: Settings, tmp: Path) -> dict[str, Any]:
    node = NodeSettings()
    w3 = sender_from_settings(settings).w3
    head = w3.eth.block_number
    watched = WatchedContracts.from_settings(w3, settings)
    reader = ChainReader(w3)
    batch = node.indexer_batch_blocks
    started = time.perf_counter()
    logs = sum(
        len(reader.logs(first, min(head, first + batch - 1), watched.addresses))
        for first in range(0, head + 1, batch)
    )
    floor_s = time.perf_counter() - started
    out: dict[str, Any] = {
        "blocks": head + 1,
        "batch_blocks": batch,
        "floor_eth_getLogs": per_second(logs, floor_s, "events"),
    }
    server = PostgresServer().start()
    try:
        urls = {"sqlite": f"sqlite:///{tmp / 'index.db'}", "postgresql": server.create_database()}
        for name, url in urls.items():
            migrate(url)
            engine = make_engine(url)
            try:
                indexer = Indexer.from_settings(settings, node, engine)
                started = time.perf_counter()
                steps = indexer.catch_up()
                elapsed = time.perf_counter() - started
            finally:
                engine.dispose()
            events = sum(step.events_added for step in steps)
            out[name] = per_second(events, elapsed, "events")
            out[name]["vs_floor"] = round(elapsed / floor_s, 2)
    finally:
        server.stop()
    return out


def _list_at_scale(tmp: Path, registrations: int) -> dict[str, Any]:
    server = PostgresServer().start()
    try:
        urls = {"sqlite": f"sqlite:///{tmp / 'list.db'}", "postgresql": server.create_database()}
        return {name: list_at_scale(url, registrations) for name, url in urls.items()}
    finally:
        server.stop()


# --- the server and its read latency --------------------------------------------------------


@contextmanager
def node_process(settings: Settings, directory: Path, store_dir: Path) -> Iterator[tuple[str, str]]:
    """`python -m node_api` on a free port, a migrated SQLite database and an auditor key;
    yields once its indexer has caught up with the chain."""
    directory.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{directory / 'node.db'}"
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            token = create_key(session, Role.AUDITOR, "benchmark").token
    finally:
        engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VCL_")}
    env.update(
        VCL_RPC_URL=settings.rpc_url,
        VCL_BUILD_DIR=str(settings.build_dir),
        VCL_DEPLOYMENT_FILE=str(settings.deployment_file),
        VCL_DATABASE_URL=database_url,
        VCL_DEV_ACCOUNT_INDEX=str(BANK_INDEX),
        VCL_NODE_STORE_DIR=str(store_dir),
        VCL_NODE_DOCUMENT_KEY_FILE=str(keyring_path(store_dir)),
        VCL_NODE_INDEXER_POLL_INTERVAL_S="0.2",
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = directory / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed argv
            [sys.executable, "-m", "node_api", "--port", str(port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_caught_up(url, process, log_path)
        yield url, token
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_caught_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the node exited:\n{log_path.read_text(errors='replace')}")
        try:
            metrics = httpx.get(f"{url}/metrics", timeout=2.0).text
            if "\nvcl_indexer_lag_blocks 0\n" in metrics:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the node did not catch up within {START_TIMEOUT_S:g} s")


def _read_latency(
    url: str, token: str, vins: Sequence[str], rates: Sequence[int], seconds: float
) -> list[dict[str, Any]]:
    endpoints: list[tuple[str, Callable[[int], str]]] = [
        ("GET /healthz (floor)", lambda _i: "/healthz"),
        ("GET /v1/vehicles/{vin}", lambda i: f"/v1/vehicles/{vins[i % len(vins)]}"),
        ("GET /v1/vehicles?limit=50", lambda i: f"/v1/vehicles?limit=50&offset={i % 20 * 50}"),
    ]
    asyncio.run(_open_loop(url, token, endpoints[0][1], 50, 1.0))  # warm-up
    rows: list[dict[str, Any]] = []
    saturated: set[str] = set()
    for rate in rates:
        for name, path in endpoints:
            if name in saturated:
                # A higher rate only lengthens the queue (and the run): not measured.
                rows.append({"endpoint": name, "rate_per_s": rate, "skipped": "saturated"})
                continue
            row = asyncio.run(_open_loop(url, token, path, rate, seconds))
            if row["errors"] > row["requests"] // 100 or row["answered_per_s"] < 0.9 * rate:
                saturated.add(name)
                row["saturated"] = True
            rows.append({"endpoint": name, "rate_per_s": rate, **row})
            _drain(url)
    return rows


def _drain(url: str) -> None:
    """Wait until requests abandoned by the client have left the server's threadpool, so
    one run's queue does not count against the next."""
    deadline = time.monotonic() + READ_TIMEOUT_S * 4
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            httpx.get(f"{url}/healthz", timeout=READ_TIMEOUT_S)
        except httpx.TransportError:
            continue
        if time.perf_counter() - started < 0.1:
            return
        time.sleep(0.5)


async def _open_loop(
    url: str, token: str, path: Callable[[int], str], rate: int, seconds: float
) -> dict[str, Any]:
    """`rate` GETs of `path(i)` a second for `seconds`, open loop (`benchmarks.open_loop`)."""
    # A bounded pool: past it requests wait in the client, still timed from their due
    # time, instead of piling abandoned work onto the server that outlives the run.
    n = MAX_CONNECTIONS
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=READ_TIMEOUT_S, limits=limits
    ) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def get(i: int) -> int:
            return (await client.get(path(i))).status_code

        answers, sent_s = await open_loop(get, rate, seconds)
        total_s = loop.time() - start
    count = len(answers)
    latencies = sorted(a.latency_s for a in answers if a.status == 200)
    errors = sum(1 for a in answers if a.status != 200)
    return {
        "requests": count,
        "errors": errors,
        "p50_ms": ms(percentile(latencies, 0.50)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "max_ms": ms(latencies[-1] if latencies else None),
        "sent_per_s": round(count / sent_s, 1) if sent_s > 0 else None,
        "answered_per_s": round(count / total_s, 1),
    }


# --- verification ---------------------------------------------------------------------------


def _verification(url: str, token: str, consortium: Consortium, store_dir: Path) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=REQUEST_TIMEOUT_S) as client:
        started = time.perf_counter()
        for _, cid in consortium.anchored:
            for result in client.get(f"/v1/documents/{cid}/verification").json()["documents"]:
                statuses[result["status"]] = statuses.get(result["status"], 0) + 1
        http_s = time.perf_counter() - started

    settings = consortium.settings
    keyring: Keyring = load_keyring(keyring_path(store_dir))
    verifier = DocumentVerifier.from_settings(settings, EmbeddedDocumentStore(store_dir), keyring)
    started = time.perf_counter()
    for document_id, _ in consortium.anchored:
        verifier.verify_document(document_id)
    in_process_s = time.perf_counter() - started

    issuer = Account.from_key(DEV_PRIVATE_KEYS[ISSUER_INDEX]).address
    registry = DeploymentRecord(settings.deployment_file).address(
        settings.chain_id, "VehicleRegistry"
    )
    started = time.perf_counter()
    for cid, envelope, content_hash, fields, signature in consortium.floor_inputs:
        if not matches(Cid.parse(cid), envelope):
            raise RuntimeError("floor: CID mismatch")
        open_envelope(envelope, keyring, content_hash)
        message = document_message(fields, settings.chain_id, registry)
        if recover_signer(message, signature) != issuer:
            raise RuntimeError("floor: signature does not recover to the issuer")
    floor_s = time.perf_counter() - started

    n = len(consortium.anchored)
    return {
        "documents": n,
        "statuses": statuses,
        "http_sequential": per_second(n, http_s, "documents"),
        "in_process_verifier": per_second(n, in_process_s, "documents"),
        "floor_crypto_only": per_second(n, floor_s, "documents"),
    }


# --- figures --------------------------------------------------------------------------------


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def per_second(count: int, seconds: float, unit: str) -> dict[str, Any]:
    return {
        unit: count,
        "seconds": round(seconds, 3),
        f"{unit}_per_s": round(count / seconds, 1) if seconds > 0 else None,
    }


def format_table(results: dict[str, Any]) -> str:
    lines = [f"{'endpoint':28} {'rate/s':>6} {'p50 ms':>8} {'p99 ms':>9} {'errors':>6}"]
    for row in results["read_latency"]:
        if "skipped" in row:
            lines.append(f"{row['endpoint']:28} {row['rate_per_s']:>6}  saturated at a lower rate")
            continue
        lines.append(
            f"{row['endpoint']:28} {row['rate_per_s']:>6} {row['p50_ms']!s:>8} "
            f"{row['p99_ms']!s:>9} {row['errors']:>6}"
        )
    v = results["verification"]
    lines.append(
        f"verification docs/s: HTTP {v['http_sequential']['documents_per_s']}, "
        f"in-process {v['in_process_verifier']['documents_per_s']}, "
        f"floor {v['floor_crypto_only']['documents_per_s']} ({v['statuses']})"
    )
    i = results["indexing"]
    lines.append(
        f"indexing events/s ({i['blocks']} blocks): SQLite {i['sqlite']['events_per_s']}, "
        f"PostgreSQL {i['postgresql']['events_per_s']}, "
        f"eth_getLogs floor {i['floor_eth_getLogs']['events_per_s']}"
    )
    for backend, scale in results.get("list_at_scale", {}).items():
        lines.append(
            f"vehicle list, {scale['registrations']} registrations, {backend} (ms with / without"
            " the index): "
            + ", ".join(
                f"{query} {ms_with} / {scale['without_index_ms'][query]}"
                for query, ms_with in scale["with_index_ms"].items()
            )
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
