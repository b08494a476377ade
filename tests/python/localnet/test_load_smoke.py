"""The load benchmark of the local consortium (`make bench-load`), run for a few seconds at a
low rate: its results file has the shape the benchmark summary reads, the writes were done,
every node's database agrees with the chain, and no process is left. The consistency check
itself is shown to fail on a database that lost an event, or holds one twice."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.load import main
from benchmarks.summary import load_figures
from node_api.consistency import compare, confirmed_writes

KINDS = {
    "requests",
    "errors",
    "errors_by_status",
    "offered_per_s",
    "achieved_per_s",
    "target_per_s",
    "p50_ms",
    "p99_ms",
}
NODE_KEYS = {
    "name",
    "indexer_lag_blocks_end",
    "indexer_lag_blocks_max",
    "events_db",
    "events_chain",
    "consistent",
}


def test_a_short_low_rate_load_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "load-benchmark.json"
    argv = ["--seconds", "4", "--write-rate", "4", "--read-rate", "20", "--out", str(out)]
    argv += ["--ceiling-seconds", "2", "--capacity-seconds", "2"]
    assert main(argv) == 0
    results = json.loads(out.read_text())

    assert set(results["writes"]) >= KINDS
    assert set(results["reads"]) >= KINDS
    assert results["writes"]["target_per_s"] == 200
    assert results["reads"]["target_per_s"] == 2000
    assert results["writes"]["requests"] == 16
    assert results["writes"]["errors"] == 0, results["writes"]["errors_by_status"]
    assert results["reads"]["errors"] == 0, results["reads"]["errors_by_status"]
    # Before the load, CPU per write and per read at low rates: 20 writes and 200 reads.
    capacity = results["capacity"]
    assert capacity["writes"]["requests"] == 20
    assert capacity["writes"]["errors"] == 0
    assert capacity["reads"]["requests"] == 200
    # (Two seconds a phase are too few for steady CPU figures; `make bench-load` takes ten.)
    assert {"cpu_ms_per_write", "cpu_ms_per_read", "cores_needed_at_target"} <= set(capacity)
    assert results["consistency"]["writes_on_chain"]["on_chain"] == 16 + 20

    assert [n["name"] for n in results["nodes"]] == ["bank-a", "bank-b", "auditor", "issuer"]
    for node in results["nodes"]:
        assert set(node) == NODE_KEYS
        assert node["consistent"] is True
        assert node["events_db"] == node["events_chain"] > 0
    assert results["consistent"] is True
    assert results["setup"]["processes_left_after_stop"] == []
    assert results["machine"]["cores"] >= 1

    # Where the CPU went: every process of the consortium and the client, by name.
    cores = results["cpu"]["cores_by_process"]
    names = {"anvil", "bank-a", "bank-b", "auditor", "issuer", "oracle", "load client"}
    assert set(cores) == names
    # The oracle sleeps between its pushes and may use under 0.5 ms a second in a short
    # window (0.0 at the 3 decimals kept); every process is measured all the same.
    busy = names - {"oracle"}
    assert all(0 < cores[name] <= results["cpu"]["cores"] for name in busy), cores
    assert 0 <= cores["oracle"] <= results["cpu"]["cores"], cores

    # The HTTP ceiling: 40 GET /healthz over the idle nodes, all answered.
    assert results["http_ceiling"]["requests"] == 40
    assert results["http_ceiling"]["errors"] == 0
    assert set(results["http_ceiling"]["cpu"]["cores_by_process"]) == names

    # The benchmark summary reads it.
    rows = list(load_figures(results))
    assert rows[-1].measured == "yes"
    assert rows[-2].name == "reads against the HTTP ceiling"
    assert rows[-4].name.startswith("cores the targets need")


EVENTS = [
    ("0xaa", 0, 1, "0xb1"),
    ("0xbb", 0, 2, "0xb2"),
    ("0xbb", 1, 2, "0xb2"),
]


def test_a_database_missing_an_event_is_not_consistent() -> None:
    assert compare(EVENTS, list(EVENTS)).consistent
    lost = compare(EVENTS, EVENTS[:2])
    assert not lost.consistent
    assert lost.missing == [EVENTS[2]]
    assert (lost.events_chain, lost.events_db) == (3, 2)


def test_a_database_holding_an_event_twice_or_from_another_block_is_not_consistent() -> None:
    assert not compare(EVENTS, [*EVENTS, EVENTS[0]]).consistent
    orphaned = ("0xaa", 0, 1, "0xdead")  # the same log from a block the chain no longer has
    replaced = compare(EVENTS, [orphaned, *EVENTS[1:]])
    assert replaced.missing == [EVENTS[0]]
    assert replaced.extra == [orphaned]


def test_a_confirmed_write_missing_from_the_chain_or_answered_twice_is_caught() -> None:
    assert confirmed_writes(["0xAA", "0xbb"], EVENTS).consistent
    assert not confirmed_writes(["0xaa", "0xcc"], EVENTS).consistent
    assert confirmed_writes(["0xaa", "0xaa"], EVENTS).duplicates == 1
