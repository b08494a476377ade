"""`make bench`'s last step: every benchmark figure of the project in one markdown file.

Each benchmark writes its own results file (reports/, not committed); this reads them and
writes docs/benchmarks.md, each figure beside the baseline measured in the same run, their
ratio and the target where the issue states one. A benchmark that has not run is listed
with the command that runs it, never left out silently.

    python -m benchmarks.summary [--reports reports] [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Figure:
    area: str
    name: str
    measured: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""


def _num(value: float, unit: str = "") -> str:
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    return f"{text} {unit}".strip()


def _ratio(value: float) -> str:
    return f"{value:.3g}x"


def oracle_figures(data: dict[str, Any]) -> Iterator[Figure]:
    main, naive, ceiling = data["main"], data["naive"], data["ceiling"]
    ratios = data["ratios"]
    targets = {t["name"]: t for t in data.get("targets", [])}

    def target(name: str, unit: str) -> str:
        found = targets.get(name)
        if found is None:
            return ""
        goal = f"{found['target']:g}x" if unit == "x" else _num(found["target"], unit)
        return f">= {goal}: {found['result']}"

    area = f"oracle ({data['vehicles']:,} vehicles)"
    yield Figure(
        area,
        "score updates confirmed on-chain, end to end (the day's delivery into the feed store)",
        _num(main["updates_per_s"], "/s"),
        target=target("updates per second", "/s"),
    )
    year = data.get("main_year_of_files")
    if year is not None:
        yield Figure(
            area,
            "the same push reading the year's feed files",
            _num(year["updates_per_s"], "/s"),
        )
    yield Figure(
        area,
        "vs naive (one transaction per vehicle, wait for each receipt)",
        _num(main["updates_per_s"], "/s"),
        _num(naive["updates_per_s"], "/s"),
        _ratio(ratios["main_over_naive"]),
        target("main / naive", "x"),
    )
    yield Figure(
        area,
        "vs ceiling (same calldata, pre-signed, sent raw)",
        _num(main["updates_per_s"], "/s"),
        _num(ceiling["updates_per_s"], "/s"),
        _ratio(ratios["main_over_ceiling"]),
        target("main / ceiling", "x"),
    )


def api_figures(data: dict[str, Any]) -> Iterator[Figure]:
    floors = {
        row["rate_per_s"]: row
        for row in data["read_latency"]
        if row["endpoint"].startswith("GET /healthz") and "p50_ms" in row
    }
    for row in data["read_latency"]:
        if row["endpoint"].startswith("GET /healthz") or "p50_ms" not in row:
            continue
        rate = row["rate_per_s"]
        floor = floors.get(rate)
        measured = f"p50 {_num(row['p50_ms'], 'ms')}, p99 {_num(row['p99_ms'], 'ms')}"
        if row.get("answered_per_s", rate) < 0.95 * rate:
            measured += f" (overloaded: {_num(row['answered_per_s'], '/s')} answered)"
        yield Figure(
            "node API read latency",
            f"{row['endpoint']} at {rate}/s",
            measured,
            "" if floor is None else f"/healthz p50 {_num(floor['p50_ms'], 'ms')}",
            "" if floor is None else _ratio(row["p50_ms"] / max(floor["p50_ms"], 1e-9)),
        )
    verification = data["verification"]
    floor = verification["floor_crypto_only"]["documents_per_s"]
    for key, label in (("http_sequential", "over HTTP"), ("in_process_verifier", "in process")):
        rate = verification[key]["documents_per_s"]
        yield Figure(
            "node API verification",
            f"documents verified {label}",
            _num(rate, "/s"),
            f"sha256 + ecrecover alone {_num(floor, '/s')}",
            _ratio(rate / floor),
        )
    indexing = data["indexing"]
    fetch = indexing["floor_eth_getLogs"]["events_per_s"]
    for backend in ("sqlite", "postgresql"):
        if backend in indexing:
            rate = indexing[backend]["events_per_s"]
            yield Figure(
                "node API indexer",
                f"events indexed into {backend}",
                _num(rate, "/s"),
                f"eth_getLogs fetch alone {_num(fetch, '/s')}",
                _ratio(rate / fetch),
            )
    yield from list_figures(data)


def list_figures(data: dict[str, Any]) -> Iterator[Figure]:
    """The vehicle list at scale (`benchmarks.api_lists`), in the API benchmark's file."""
    labels = {"total": "its total", "middle_page": "a page half-way"}
    for backend, scale in data.get("list_at_scale", {}).items():
        for query, label in labels.items():
            indexed = scale["with_index_ms"][query]
            plain = scale["without_index_ms"][query]
            yield Figure(
                "node API vehicle list",
                f"GET /v1/vehicles at {scale['registrations']:,} registrations, {label} "
                f"({backend})",
                _num(indexed, "ms"),
                f"without its index {_num(plain, 'ms')}",
                _ratio(indexed / max(plain, 1e-9)),
            )


def load_figures(data: dict[str, Any]) -> Iterator[Figure]:
    for kind in ("writes", "reads"):
        row = data[kind]
        yield Figure(
            "local consortium load",
            f"{kind}: sustained throughput ({row['requests']:,} requests, {row['errors']} errors)",
            _num(row["achieved_per_s"], "/s") + f", p50 {_num(row['p50_ms'], 'ms')}, "
            f"p99 {_num(row['p99_ms'], 'ms')}",
            _num(row["offered_per_s"], "/s offered"),
            _ratio(row["achieved_per_s"] / row["offered_per_s"]),
            f">= {_num(row['target_per_s'], '/s')}: "
            + ("met" if row["achieved_per_s"] >= row["target_per_s"] else "MISS"),
        )
    capacity = data.get("capacity")
    if capacity is not None:
        # What the targets cost at the CPU a write and a read take when nothing queues.
        yield Figure(
            "local consortium load",
            f"cores the targets need: {capacity['cpu_ms_per_write']:g} ms CPU a write, "
            f"{capacity['cpu_ms_per_read']:g} ms a read, {capacity['idle_cores']:g} idle",
            _num(capacity["cores_needed_at_target"], "cores"),
            _num(capacity["cores"], "cores on this machine"),
            _ratio(capacity["cores_needed_at_target"] / capacity["cores"]),
        )
    ceiling = data.get("http_ceiling")
    if ceiling is not None:
        # The reads' baseline: the same client and server with no work behind the request.
        yield Figure(
            "local consortium load",
            "HTTP ceiling: GET /healthz (no work) over the nodes, the load over",
            _num(ceiling["achieved_per_s"], "/s") + f", p50 {_num(ceiling['p50_ms'], 'ms')}, "
            f"p99 {_num(ceiling['p99_ms'], 'ms')}"
            + (f", {ceiling['cpu']['cores_used']:g} cores" if "cpu" in ceiling else ""),
            _num(ceiling["offered_per_s"], "/s offered"),
            _ratio(ceiling["achieved_per_s"] / ceiling["offered_per_s"]),
        )
        yield Figure(
            "local consortium load",
            "reads against the HTTP ceiling",
            _num(data["reads"]["achieved_per_s"], "/s"),
            _num(ceiling["achieved_per_s"], "/s"),
            _ratio(data["reads"]["achieved_per_s"] / ceiling["achieved_per_s"]),
        )
    yield Figure(
        "local consortium load",
        "every node's database equal to the chain afterwards",
        "yes" if data["consistent"] else "NO",
    )


GAS_ROW = re.compile(r"^\| (?P<op>[^|]+) \| (?P<gas>[\d,]+) \| (?P<budget>[\d,]*) \|$")


def gas_figures(table: str) -> Iterator[Figure]:
    for line in table.splitlines():
        match = GAS_ROW.match(line.strip())
        if match is None or not match["budget"]:
            continue
        gas = int(match["gas"].replace(",", ""))
        budget = int(match["budget"].replace(",", ""))
        yield Figure(
            "gas",
            match["op"].strip(),
            f"{gas:,}",
            f"budget {budget:,}",
            f"{gas / budget:.2f}",
            "<= budget: " + ("met" if gas <= budget else "MISS"),
        )


@dataclass(frozen=True)
class Source:
    path: str
    command: str
    read: Callable[[Path], Iterator[Figure]]


def _json(
    reader: Callable[[dict[str, Any]], Iterator[Figure]],
) -> Callable[[Path], Iterator[Figure]]:
    return lambda path: reader(json.loads(path.read_text()))


SOURCES = (
    Source("reports/oracle-benchmark.json", "make bench-oracle", _json(oracle_figures)),
    Source("reports/api-benchmark.json", "make bench-api", _json(api_figures)),
    Source("reports/load-benchmark.json", "make bench-load", _json(load_figures)),
    Source("docs/gas.md", "make gas", lambda path: gas_figures(path.read_text())),
)


def _when(path: Path) -> str:
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        for key in ("run_at", "measured_at"):
            if key in data:
                return str(data[key])
    return "see the file"


def render(root: Path) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks.summary`) from the results files of",
        "each benchmark; regenerate it rather than editing it. Every figure sits beside a",
        "baseline measured in the same run. On the development machine: 2 cores, anvil.",
        "",
        "| area | figure | measured | baseline | ratio | target |",
        "| --- | --- | --- | --- | ---: | --- |",
    ]
    sources = []
    for source in SOURCES:
        path = root / source.path
        if not path.exists():
            lines.append(f"| {source.command} | not run | | | | |")
            sources.append(f"- `{source.path}`: not present; `{source.command}` writes it.")
            continue
        for f in source.read(path):
            lines.append(
                f"| {f.area} | {f.name} | {f.measured} | {f.baseline} | {f.ratio} | {f.target} |"
            )
        sources.append(f"- `{source.path}` ({source.command}), measured {_when(path)}")
    return "\n".join([*lines, "", "Sources:", "", *sources, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()
    args.out.write_text(render(args.root))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
