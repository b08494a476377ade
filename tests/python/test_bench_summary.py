"""`make bench`'s summary: every benchmark's figures with baseline and ratio, and a
benchmark that has not run listed with its command."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.summary import render

ORACLE = {
    "run_at": "2026-11-29T21:46:43+00:00",
    "vehicles": 5000,
    "main": {"updates_per_s": 4000.0},
    "naive": {"updates_per_s": 8.0},
    "ceiling": {"updates_per_s": 5000.0},
    "ratios": {"main_over_naive": 500.0, "main_over_ceiling": 0.8},
    "targets": [
        {"name": "updates per second", "measured": 4000.0, "target": 5000.0, "result": "MISS"},
        {"name": "main / naive", "measured": 500.0, "target": 50.0, "result": "met"},
    ],
}
GAS = """| operation | gas used | budget |
| --- | ---: | ---: |
| registerVehicle | 99,800 | 150,000 |
| approve (places the lien) | 108,677 |  |
"""


def test_figures_appear_with_baseline_ratio_and_target(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports/oracle-benchmark.json").write_text(json.dumps(ORACLE))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/gas.md").write_text(GAS)
    summary = render(tmp_path)
    assert "| 4,000 /s | 8 /s | 500x | >= 50x: met |" in summary
    assert "| 4,000 /s | 5,000 /s | 0.8x |" in summary
    assert ">= 5,000 /s: MISS" in summary
    assert "| gas | registerVehicle | 99,800 | budget 150,000 | 0.67 | <= budget: met |" in summary
    assert "approve" not in summary  # a row without a budget has no baseline to show


def test_a_benchmark_that_has_not_run_is_listed_with_its_command(tmp_path: Path) -> None:
    summary = render(tmp_path)
    for command in ("make bench-oracle", "make bench-api", "make bench-load", "make gas"):
        assert f"| {command} | not run |" in summary


def test_the_vehicle_list_at_scale_shows_each_query_beside_its_unindexed_time(
    tmp_path: Path,
) -> None:
    scale = {
        "registrations": 100_000,
        "with_index_ms": {"total": 4.9, "first_page": 0.4, "middle_page": 3.4},
        "without_index_ms": {"total": 43.9, "first_page": 0.4, "middle_page": 39.7},
    }
    api = {
        "measured_at": "2026-11-30T07:40:00Z",
        "read_latency": [],
        "verification": {
            key: {"documents_per_s": 100.0}
            for key in ("floor_crypto_only", "http_sequential", "in_process_verifier")
        },
        "indexing": {"floor_eth_getLogs": {"events_per_s": 1000.0}},
        "list_at_scale": {"sqlite": scale},
    }
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports/api-benchmark.json").write_text(json.dumps(api))
    summary = render(tmp_path)
    assert (
        "| GET /v1/vehicles at 100,000 registrations, a page half-way (sqlite) | 3.4 ms"
        " | without its index 39.7 ms | 0.0856x |"
    ) in summary
    assert "its total (sqlite) | 4.9 ms | without its index 43.9 ms |" in summary
