"""Verification throughput on a node (issue 16 items 5 and 6): documents verified per second,
cold (the node's first verification of each document) and from its cache, over HTTP (`GET
/v1/documents/{cid}/verification` on a real `python -m node_api`, SQLite, on a real anvil)
and in-process (`DocumentVerifier` with the node database), beside the tool path without a
node database (every anchor read from the chain, as every verification did before).

The consortium is `benchmarks.api`'s: the issuer anchors `--documents` documents sealed for
the bank, whose node is measured. HTTP figures: one client at a time, and `--clients` clients
at once (threads, each its own connection); the cold figure with several clients is taken
on a second node process whose cache is empty. Floors: `GET /healthz` one at a time on the
same server (the framework and loopback, no dependency asked) and `GET /v1/me` (the
cheapest read with an API key and the index's headers, what every such route pays).

    python -m benchmarks.verification --documents 500 --out reports/verification-benchmark.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from benchmarks.api import (
    REQUEST_TIMEOUT_S,
    keyring_path,
    node_process,
    per_second,
    populate,
    progress,
)
from benchmarks.open_loop import machine
from node_api.db import make_engine
from node_api.documents.embedded import EmbeddedDocumentStore
from node_api.documents.keys import load_keyring
from node_api.verification import DocumentVerifier
from vcl.localchain import LocalChain, LocalChainConfig, free_port


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=50)
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vcl-verify-bench-") as tmp:
        results = run(Path(tmp), args.vehicles, args.documents, args.clients)
    results["machine"] = machine(load_before, os.getloadavg())
    text = json.dumps(results, indent=2)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)
    return 0


def run(tmp: Path, vehicles: int, documents: int, clients: int) -> dict[str, Any]:
    chain = LocalChain(LocalChainConfig(port=free_port())).start()
    try:
        store_dir = tmp / "node" / "documents"
        progress(f"anchoring {documents} documents")
        consortium = populate(chain, tmp, store_dir, vehicles, documents)
        cids = [cid for _, cid in consortium.anchored]
        ids = [document_id for document_id, _ in consortium.anchored]
        results: dict[str, Any] = {"documents": documents, "clients": clients}
        progress("node A: HTTP, one client")
        with node_process(consortium.settings, tmp / "node", store_dir) as (url, token):
            results["http_floor_healthz_1_client"] = _floor(url, len(cids))
            results["http_me_1_client"] = _floor(url, len(cids), "/v1/me", token)
            results["http_cold_1_client"] = _http(url, token, cids, 1)
            results["http_cached_1_client"] = _http(url, token, cids, 1)
            results[f"http_cached_{clients}_clients"] = _http(url, token, cids, clients)
        progress(f"node B: HTTP, {clients} clients")
        with node_process(consortium.settings, tmp / "node-b", store_dir) as (url, token):
            results[f"http_cold_{clients}_clients"] = _http(url, token, cids, clients)
        progress("in-process")
        settings = consortium.settings
        keyring = load_keyring(keyring_path(store_dir))
        engine = make_engine(f"sqlite:///{tmp / 'node' / 'node.db'}")
        try:
            verifier = DocumentVerifier.from_settings(
                settings, EmbeddedDocumentStore(store_dir), keyring, engine=engine
            )
            results["in_process_cold"] = _in_process(verifier, ids)
            results["in_process_cached"] = _in_process(verifier, ids)
        finally:
            engine.dispose()
        tool = DocumentVerifier.from_settings(settings, EmbeddedDocumentStore(store_dir), keyring)
        results["in_process_chain_path_no_database"] = _in_process(tool, ids)
    finally:
        chain.stop()
    return results


def _http(url: str, token: str, cids: list[str], clients: int) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    errors: list[str] = []

    def work(part: list[str]) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=REQUEST_TIMEOUT_S) as client:
            for cid in part:
                answer = client.get(f"/v1/documents/{cid}/verification")
                if answer.status_code != 200:
                    with lock:
                        errors.append(f"{answer.status_code} {answer.text[:200]}")
                    continue
                for result in answer.json()["documents"]:
                    with lock:
                        statuses[result["status"]] = statuses.get(result["status"], 0) + 1

    parts = [cids[i::clients] for i in range(clients)]
    threads = [threading.Thread(target=work, args=(part,)) for part in parts]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {
        **per_second(len(cids), seconds, "documents"),
        "statuses": statuses,
        "errors": errors[:3],
    }


def _floor(url: str, count: int, path: str = "/healthz", token: str = "") -> dict[str, Any]:
    """`GET path` as many times, one at a time: `/healthz` is the framework's and loopback's
    cost, `/v1/me` (with the key) the cheapest authenticated indexed read's."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, headers=headers, timeout=REQUEST_TIMEOUT_S) as client:
        started = time.perf_counter()
        for _ in range(count):
            answer = client.get(path)
            if answer.status_code != 200:
                raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")
        seconds = time.perf_counter() - started
    return per_second(count, seconds, "requests")


def _in_process(verifier: DocumentVerifier, ids: list[bytes]) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    started = time.perf_counter()
    for document_id in ids:
        status = verifier.verify_document(document_id).status.value
        statuses[status] = statuses.get(status, 0) + 1
    seconds = time.perf_counter() - started
    return {**per_second(len(ids), seconds, "documents"), "statuses": statuses}


if __name__ == "__main__":
    sys.exit(main())
