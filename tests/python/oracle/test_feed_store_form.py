"""The feed store's stored form: every history reads back exactly as it was written, and a
damaged or foreign store is a clear `FeedError` naming no full VIN, never a wrong score."""

from __future__ import annotations

import sqlite3
import struct
import zlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from oracle.errors import FeedError
from oracle.feed_split import split_feeds
from oracle.feed_store import SCHEMA_VERSION, FeedStore
from oracle.fleet_feeds import FleetFeeds
from oracle.sample_fleet import FleetTruth
from oracle.vehicle_history import VehicleHistory


def test_every_history_of_the_generated_fleet_round_trips_exactly(
    fleet: tuple[FleetFeeds, FleetTruth], sample_feeds: FleetFeeds
) -> None:
    histories = [
        vehicle.history for feeds in (fleet[0], sample_feeds) for vehicle in feeds.vehicles.values()
    ]
    for history in histories:
        blob = history.stored()
        back = VehicleHistory.from_stored(history.vehicle, blob)
        assert back == history
        assert back.telemetry.rows() == history.telemetry.rows()
        assert (back.first_drop, back.coded) == (history.first_drop, history.coded)
        assert back.stored() == blob
    # The fleet has what each part of the form holds: fault codes, claims, inspections, and
    # odometers that read lower than before (the indicators' slower path).
    assert any(h.telemetry.codes for h in histories)
    assert any(h.insurance for h in histories)
    assert any(h.inspections for h in histories)
    assert any(h.first_drop < len(h.reading_km) for h in histories)


@pytest.fixture
def store(fleet_dir: tuple[Path, FleetTruth], tmp_path: Path) -> Path:
    """A store holding the generated fleet's first months."""
    directory, truth = fleet_dir
    split_feeds(directory, truth.start + timedelta(days=60), tmp_path / "early", tmp_path / "rest")
    path = tmp_path / "store.sqlite"
    with FeedStore(path) as opened:
        opened.ingest(tmp_path / "early")
    return path


def test_master_data_reads_back_equal_to_the_validated_rows(
    store: Path, fleet: tuple[FleetFeeds, FleetTruth]
) -> None:
    feeds, _ = fleet
    with FeedStore(store) as opened:
        stored = opened.fleet().vehicles
    assert list(stored) == list(feeds.vehicles)
    for vin, history in stored.items():
        validated = feeds.vehicles[vin].vehicle
        assert history.vehicle == validated
        assert history.vehicle.model_dump() == validated.model_dump()
        assert history.vehicle.model_fields_set == validated.model_fields_set


def _flip_a_bit(blob: bytes) -> bytes:
    middle = len(blob) // 2
    return blob[:middle] + bytes([blob[middle] ^ 1]) + blob[middle + 1 :]


def _resealed(blob: bytes) -> bytes:
    """The history with a fault code too many, under a CRC that matches: what a bug would
    write."""
    body = blob[8:] + b",P0420"
    return blob[:4] + struct.pack("<I", zlib.crc32(body)) + body


@pytest.mark.parametrize(
    ("column", "damage", "reason"),
    [
        ("feeds", _flip_a_bit, "corrupted (CRC-32 mismatch)"),
        ("feeds", lambda blob: blob[:20], "cut short"),
        ("feeds", lambda blob: b"", "cut short"),
        ("feeds", lambda blob: b"VCH9" + blob[4:], "not in format"),
        ("feeds", _resealed, "not readable"),
        ("feeds", lambda blob: blob.decode("latin-1"), "str, not bytes"),
        ("powertrain", lambda _: "steam", "steam"),
        ("appraisal_date", lambda _: "soon", "for an integer"),
        ("appraisal_value_minor", lambda _: "lots", "invalid literal"),
    ],
)
def test_a_damaged_stored_vehicle_is_a_clear_error(
    store: Path, column: str, damage: Callable[[Any], Any], reason: str
) -> None:
    with sqlite3.connect(store) as db:
        vin, value = db.execute(f"SELECT vin, {column} FROM vehicles WHERE position = 3").fetchone()
        db.execute(f"UPDATE vehicles SET {column} = ? WHERE position = 3", (damage(value),))
    with FeedStore(store) as opened, pytest.raises(FeedError) as raised:
        opened.fleet()
    message = str(raised.value)
    assert reason in message
    assert str(store) in message
    assert vin[-4:] in message  # which vehicle, redacted
    assert vin not in message


def test_a_store_of_another_schema_is_refused(store: Path) -> None:
    with sqlite3.connect(store) as db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    with pytest.raises(
        FeedError, match=f"feed store schema 1, this version reads {SCHEMA_VERSION}"
    ):
        FeedStore(store).__enter__()
