"""The one logging set-up: JSON lines on request, and VIN-shaped text never written."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from vcl.logging_setup import VIN_MASK, setup_logging

VIN = "LSVAB2BM3R1234567"
VEHICLE_ID = "0x4c03eaf3d2b4639e9ccad40f11d3b9ff8d315c9e5f389c45d4d7d2affa5449a3"


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_message_and_extra_fields(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(json_lines=True)
    logging.getLogger("localnet.oracle").info("pushed %d scores", 30, extra={"rounds": [4]})
    line = json.loads(capsys.readouterr().err.strip())
    assert line["level"] == "info"
    assert line["logger"] == "localnet.oracle"
    assert line["message"] == "pushed 30 scores"
    assert line["rounds"] == [4]
    assert line["time"].endswith("Z")


def test_the_environment_switches_json_on(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VCL_LOG_JSON", "1")
    setup_logging()
    logging.getLogger("x").warning("hello")
    assert json.loads(capsys.readouterr().err)["message"] == "hello"


@pytest.mark.parametrize("json_lines", [True, False])
def test_a_vin_in_a_message_is_masked_and_a_vehicle_id_kept(
    capsys: pytest.CaptureFixture[str], json_lines: bool
) -> None:
    setup_logging(json_lines=json_lines)
    logging.getLogger("node").info("GET /v1/vehicles/%s for %s", VIN, VEHICLE_ID)
    written = capsys.readouterr().err
    assert VIN not in written
    assert VIN_MASK in written
    assert VEHICLE_ID in written
