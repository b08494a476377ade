"""Load benchmark of the local consortium (`make bench-load`, issue 8 item 1).

Starts a fresh `vcl localnet up` (anvil, the four node APIs, the oracle scheduler, a small
demo fleet) in a temporary directory on loopback ports, waits for its demo data, then drives
it open loop (`benchmarks.open_loop`) for a bounded time:

- writes at `--write-rate` (the seed's pilot: 200/s) over the banks and the issuer: vehicle
  registrations, loan applications, loan cancellations and rejections, document uploads,
  each with its own `Idempotency-Key`;
- reads at `--read-rate` (10x: 2,000/s) over all four nodes: a vehicle (chain reads), the
  vehicle and loan lists, a loan, the alerts, a vehicle's audit history.

It samples each node's indexer lag (`/metrics`) every second, then waits for every indexer to
reach the head and checks every node's database against the chain (`localnet.consistency`)
and every write answered 2xx against the chain. Results: `reports/load-benchmark.json`.

    python -m benchmarks.load --seconds 60 --write-rate 200 --read-rate 2000
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
import httpx
from web3 import Web3
from web3.types import RPCEndpoint

from benchmarks.open_loop import Answer, machine, ms, open_loop, percentile
from localnet.as_subprocess import (
    alive,
    children_of,
    command_line,
    cpu_seconds,
    start_localnet,
    wait_for,
)
from node_api.consistency import (
    chain_events,
    compare,
    confirmed_writes,
    indexed_to,
    projections_match_rebuild,
    stored_events,
)
from node_api.db import make_engine
from vcl.vin import CHECK_DIGIT_POSITION, check_digit

DEFAULT_OUT = Path("reports/load-benchmark.json")
WRITE_TARGET_PER_S = 200  # the seed's pilot
READ_TARGET_PER_S = 10 * WRITE_TARGET_PER_S
START_TIMEOUT_S = 180.0
DEMO_TIMEOUT_S = 180.0
CATCH_UP_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 90.0
WRITE_TIMEOUT_S = 60.0  # a write answers after its receipt
READ_TIMEOUT_S = 10.0
# Per node and purpose (reads, writes): together below the requests a node works on at once
# (`node_api.api.admission.MAX_REQUESTS_IN_FLIGHT`, 64).
CONNECTIONS_PER_NODE = 28
LAG_SAMPLE_S = 1.0
DAY = 86_400

# Ten consecutive writes: 4 registrations, 3 loan applications, 2 document uploads and one
# lifecycle action (cancel or reject an application); a write whose input (a vehicle, an
# open application) does not exist yet registers a vehicle instead.
WRITE_MIX = (
    "register",
    "apply",
    "register",
    "document",
    "action",
    "register",
    "apply",
    "document",
    "register",
    "apply",
)
READ_KINDS = ("vehicle", "vehicle list", "loan", "alerts", "audit history", "loan list")
BANKS = ("bank-a", "bank-b")
ISSUER = "issuer"


# --- the consortium ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    name: str
    url: str
    token: str


@dataclass
class Consortium:
    state_dir: Path
    rpc_url: str
    chain_id: int
    contracts: dict[str, str]
    nodes: list[Node]
    fleet_vins: list[str]
    demo_loans: list[str]
    processes: dict[str, int]  # name -> pid: the chain, each node, the oracle, this client

    def cpu_seconds(self) -> dict[str, float | None]:
        return {name: cpu_seconds(pid) for name, pid in self.processes.items()}

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)


@contextmanager
def local_consortium(
    state_dir: Path, *, vehicles: int, oracle_interval_s: float, left: list[int]
) -> Iterator[Consortium]:
    """`vcl localnet up` in `state_dir` on free loopback ports until its demo data is
    complete; on exit SIGINT (its Ctrl-C) and a check that none of its processes is left:
    their pids are appended to `left`."""
    out = (state_dir / "launcher.out").open("wb")
    launcher = start_localnet(
        state_dir, out, vehicles=vehicles, oracle_interval_s=oracle_interval_s
    )
    children: list[int] = []
    try:
        document_file = state_dir / "consortium.json"
        progress_file = state_dir / "demo-progress.json"

        def demo_complete() -> bool:
            if launcher.poll() is not None:
                raise RuntimeError(
                    f"the local consortium exited ({launcher.returncode}): "
                    f"{(state_dir / 'launcher.out').read_text(errors='replace')[-2000:]}"
                )
            return progress_file.exists() and bool(
                json.loads(progress_file.read_text() or "{}").get("complete")
            )

        wait_for(lambda: demo_complete() and document_file.exists(), START_TIMEOUT_S, "the demo")
        children = children_of(launcher.pid)
        document = json.loads(document_file.read_text())
        progress = json.loads(progress_file.read_text())
        fleet = (state_dir / "fleet/vehicles.csv").read_text().splitlines()
        yield Consortium(
            state_dir=state_dir,
            rpc_url=document["chain"]["rpc_url"],
            chain_id=document["chain"]["chain_id"],
            contracts=document["contracts"],
            nodes=[Node(n["name"], n["url"], n["api_key"]) for n in document["nodes"]],
            fleet_vins=[line.split(",")[0] for line in fleet[1:]],
            demo_loans=[str(loan) for loan in progress.get("loans", {}).values()],
            processes=_named(children, document["nodes"]),
        )
    finally:
        if launcher.poll() is None:
            launcher.send_signal(signal.SIGINT)
            try:
                launcher.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                launcher.kill()
                launcher.wait()
        out.close()
        left.extend(pid for pid in children if alive(pid))


def _named(pids: Sequence[int], nodes: Sequence[dict[str, Any]]) -> dict[str, int]:
    """The consortium's processes by name, from their command lines (a node by its port)."""
    by_port = {n["url"].rsplit(":", 1)[1]: n["name"] for n in nodes}
    named = {"load client": os.getpid()}
    for pid in pids:
        argv = command_line(pid)
        if any(Path(arg).name == "anvil" for arg in argv):
            named["anvil"] = pid
        elif "node_api" in argv and "--port" in argv:
            named[by_port.get(argv[argv.index("--port") + 1], f"node {pid}")] = pid
        elif any("oracle" in arg for arg in argv):
            named["oracle"] = pid
        else:
            named[f"process {pid}"] = pid
    return named


def interval_mining(rpc_url: str, block_time_s: int) -> None:
    """From now on a block every `block_time_s` seconds holding every pending transaction, as
    a QBFT network mines (2 s in deploy/besu), instead of a block per transaction. Switched
    after the demo data, whose thousands of sequential writes would each wait for a block."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
    w3.provider.make_request(RPCEndpoint("evm_setIntervalMining"), [block_time_s])


def cpu_use(
    before: dict[str, float | None], after: dict[str, float | None], seconds: float
) -> dict[str, Any]:
    """Cores used by each process over `seconds` (1.0: one core all the time) and in all."""
    cores: dict[str, float | None] = {}
    for name, was in before.items():
        now = after.get(name)
        cores[name] = None if was is None or now is None else round((now - was) / seconds, 3)
    return {
        "cores_by_process": cores,
        "cores_used": round(sum(c for c in cores.values() if c is not None), 2),
        "cores": os.cpu_count(),
    }


# --- the load ---------------------------------------------------------------------------------


def _vin(serial: int) -> str:
    draft = f"5YJ3E1EA7K{serial:07d}"
    return draft[:CHECK_DIGIT_POSITION] + check_digit(draft) + draft[CHECK_DIGIT_POSITION + 1 :]


@dataclass
class WriteState:
    """What the writes created so far: the inputs of later writes and of the reads."""

    registered: dict[str, list[str]] = field(default_factory=lambda: {b: [] for b in BANKS})
    applied: dict[str, deque[str]] = field(default_factory=lambda: {b: deque() for b in BANKS})
    tx_hashes: list[str] = field(default_factory=list)
    operation: dict[int, str] = field(default_factory=dict)  # write index -> what it did


class Load:
    def __init__(self, consortium: Consortium) -> None:
        self.consortium = consortium
        self.state = WriteState()
        self.vins = list(consortium.fleet_vins)
        self.loans = list(consortium.demo_loans)
        self._serials = itertools.count()  # new VINs across all runs on this consortium
        self._sessions: dict[tuple[str, str], aiohttp.ClientSession] = {}

    def session(self, node: str, purpose: str) -> aiohttp.ClientSession:
        """One pool per node and purpose: slow writes (a receipt each) never take the
        connections the reads need. aiohttp, not httpx: at thousands of requests a second
        httpx's pool (its queue of waiting requests) made the client the bottleneck."""
        key = (node, purpose)
        if key not in self._sessions:
            found = self.consortium.node(node)
            timeout = WRITE_TIMEOUT_S if purpose == "write" else READ_TIMEOUT_S
            self._sessions[key] = aiohttp.ClientSession(
                base_url=found.url,
                headers={"Authorization": f"Bearer {found.token}"},
                timeout=aiohttp.ClientTimeout(total=timeout),
                connector=aiohttp.TCPConnector(limit=CONNECTIONS_PER_NODE),
            )
        return self._sessions[key]

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()

    # writes

    async def write(self, i: int) -> int:
        bank = BANKS[i % 2]
        wanted = WRITE_MIX[i % len(WRITE_MIX)]
        state = self.state
        if wanted == "apply" and state.registered[bank]:
            vin = state.registered[bank][(i // 2) % len(state.registered[bank])]
            return await self._post(i, "loan application", bank, "/v1/loans", _loan(vin, i))
        if wanted == "action" and state.applied[bank]:
            loan_id = state.applied[bank].popleft()
            action = "cancel" if i % 4 < 2 else "reject"
            return await self._post(i, f"loan {action}", bank, f"/v1/loans/{loan_id}/{action}")
        registered = state.registered[BANKS[0]] + state.registered[BANKS[1]]
        if wanted == "document" and registered:
            vin = registered[i % len(registered)]
            files = {"file": ("service.txt", f"service record {i}".encode(), "text/plain")}
            return await self._post(
                i,
                "document upload",
                ISSUER,
                f"/v1/vehicles/{vin}/documents",
                data={"doc_type": "maintenance"},
                files=files,
            )
        serial = next(self._serials)
        vin = _vin(serial)
        body = {"vin": vin, "owner_ref": f"load-{serial}", "appraisal_value": 2_000_000 + i}
        return await self._post(i, "vehicle registration", bank, "/v1/vehicles", body, vin=vin)

    async def _post(
        self,
        i: int,
        operation: str,
        node: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        vin: str | None = None,
        data: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> int:
        self.state.operation[i] = operation
        form = None
        if data is not None:
            form = aiohttp.FormData(data)
            for name, (filename, content, content_type) in (files or {}).items():
                form.add_field(name, content, filename=filename, content_type=content_type)
        async with self.session(node, "write").post(
            path, json=body, data=form, headers={"Idempotency-Key": uuid.uuid4().hex}
        ) as response:
            if not response.ok:
                return response.status
            answer = await response.json()
        self.state.tx_hashes.append(answer["transaction_hash"])
        if vin is not None:
            self.state.registered[node].append(vin)
            self.vins.append(vin)
        if operation == "loan application":
            self.state.applied[node].append(answer["loan_id"])
            self.loans.append(answer["loan_id"])
        return response.status

    # reads

    async def read(self, i: int) -> int:
        nodes = self.consortium.nodes
        node = nodes[i % len(nodes)].name
        kind = READ_KINDS[(i // len(nodes)) % len(READ_KINDS)]
        vin = self.vins[i % len(self.vins)]
        path = {
            "vehicle": f"/v1/vehicles/{vin}",
            "vehicle list": f"/v1/vehicles?limit=50&offset={i % 5 * 50}",
            "loan": f"/v1/loans/{self.loans[i % len(self.loans)]}" if self.loans else "/v1/loans",
            "alerts": "/v1/alerts?limit=50",
            "audit history": f"/v1/audit/vehicles/{vin}/history",
            "loan list": "/v1/loans?limit=50",
        }[kind]
        async with self.session(node, "read").get(path) as response:
            await response.read()
            return response.status

    async def ping(self, i: int) -> int:
        """`GET /healthz` over the nodes in turn: the same client, server and middleware as a
        read, with no work behind it: the ceiling of the HTTP stack on this machine."""
        node = self.consortium.nodes[i % len(self.consortium.nodes)].name
        async with self.session(node, "read").get("/healthz") as response:
            await response.read()
            return response.status


@dataclass
class LagSamples:
    end: dict[str, int | None] = field(default_factory=dict)
    max: dict[str, int] = field(default_factory=dict)


LAG_LINE = re.compile(r"^vcl_indexer_lag_blocks (\d+)$", re.MULTILINE)
CURSOR_LINE = re.compile(r"^vcl_indexer_cursor_block (\d+)$", re.MULTILINE)


async def _metric(client: httpx.AsyncClient, node: Node, line: re.Pattern[str]) -> int | None:
    try:
        text = (await client.get(f"{node.url}/metrics", timeout=READ_TIMEOUT_S)).text
    except httpx.HTTPError:
        return None
    found = line.search(text)
    return int(found.group(1)) if found else None


async def _sample_lag(nodes: Sequence[Node], samples: LagSamples, done: asyncio.Event) -> None:
    async with httpx.AsyncClient() as client:
        while not done.is_set():
            for node in nodes:
                lag = await _metric(client, node, LAG_LINE)
                samples.end[node.name] = lag
                if lag is not None:
                    samples.max[node.name] = max(lag, samples.max.get(node.name, 0))
            with suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), LAG_SAMPLE_S)


@dataclass(frozen=True)
class Measured:
    answers: list[Answer]
    sent_s: float
    elapsed_s: float  # from the first due time to the last answer


async def _timed(send: Callable[[int], Awaitable[int]], rate: float, seconds: float) -> Measured:
    loop = asyncio.get_running_loop()
    start = loop.time()
    answers, sent_s = await open_loop(send, rate, seconds) if rate > 0 else ([], 0.0)
    return Measured(answers, sent_s, loop.time() - start)


async def drive(
    load: Load, write_rate: float, read_rate: float, seconds: float
) -> tuple[Measured, Measured, LagSamples, dict[str, Any]]:
    """The load for `seconds`; its answers, the indexer lag and the CPU each process used
    while the requests were being sent."""
    samples = LagSamples()
    done = asyncio.Event()
    sampler = asyncio.create_task(_sample_lag(load.consortium.nodes, samples, done))
    cpu_before, start = load.consortium.cpu_seconds(), time.monotonic()
    try:
        writes, reads = await asyncio.gather(
            _timed(load.write, write_rate, seconds), _timed(load.read, read_rate, seconds)
        )
    finally:
        done.set()
        await sampler
    cpu = cpu_use(cpu_before, load.consortium.cpu_seconds(), time.monotonic() - start)
    return writes, reads, samples, cpu


CAPACITY_WRITE_RATE = 10.0  # well below saturation: the CPU of a write, not of a queue
CAPACITY_READ_RATE = 100.0
CAPACITY_SETTLE_S = 3.0


async def measure_capacity(load: Load, seconds: float) -> dict[str, Any]:
    """CPU of the whole consortium (every process and this client) per write and per read,
    from three short phases on the fresh consortium: idle, writes alone, reads alone; and the
    cores the targets would take at those costs. Sets what this machine can sustain apart
    from what a saturated run shows."""
    _progress(f"capacity: idle, {CAPACITY_WRITE_RATE:g} writes/s, {CAPACITY_READ_RATE:g} reads/s")
    await asyncio.sleep(CAPACITY_SETTLE_S)  # the demo's last blocks indexed everywhere
    before, start = load.consortium.cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)  # nothing sent: the oracle's pushes, indexers' polling
    idle = cpu_use(before, load.consortium.cpu_seconds(), time.monotonic() - start)["cores_used"]
    writes, _, _, write_cpu = await drive(load, CAPACITY_WRITE_RATE, 0, seconds)
    _, reads, _, read_cpu = await drive(load, 0, CAPACITY_READ_RATE, seconds)
    load.state.operation.clear()
    w, r = figures(writes, WRITE_TARGET_PER_S), figures(reads, READ_TARGET_PER_S)
    write_ms = 1000 * (write_cpu["cores_used"] - idle) / max(w["achieved_per_s"], 1e-9)
    read_ms = 1000 * (read_cpu["cores_used"] - idle) / max(r["achieved_per_s"], 1e-9)
    needed = idle + (WRITE_TARGET_PER_S * write_ms + READ_TARGET_PER_S * read_ms) / 1000
    return {
        "idle_cores": idle,
        "writes": {**w, "cpu": write_cpu},
        "reads": {**r, "cpu": read_cpu},
        "cpu_ms_per_write": round(write_ms, 2),
        "cpu_ms_per_read": round(read_ms, 2),
        "cores_needed_at_target": round(needed, 1),
        "cores": os.cpu_count(),
    }


async def http_ceiling(consortium: Consortium, rate: float, seconds: float) -> dict[str, Any]:
    """`GET /healthz` at `rate` on the idle consortium: what the HTTP stack alone (this client,
    uvicorn, the node's middleware) sustains on this machine, the baseline of the reads."""
    load = Load(consortium)
    try:
        before, start = consortium.cpu_seconds(), time.monotonic()
        pings = await _timed(load.ping, rate, seconds)
        cpu = cpu_use(before, consortium.cpu_seconds(), time.monotonic() - start)
        return {**figures(pings, READ_TARGET_PER_S), "cpu": cpu}
    finally:
        await load.close()


def figures(measured: Measured, target: float) -> dict[str, Any]:
    answers = measured.answers
    ok = sorted(a.latency_s for a in answers if 200 <= a.status < 300)
    failed = Counter(str(a.status) for a in answers if not 200 <= a.status < 300)
    return {
        "requests": len(answers),
        "errors": sum(failed.values()),
        "errors_by_status": dict(sorted(failed.items())),
        "offered_per_s": round(len(answers) / measured.sent_s, 1) if measured.sent_s else 0.0,
        "achieved_per_s": round(len(ok) / measured.elapsed_s, 1) if measured.elapsed_s else 0.0,
        "target_per_s": target,
        "p50_ms": ms(percentile(ok, 0.50)),
        "p99_ms": ms(percentile(ok, 0.99)),
    }


def by_operation(measured: Measured, operation: Callable[[int], str]) -> dict[str, Any]:
    """Per operation: count, errors and latency, to see which kind is slow."""
    groups: dict[str, list[Answer]] = {}
    for answer in measured.answers:
        groups.setdefault(operation(answer.index), []).append(answer)
    out = {}
    for name, answers in sorted(groups.items()):
        ok = sorted(a.latency_s for a in answers if 200 <= a.status < 300)
        out[name] = {
            "requests": len(answers),
            "errors": len(answers) - len(ok),
            "p50_ms": ms(percentile(ok, 0.50)),
            "p99_ms": ms(percentile(ok, 0.99)),
        }
    return out


# --- after the load ---------------------------------------------------------------------------


def check_consistency(consortium: Consortium, tx_hashes: Sequence[str]) -> dict[str, Any]:
    """Up to the head once every indexer reached it: each node's events against the chain's,
    its projections against a rebuild from its events, and every confirmed write against the
    chain."""
    w3 = Web3(Web3.HTTPProvider(consortium.rpc_url, request_kwargs={"timeout": 60}))
    head = w3.eth.block_number
    engines = {
        node.name: make_engine(f"sqlite:///{consortium.state_dir / node.name / 'node.db'}")
        for node in consortium.nodes
    }
    try:
        started = time.monotonic()
        shown = [started]

        def caught_up() -> bool:
            cursors = {name: indexed_to(e, consortium.chain_id) for name, e in engines.items()}
            behind = {name: c for name, c in cursors.items() if c is None or c < head}
            if behind and time.monotonic() - shown[0] >= 10:
                shown[0] = time.monotonic()
                _progress(f"indexed to {behind}, head {head}")
            return not behind

        wait_for(caught_up, CATCH_UP_TIMEOUT_S, "the indexers")
        catch_up_s = time.monotonic() - started
        addresses = [Web3.to_checksum_address(a) for a in consortium.contracts.values()]
        chain = chain_events(w3, addresses, last=head)
        nodes = []
        for name, engine in engines.items():
            comparison = compare(chain, stored_events(engine, consortium.chain_id, head))
            projections = projections_match_rebuild(engine, consortium.chain_id)
            nodes.append(
                {
                    "name": name,
                    "events_db": comparison.events_db,
                    "events_chain": comparison.events_chain,
                    "missing": len(comparison.missing),
                    "extra": len(comparison.extra),
                    "projections_match_rebuild": projections,
                    "consistent": comparison.consistent and projections,
                }
            )
    finally:
        for engine in engines.values():
            engine.dispose()
    writes = confirmed_writes(tx_hashes, chain)
    return {
        "checked_to_block": head,
        "catch_up_s": round(catch_up_s, 1),
        "nodes": nodes,
        "writes_on_chain": {
            "answered_2xx": writes.answered,
            "on_chain": writes.on_chain,
            "duplicates": writes.duplicates,
            "consistent": writes.consistent,
        },
    }


# --- the run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    seconds: float
    write_rate: float
    read_rate: float
    vehicles: int
    oracle_interval_s: float
    step_up: tuple[tuple[float, float], ...] = ()  # (write rate, read rate) per step
    step_seconds: float = 10.0
    ceiling_seconds: float = 10.0  # GET /healthz at the read rate; 0: not measured
    block_time_s: int = 0  # 0: a block per transaction, as `vcl localnet up` mines
    capacity_seconds: float = 10.0  # per phase of `capacity`, before the load; 0: skipped


def run(options: Options, state_dir: Path) -> dict[str, Any]:
    left: list[int] = []
    load_before = os.getloadavg()
    with local_consortium(
        state_dir,
        vehicles=options.vehicles,
        oracle_interval_s=options.oracle_interval_s,
        left=left,
    ) as consortium:
        load = Load(consortium)
        if options.block_time_s:
            interval_mining(consortium.rpc_url, options.block_time_s)
        _progress(
            f"consortium ready; {options.write_rate:g} writes/s and {options.read_rate:g} "
            f"reads/s for {options.seconds:g} s"
        )

        main_operations: dict[int, str] = {}
        capacity: dict[str, Any] = {}

        async def measure() -> tuple[
            Measured, Measured, LagSamples, dict[str, Any], list[dict[str, Any]]
        ]:
            try:
                if options.capacity_seconds > 0:
                    capacity.update(await measure_capacity(load, options.capacity_seconds))
                main = await drive(load, options.write_rate, options.read_rate, options.seconds)
                main_operations.update(load.state.operation)
                steps = []
                for write_rate, read_rate in options.step_up:
                    _progress(f"step: {write_rate:g} writes/s, {read_rate:g} reads/s")
                    load.state.operation.clear()
                    w, r, lag, cpu = await drive(load, write_rate, read_rate, options.step_seconds)
                    steps.append(
                        {
                            "seconds": options.step_seconds,
                            "writes": figures(w, write_rate),
                            "reads": figures(r, read_rate),
                            "indexer_lag_blocks_max": lag.max,
                            "cpu": cpu,
                        }
                    )
                return (*main, steps)
            finally:
                await load.close()

        writes, reads, lag, cpu, steps = asyncio.run(measure())
        load_after = os.getloadavg()
        _progress(f"writes {figures(writes, WRITE_TARGET_PER_S)}")
        _progress(f"reads {figures(reads, READ_TARGET_PER_S)}")
        _progress(f"indexer lag: end {lag.end}, max {lag.max}")
        _progress("waiting for the indexers, then checking every database against the chain")
        checked = check_consistency(consortium, load.state.tx_hashes)
        ceiling = None
        if options.ceiling_seconds > 0 and options.read_rate > 0:
            _progress(f"HTTP ceiling: GET /healthz at {options.read_rate:g}/s, the load over")
            ceiling = asyncio.run(
                http_ceiling(consortium, options.read_rate, options.ceiling_seconds)
            )
    for node in checked["nodes"]:
        node["indexer_lag_blocks_end"] = lag.end.get(node["name"])
        node["indexer_lag_blocks_max"] = lag.max.get(node["name"])
    consistent = all(n["consistent"] for n in checked["nodes"]) and bool(
        checked["writes_on_chain"]["consistent"]
    )
    operations = by_operation(writes, lambda i: main_operations.get(i, "vehicle registration"))
    n_nodes = len(consortium.nodes)
    operations.update(
        by_operation(reads, lambda i: "GET " + READ_KINDS[(i // n_nodes) % len(READ_KINDS)])
    )
    return {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "duration_s": options.seconds,
        "writes": figures(writes, WRITE_TARGET_PER_S),
        "reads": figures(reads, READ_TARGET_PER_S),
        "nodes": [
            {
                key: node[key]
                for key in (
                    "name",
                    "indexer_lag_blocks_end",
                    "indexer_lag_blocks_max",
                    "events_db",
                    "events_chain",
                    "consistent",
                )
            }
            for node in checked["nodes"]
        ],
        "consistent": consistent,
        "cpu": cpu,
        "machine": machine(load_before, load_after),
        "setup": {
            "offered_write_rate": options.write_rate,
            "offered_read_rate": options.read_rate,
            "demo_vehicles": options.vehicles,
            "oracle_interval_s": options.oracle_interval_s,
            "chain": f"anvil, a block every {options.block_time_s} s"
            if options.block_time_s
            else "anvil, a block per transaction",
            "processes_left_after_stop": left,
        },
        "operations": operations,
        "consistency": checked,
        "step_up": steps,
        "http_ceiling": ceiling,
        "capacity": capacity or None,
    }


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _steps(text: str) -> tuple[tuple[float, float], ...]:
    """ "20:200,40:400" -> ((20, 200), (40, 400))."""
    steps = []
    for part in text.split(","):
        writes, _, reads = part.partition(":")
        steps.append((float(writes), float(reads or 10 * float(writes))))
    return tuple(steps)


def format_table(results: dict[str, Any]) -> str:
    lines = [
        f"{'kind':7} {'target/s':>8} {'offered/s':>9} {'achieved/s':>10} {'p50 ms':>9} "
        f"{'p99 ms':>9} errors"
    ]
    for kind in ("writes", "reads"):
        row = results[kind]
        lines.append(
            f"{kind:7} {row['target_per_s']:>8} {row['offered_per_s']:>9} "
            f"{row['achieved_per_s']:>10} {row['p50_ms']!s:>9} {row['p99_ms']!s:>9} "
            f"{row['errors']} {row['errors_by_status']}"
        )
    for node in results["nodes"]:
        lines.append(
            f"{node['name']:8} lag end {node['indexer_lag_blocks_end']} max "
            f"{node['indexer_lag_blocks_max']}; events db {node['events_db']} chain "
            f"{node['events_chain']}: {'consistent' if node['consistent'] else 'NOT CONSISTENT'}"
        )
    lines.append(f"consistent: {results['consistent']}")
    cpu = results["cpu"]
    lines.append(
        f"cores used {cpu['cores_used']} of {cpu['cores']}: "
        + ", ".join(f"{name} {cores}" for name, cores in cpu["cores_by_process"].items())
    )
    if (capacity := results.get("capacity")) is not None:
        lines.append(
            f"capacity: {capacity['cpu_ms_per_write']} ms CPU a write, "
            f"{capacity['cpu_ms_per_read']} ms a read, idle {capacity['idle_cores']} cores: "
            f"the targets need {capacity['cores_needed_at_target']} cores of {capacity['cores']}"
        )
    if (ceiling := results.get("http_ceiling")) is not None:
        lines.append(
            f"ceiling GET /healthz {ceiling['offered_per_s']} /s -> {ceiling['achieved_per_s']} "
            f"(p50 {ceiling['p50_ms']} ms, p99 {ceiling['p99_ms']} ms, {ceiling['errors']} err; "
            f"{ceiling['cpu']['cores_used']} cores)"
        )
    for step in results["step_up"]:
        w, r = step["writes"], step["reads"]
        lines.append(
            f"step {w['offered_per_s']:>7} w/s -> {w['achieved_per_s']:>6} (p99 {w['p99_ms']} ms, "
            f"{w['errors']} err); {r['offered_per_s']:>7} r/s -> {r['achieved_per_s']:>6} "
            f"(p99 {r['p99_ms']} ms, {r['errors']} err)"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the load runs")
    parser.add_argument("--write-rate", type=float, default=WRITE_TARGET_PER_S)
    parser.add_argument("--read-rate", type=float, default=READ_TARGET_PER_S)
    parser.add_argument("--vehicles", type=int, default=10, help="demo fleet size (min 10)")
    parser.add_argument("--oracle-interval", type=float, default=5.0)
    parser.add_argument(
        "--step-up",
        type=_steps,
        default=(),
        help='after the main run, short runs at "writes:reads,..." per second',
    )
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument(
        "--block-time",
        type=int,
        default=0,
        help="mine a block every this many seconds during the load (0: a block per transaction)",
    )
    parser.add_argument(
        "--capacity-seconds",
        type=float,
        default=10.0,
        help="before the load, CPU per write and per read at low rates for this long (0: skip)",
    )
    parser.add_argument(
        "--ceiling-seconds",
        type=float,
        default=10.0,
        help="after the load, GET /healthz at the read rate for this long (0: skip)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="keep the consortium's state and logs here (default: a "
        "temporary directory, removed afterwards)",
    )
    args = parser.parse_args(argv)
    options = Options(
        seconds=args.seconds,
        write_rate=args.write_rate,
        read_rate=args.read_rate,
        vehicles=args.vehicles,
        oracle_interval_s=args.oracle_interval,
        step_up=args.step_up,
        step_seconds=args.step_seconds,
        ceiling_seconds=args.ceiling_seconds,
        block_time_s=args.block_time,
        capacity_seconds=args.capacity_seconds,
    )
    signal.signal(signal.SIGTERM, _interrupt)  # so the consortium is stopped, not orphaned
    if args.state_dir is not None:
        args.state_dir.mkdir(parents=True, exist_ok=False)
        results = run(options, args.state_dir.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="vcl-load-") as tmp:
            results = run(options, Path(tmp))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(format_table(results))
    print(f"written to {args.out}")
    left = results["setup"]["processes_left_after_stop"]
    if left:
        print(f"processes left running after the stop: {left}", file=sys.stderr)
    return 0 if results["consistent"] and not left else 1


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _loan(vin: str, i: int) -> dict[str, Any]:
    return {
        "vin": vin,
        "borrower_ref": f"load-{i}",
        "principal": 1_000_000,
        "base_rate_bps": 650,
        "term_seconds": 360 * DAY,
        "installment_interval_seconds": 30 * DAY,
    }


if __name__ == "__main__":
    sys.exit(main())
