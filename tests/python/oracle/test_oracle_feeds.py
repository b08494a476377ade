"""Feed parsing: good files in both formats; every kind of bad row named by file, line and
field; the reject and skip policies; nothing dropped silently; no full VIN in any message."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from oracle.errors import FeedError, FeedRejected
from oracle.feed_files import OnError, read_feed, write_feed
from oracle.feed_formats import ROW_MODELS, FeedKind, TelemetryRow, VehicleRow
from oracle.fleet_feeds import FleetFeeds, feed_file, load_fleet_feeds

SAMPLE_DIR = Path(__file__).parents[2] / "data" / "oracle" / "sample"
VIN = "LSVAU218XN2183294"  # check digit X, as vcl.vin computes it
OTHER_VIN = "1HGCM82633A004352"
VEHICLE_HEADER = (
    "vin,make,model,model_year,powertrain,first_registration,appraisal_date,"
    "appraisal_value_minor,currency,appraisal_odometer_km"
)
VEHICLE = f"{VIN},Volkswagen,Lavida,2022,ice,2022-03-01,2024-12-01,9800000,CNY,45000"
TELEMETRY_HEADER = "vin,recorded_on,odometer_km,fault_codes,harsh_events,gps_anomalies"


def copy_sample(tmp_path: Path) -> Path:
    target = tmp_path / "feeds"
    shutil.copytree(SAMPLE_DIR, target)
    return target


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_committed_sample_loads_completely(sample_feeds: FleetFeeds) -> None:
    assert len(sample_feeds.vehicles) == 6
    assert sample_feeds.skipped == ()
    for vehicle in sample_feeds.vehicles.values():
        assert vehicle.telemetry, "every sample vehicle reports telemetry"
        dates = [row.recorded_on for row in vehicle.telemetry]
        assert dates == sorted(dates)
    assert sum(len(v.insurance) for v in sample_feeds.vehicles.values()) >= 1
    assert len(sample_feeds.outcomes) == 6


def test_every_feed_reads_the_same_from_csv_and_jsonl(tmp_path: Path) -> None:
    """Convert each file of the sample to the other format: the fleet read back is equal."""
    source = load_fleet_feeds(SAMPLE_DIR)
    converted = tmp_path / "converted"
    converted.mkdir()
    for kind in FeedKind:
        path = feed_file(SAMPLE_DIR, kind)
        assert path is not None
        other = ".jsonl" if path.suffix == ".csv" else ".csv"
        batch = read_feed(path, ROW_MODELS[kind])
        write_feed(converted / f"{kind}{other}", ROW_MODELS[kind], [s.row for s in batch.rows])
    again = load_fleet_feeds(converted)
    assert again.vehicles == source.vehicles
    assert again.outcomes == source.outcomes


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        (VEHICLE.replace("LSVAU218X", "LSVAU2181"), "vin", "check digit"),
        (VEHICLE.replace("9800000", "98000.50"), "appraisal_value_minor", "integer"),
        (VEHICLE.replace("9800000", "-5"), "appraisal_value_minor", "greater than 0"),
        (VEHICLE.replace("2024-12-01", "2024-13-01"), "appraisal_date", "date"),
        (VEHICLE.replace("2024-12-01", "2021-12-01"), "appraisal_date", "before"),
        (VEHICLE.replace(",ice,", ",diesel,"), "powertrain", "ice"),
        (VEHICLE.replace(",CNY,", ",yuan,"), "currency", "ISO 4217"),
        (VEHICLE.replace(",Lavida,", ",,"), "model", "required"),
        (VEHICLE + ",extra", "(row)", "more than the header"),
    ],
)
def test_bad_vehicle_row_names_file_line_and_field(
    tmp_path: Path, row: str, field: str, message: str
) -> None:
    path = write(tmp_path / "vehicles.csv", VEHICLE_HEADER, VEHICLE.replace(VIN, OTHER_VIN), row)
    with pytest.raises(FeedRejected) as caught:
        read_feed(path, VehicleRow)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), 3, field)
    assert message.lower() in problem.message.lower()
    assert f"{path} line 3, field '{field}'" in str(caught.value)


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        (
            '{"vin": "%s", "recorded_on": "2025-01-08", "odometer_km": "x"}',
            "odometer_km",
            "integer",
        ),
        (
            '{"vin": "%s", "recorded_on": "2025-01-08", "odometer_km": 5, "fault_codes": ["P03"]}',
            "fault_codes",
            "OBD-II",
        ),
        (
            '{"vin": "%s", "recorded_on": "2025-01-08", "odometer_km": 5, "harsh_events": -1}',
            "harsh_events",
            "greater than or equal",
        ),
        (
            '{"vin": "%s", "recorded_on": "2025-01-08", "odometer_km": 5, "speed": 3}',
            "speed",
            "extra",
        ),
        ('{"vin": "%s", "recorded_on": "2025-01-08"}', "odometer_km", "required"),
        ('{"vin": "%s", "recorded_on": 2025-01-08}', "(json)", "not valid JSON"),
        ('["%s"]', "(row)", "JSON object"),
    ],
)
def test_bad_jsonl_row_names_file_line_and_field(
    tmp_path: Path, record: str, field: str, message: str
) -> None:
    good = f'{{"vin": "{VIN}", "recorded_on": "2025-01-01", "odometer_km": 1}}'
    path = write(tmp_path / "telemetry.jsonl", good, "", record % VIN)
    with pytest.raises(FeedRejected) as caught:
        read_feed(path, TelemetryRow)
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (3, field)  # blank line 2 still counts
    assert message.lower() in problem.message.lower()


def test_csv_fault_codes_are_semicolon_separated(tmp_path: Path) -> None:
    path = write(
        tmp_path / "telemetry.csv", TELEMETRY_HEADER, f"{VIN},2025-01-08,100,p0301;P0420,0,0"
    )
    (row,) = read_feed(path, TelemetryRow).rows
    assert row.row.fault_codes == ("P0301", "P0420")


@pytest.mark.parametrize(
    ("header", "field", "message"),
    [
        (TELEMETRY_HEADER + ",speed", "speed", "unknown column"),
        (TELEMETRY_HEADER.replace("odometer_km,", ""), "odometer_km", "required column missing"),
        (TELEMETRY_HEADER + ",vin", "vin", "twice"),
    ],
)
def test_bad_header_rejects_even_when_skipping(
    tmp_path: Path, header: str, field: str, message: str
) -> None:
    path = write(tmp_path / "telemetry.csv", header, f"{VIN},2025-01-08,100,,0,0")
    with pytest.raises(FeedRejected) as caught:
        read_feed(path, TelemetryRow, on_error=OnError.SKIP)
    assert any(
        p.line == 1 and p.field == field and message in p.message for p in caught.value.problems
    )


def test_reject_lists_every_bad_row_and_skip_keeps_the_good_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [f"{VIN},2025-01-0{day},{100 * day},,0,0" for day in range(1, 8)]
    lines[2] = lines[2].replace(",300,", ",3oo,")  # line 4
    lines[5] = lines[5].replace(VIN, VIN[:-1] + "9")  # line 7: wrong check digit
    path = write(tmp_path / "telemetry.csv", TELEMETRY_HEADER, *lines)

    with pytest.raises(FeedRejected) as caught:
        read_feed(path, TelemetryRow)
    assert [(p.line, p.field) for p in caught.value.problems] == [(4, "odometer_km"), (7, "vin")]

    with caplog.at_level(logging.WARNING):
        batch = read_feed(path, TelemetryRow, on_error=OnError.SKIP)
    assert [s.line for s in batch.rows] == [2, 3, 5, 6, 8]
    assert [(p.line, p.field) for p in batch.skipped] == [(4, "odometer_km"), (7, "vin")]
    assert len(caplog.records) == 2  # each skipped row is reported
    assert VIN[:-1] not in caplog.text  # never a full VIN (nor nearly all of it) in the log


def test_cross_file_problems_follow_the_policy(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    vehicles = (directory / "vehicles.csv").read_text().splitlines()
    duplicate = vehicles[1]
    (directory / "vehicles.csv").write_text("\n".join([*vehicles, duplicate]) + "\n")
    with (directory / "maintenance.csv").open("a") as handle:
        handle.write(f"{VIN},2025-02-01,100,repair,5000,CNY,Shop\n")  # unknown vehicle
        first_vin = vehicles[2].split(",")[0]
        handle.write(f"{first_vin},2025-02-01,100,repair,5000,USD,Shop\n")  # wrong currency
    maintenance_lines = len((directory / "maintenance.csv").read_text().splitlines())

    with pytest.raises(FeedRejected) as caught:
        load_fleet_feeds(directory)
    found = {(Path(p.file).name, p.line, p.field) for p in caught.value.problems}
    assert ("vehicles.csv", 2, "vin") in found
    assert ("vehicles.csv", len(vehicles) + 1, "vin") in found
    assert ("maintenance.csv", maintenance_lines - 1, "vin") in found
    assert ("maintenance.csv", maintenance_lines, "currency") in found
    assert all(duplicate.split(",")[0] not in str(p) for p in caught.value.problems)

    fleet = load_fleet_feeds(directory, on_error=OnError.SKIP)
    assert len(fleet.vehicles) == 5  # the duplicated vehicle is out, and said so
    skipped_here = {(Path(p.file).name, p.line, p.field) for p in fleet.skipped}
    assert found <= skipped_here


def test_outcome_rules(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    path = directory / "outcomes.csv"
    rows = path.read_text().splitlines()
    vin = rows[1].split(",")[0]
    rows[1] = f"{vin},true,,,,CNY"  # defaulted without a date
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(FeedRejected) as caught:
        load_fleet_feeds(directory)
    assert [(p.line, p.field) for p in caught.value.problems] == [(2, "default_date")]


def test_directory_errors(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    (directory / "telemetry.csv").write_text(TELEMETRY_HEADER + "\n")
    with pytest.raises(FeedError, match="both"):
        load_fleet_feeds(directory)
    (directory / "telemetry.csv").unlink()
    (directory / "telemetry.jsonl").unlink()
    with pytest.raises(FeedError, match="no telemetry"):
        load_fleet_feeds(directory)
    with pytest.raises(FeedError, match=r"\.csv or \.jsonl"):
        read_feed(directory / "vehicles.txt", VehicleRow)
