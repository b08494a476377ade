"""The benchmark (`python -m benchmarks.oracle`) end to end on a tiny fleet: it runs on its own
anvil and writes every figure; how fast is the benchmark's business, not the test's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.oracle import main


def test_the_benchmark_writes_its_figures_ratios_and_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench" / "results.json"

    assert main(["--vehicles", "20", "--naive-vehicles", "5", "--out", str(out)]) == 0

    results = json.loads(out.read_text())
    assert results["vehicles"] == 20
    assert results["batch_size"] >= 1
    pushes = ("main", "main_year_of_files", "main_first_scores")
    figures = {name: results[name] for name in (*pushes, "naive", "ceiling")}
    for name, figure in figures.items():
        assert figure["vehicles"] == (5 if name == "naive" else 20), name
        for key in ("seconds", "updates_per_s", "transactions", "gas_used"):
            assert figure[key] > 0, (name, key)
    assert results["naive"]["transactions"] == 5  # one per vehicle
    # The headline is the daily job: the day's delivery into the feed store, on a chain that
    # keeps recent states only.
    assert results["chain"]["states_kept"] == "the last 256 blocks"
    main_figure = results["main"]
    for step in ("feed_loading_s", "planning_s", "transmission_tail_s", "first_transaction_s"):
        assert 0 < main_figure[step] <= main_figure["seconds"], step

    rate = main_figure["updates_per_s"]
    ratios = results["ratios"]
    assert ratios["main_over_naive"] == pytest.approx(
        rate / results["naive"]["updates_per_s"], rel=0.01
    )
    assert ratios["main_over_ceiling"] == pytest.approx(
        rate / results["ceiling"]["updates_per_s"], rel=0.01
    )
    targets = {target["name"]: target for target in results["targets"]}
    assert targets["updates per second"]["measured"] == pytest.approx(rate, rel=0.01)
    for target in targets.values():
        assert target["result"] == ("PASS" if target["measured"] >= target["target"] else "MISS")

    machine = results["machine"]
    assert machine["cores"] >= 1
    assert machine["python"]
    assert machine["anvil"].startswith("anvil")
    assert len(machine["load_average_before"]) == 3
    table = capsys.readouterr().out
    assert "updates per second" in table
    assert str(out) in table
