"""The feed store: deliveries validated once and merged per vehicle give the same scores as
loading every file at once; a delivery counts once; a bad delivery changes nothing."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from oracle.errors import FeedError, FeedRejected
from oracle.feed_files import OnError
from oracle.feed_split import split_feeds
from oracle.feed_store import SCHEMA_VERSION, FeedStore
from oracle.fleet_feeds import FleetFeeds, load_fleet_feeds
from oracle.model import ScoreModel
from oracle.sample_fleet import FleetTruth
from oracle.scoring import score_fleet


def deliveries(source: Path, cuts: list[date], into: Path) -> list[Path]:
    """`source` cut at each day of `cuts` into consecutive deliveries."""
    parts = []
    rest = source
    for index, day in enumerate(cuts):
        before, after = into / f"part{index}", into / f"rest{index}"
        split_feeds(rest, day, before, after)
        parts.append(before)
        rest = after
    return [*parts, rest]


def only_dated_feeds(directory: Path) -> Path:
    """A delivery without master data (the vehicles are in the store already)."""
    (directory / "vehicles.csv").unlink(missing_ok=True)
    return directory


@pytest.fixture(scope="module")
def year(fleet_dir: tuple[Path, FleetTruth], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated year without its outcomes (calibration data, not a delivery)."""
    directory = tmp_path_factory.mktemp("year")
    for path in fleet_dir[0].iterdir():
        if path.name not in ("outcomes.csv", "ground_truth.json"):
            shutil.copy(path, directory)
    return directory


def test_deliveries_merged_in_the_store_score_like_the_whole_year_at_once(
    year: Path,
    fleet: tuple[FleetFeeds, FleetTruth],
    default_model: ScoreModel,
    tmp_path: Path,
) -> None:
    feeds, _ = fleet
    end = feeds.latest_date
    cuts = [end - timedelta(days=200), end - timedelta(days=30), end]
    parts = deliveries(year, cuts, tmp_path)
    with FeedStore(tmp_path / "store.sqlite") as store:
        for part in parts:
            assert not store.ingest(part).already
        for day in (end, end - timedelta(days=45)):
            assert score_fleet(store.fleet(), default_model, as_of=day) == score_fleet(
                feeds, default_model, as_of=day
            )
    # Another process reading the file sees the same fleet.
    with FeedStore(tmp_path / "store.sqlite") as store:
        stored = store.fleet()
        assert list(stored.vehicles) == list(feeds.vehicles)
        assert stored.latest_date == end
        for vin, history in stored.vehicles.items():
            assert history.stored() == feeds.vehicles[vin].history.stored()
            assert history == feeds.vehicles[vin].history
        added = [entry[3] for entry in store.deliveries()]
    assert sum(entry["telemetry"] for entry in added) == sum(
        len(v.telemetry) for v in feeds.vehicles.values()
    )
    assert added[0]["vehicles"] == len(feeds.vehicles)
    assert all(entry["vehicles"] == 0 for entry in added[1:])


def test_the_same_delivery_twice_adds_nothing(
    year: Path, fleet: tuple[FleetFeeds, FleetTruth], default_model: ScoreModel, tmp_path: Path
) -> None:
    feeds, _ = fleet
    history, today = deliveries(year, [feeds.latest_date], tmp_path)
    with FeedStore(tmp_path / "store.sqlite") as store:
        store.ingest(history)
        first = store.ingest(today)
        again = store.ingest(today)
        assert again.already
        assert again.digest == first.digest
        assert not again.added
        assert len(store.deliveries()) == 2
        scores = score_fleet(store.fleet(), default_model)
    assert scores == score_fleet(feeds, default_model)
    # A copy of the same files elsewhere is the same delivery.
    copy = shutil.copytree(today, tmp_path / "copy")
    with FeedStore(tmp_path / "store.sqlite") as store:
        assert store.ingest(copy).already


def test_a_bad_row_rejects_the_delivery_and_changes_nothing(
    year: Path, fleet: tuple[FleetFeeds, FleetTruth], tmp_path: Path
) -> None:
    feeds, _ = fleet
    history, today = deliveries(year, [feeds.latest_date - timedelta(days=10)], tmp_path)
    telemetry = today / "telemetry.jsonl"
    lines = telemetry.read_text().splitlines()
    lines[2] = lines[2].replace('"odometer_km":', '"odometer_km":-')
    telemetry.write_text("\n".join(lines) + "\n")
    with FeedStore(tmp_path / "store.sqlite") as store:
        store.ingest(history)
        before = {vin: h.stored() for vin, h in store.fleet().vehicles.items()}
        with pytest.raises(FeedRejected) as rejected:
            store.ingest(today)
        [problem] = rejected.value.problems
        assert (Path(problem.file).name, problem.line, problem.field) == (
            "telemetry.jsonl",
            3,
            "odometer_km",
        )
        assert len(store.deliveries()) == 1
    with FeedStore(tmp_path / "store.sqlite") as store:
        assert {vin: h.stored() for vin, h in store.fleet().vehicles.items()} == before
        # Asked to skip bad rows, the rest of the delivery goes in and the row is reported.
        taken = store.ingest(today, on_error=OnError.SKIP)
        assert [(p.line, p.field) for p in taken.skipped] == [(3, "odometer_km")]
        assert taken.added["telemetry"] == len(lines) - 1


def test_rows_of_unknown_vehicles_and_changed_master_data_are_row_problems(
    year: Path, fleet: tuple[FleetFeeds, FleetTruth], tmp_path: Path
) -> None:
    feeds, _ = fleet
    history, today = deliveries(year, [feeds.latest_date - timedelta(days=10)], tmp_path)
    with FeedStore(tmp_path / "store.sqlite") as store:
        # Without the master data, no row of the first delivery has a known vehicle.
        with pytest.raises(FeedRejected) as unknown:
            store.ingest(only_dated_feeds(today))
        assert {p.field for p in unknown.value.problems} == {"vin"}
        assert "no valid row in the vehicle master data" in str(unknown.value)
        store.ingest(history)
        # The same master data again is no change; other master data is refused.
        vehicles = (history / "vehicles.csv").read_text().splitlines()
        same = tmp_path / "same"
        same.mkdir()
        (same / "vehicles.csv").write_text("\n".join(vehicles[:3]) + "\n")
        assert store.ingest(same).added["vehicles"] == 0
        changed = tmp_path / "changed"
        changed.mkdir()
        header, first = vehicles[0], vehicles[1].split(",")
        first[header.split(",").index("appraisal_value_minor")] = "1"
        (changed / "vehicles.csv").write_text(f"{header}\n{','.join(first)}\n")
        with pytest.raises(FeedRejected, match="in the feed store with other master data"):
            store.ingest(changed)
        assert first[0] not in str(unknown.value)  # VINs are redacted in messages


def test_a_delivery_is_a_directory_of_scoring_feeds(year: Path, tmp_path: Path) -> None:
    with FeedStore(tmp_path / "store.sqlite") as store:
        with pytest.raises(FeedError, match="no feed files"):
            store.ingest(tmp_path)
        (tmp_path / "outcomes.csv").write_text("vin\n")
        with pytest.raises(FeedError, match="outcomes are labelled history"):
            store.ingest(tmp_path)
        with pytest.raises(FeedError, match="has no vehicles"):
            _ = store.fleet().latest_date


def test_a_failure_while_writing_leaves_the_store_as_it_was(
    year: Path,
    fleet: tuple[FleetFeeds, FleetTruth],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feeds, _ = fleet
    history, today = deliveries(year, [feeds.latest_date - timedelta(days=10)], tmp_path)
    with FeedStore(tmp_path / "store.sqlite") as store:
        store.ingest(history)
        before = {vin: h.stored() for vin, h in store.fleet().vehicles.items()}

    def disk_full(*_: object) -> float:
        raise OSError("No space left on device")

    # Fails after every vehicle row is written, before the delivery is recorded.
    monkeypatch.setattr("oracle.feed_store.time.time", disk_full)
    with (
        FeedStore(tmp_path / "store.sqlite") as store,
        pytest.raises(OSError, match="No space left"),
    ):
        store.ingest(today)
    monkeypatch.undo()
    with FeedStore(tmp_path / "store.sqlite") as store:
        assert {vin: h.stored() for vin, h in store.fleet().vehicles.items()} == before
        assert len(store.deliveries()) == 1
        assert not store.ingest(today).already


def test_late_rows_for_days_already_stored_follow_the_stored_rows(
    year: Path, default_model: ScoreModel, tmp_path: Path
) -> None:
    """A second reading of a day already in the store (a late delivery) sorts after the
    stored one, as it would after the first in one file: the same scores either way."""
    lines = (year / "telemetry.jsonl").read_text().splitlines()
    late = [
        line.replace('"odometer_km":', '"odometer_km":1') for line in lines[-400:] if "vin" in line
    ]
    (tmp_path / "late").mkdir()
    (tmp_path / "late" / "telemetry.jsonl").write_text("\n".join(late) + "\n")
    together = shutil.copytree(year, tmp_path / "together")
    (together / "telemetry.jsonl").write_text("\n".join(lines + late) + "\n")
    with FeedStore(tmp_path / "store.sqlite") as store:
        store.ingest(year)
        store.ingest(tmp_path / "late")
        stored = score_fleet(store.fleet(), default_model)
    whole = score_fleet(load_fleet_feeds(together), default_model)
    assert stored == whole
    assert stored != score_fleet(load_fleet_feeds(year), default_model)


def test_a_push_reads_the_vehicles_of_the_latest_delivery_last(
    year: Path, fleet: tuple[FleetFeeds, FleetTruth], tmp_path: Path
) -> None:
    feeds, _ = fleet
    history, today = deliveries(year, [feeds.latest_date], tmp_path)
    with FeedStore(tmp_path / "store.sqlite") as store:
        store.ingest(history)
        assert [h.vin for h in store.histories_to_push()] == list(feeds.vehicles)
        store.ingest(today)
        order = [h.vin for h in store.histories_to_push()]
    changed = [
        vin for vin, v in feeds.vehicles.items() if v.history.latest_date == feeds.latest_date
    ]
    assert 0 < len(changed) < len(feeds.vehicles)
    # Each group keeps the order of arrival.
    assert order == [vin for vin in feeds.vehicles if vin not in changed] + changed


def test_a_store_of_schema_3_is_brought_to_4_when_opened(
    year: Path, fleet: tuple[FleetFeeds, FleetTruth], default_model: ScoreModel, tmp_path: Path
) -> None:
    feeds, _ = fleet
    history, today = deliveries(year, [feeds.latest_date], tmp_path)
    path = tmp_path / "store.sqlite"
    with FeedStore(path) as store:
        store.ingest(history)
        # What a store written by the previous version holds.
        store.db.execute("DROP INDEX vehicles_by_change")
        store.db.execute("ALTER TABLE vehicles DROP COLUMN changed_by")
        store.db.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
    with FeedStore(path) as store:
        schema = store.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
        assert schema == str(SCHEMA_VERSION) == "4"
        assert [h.vin for h in store.histories_to_push()] == list(feeds.vehicles)
        store.ingest(today)
        assert score_fleet(store.fleet(), default_model) == score_fleet(feeds, default_model)
