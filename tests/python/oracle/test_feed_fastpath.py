"""The fast path for whole telemetry files against the row-by-row path: on any file, valid or
malformed, `parse_feed` must give the same rows (values, types, line numbers) and the same
problems as the row-by-row path alone, and a file the project writes must take the fast path."""

from __future__ import annotations

import gc
import itertools
import json
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle.errors import FeedError, FeedRejected
from oracle.feed_fastpath import fast_rows
from oracle.feed_files import parse_feed
from oracle.feed_formats import TelemetryRow
from oracle.gc_pause import gc_paused
from vcl.vin import CHECK_DIGIT_POSITION, check_digit

SAMPLE = Path(__file__).resolve().parents[2] / "data/oracle/sample/telemetry.jsonl"

PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # the same examples on every run
    suppress_health_check=[HealthCheck.too_slow],
)

VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
CODES = ["P0301", "P0420", "C0035", "B1000", "U0100", "P0A80"]


def with_check_digit(body: str) -> str:
    vin = body[:CHECK_DIGIT_POSITION] + "0" + body[CHECK_DIGIT_POSITION + 1 :]
    return vin[:CHECK_DIGIT_POSITION] + check_digit(vin) + vin[CHECK_DIGIT_POSITION + 1 :]


VALID_VINS = st.text(VIN_ALPHABET, min_size=17, max_size=17).map(with_check_digit)

# Values the row model may or may not accept: each drawn now and then instead of a valid one.
ODD_VALUES: dict[str, list[Any]] = {
    "vin": [
        "LSVAU218XN2183294",
        "lsvau218xn2183294",  # valid once upper-cased: the fast path leaves it to pydantic
        " LSVAU218XN2183294",
        "LSVAU2181N2183294",  # wrong check digit
        "LSVAU218XN218329",  # 16 characters
        "LSVAU218XN218329\u0085",
        "LOVAU218XN2183294",  # O is never in a VIN
        12345678901234567,
    ],
    "recorded_on": [
        "2025-02-30",
        "2025-13-01",
        "0000-01-01",
        "2025-1-01",
        "20250101",
        20250101,
        "2025-01-01T00:00:00",
        "2025-01-01\u0085",
        "9999-12-31",
        "",
    ],
    "odometer_km": [-1, 3_000_000, 3_000_001, 9_999_999, 10_000_000, 1.0, "100", True, None],
    "fault_codes": [
        ["p0301"],
        ["P4000"],
        [" P0301"],
        ["P0301", 7],
        "P0301",
        [],
        ["P0301;P0420"],
        None,
    ],
    "harsh_events": [100_000, 100_001, -5, 2.5, "3", False],
    "gps_anomalies": [100_000, 100_001, -1, 0.0, "0", None],
}
FIELDS = list(ODD_VALUES)


@st.composite
def canonical_line(draw: st.DrawFn) -> str:
    """A valid line as `write_feed` writes it."""
    record = {
        "vin": draw(VALID_VINS),
        "recorded_on": draw(st.dates()).isoformat(),
        "odometer_km": draw(st.integers(0, 3_000_000)),
        "fault_codes": draw(st.lists(st.sampled_from(CODES), max_size=3)),
        "harsh_events": draw(st.integers(0, 100_000)),
        "gps_anomalies": draw(st.integers(0, 100_000)),
    }
    return json.dumps(record, separators=(",", ":"))


@st.composite
def odd_line(draw: st.DrawFn) -> str:
    """A line with odd values, keys or layout, which the row model may or may not accept."""
    record = json.loads(draw(canonical_line()))
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=2, unique=True)):
        record[name] = draw(st.sampled_from(ODD_VALUES[name]))
    how = draw(st.sampled_from(["plain", "missing", "extra", "reordered", "spaced", "array"]))
    if how == "missing":
        del record[draw(st.sampled_from(FIELDS))]
    elif how == "extra":
        record["speed"] = 1
    elif how == "reordered":
        record = dict(reversed(record.items()))
    elif how == "array":
        return json.dumps(list(record.values()))
    separators = (", ", ": ") if how == "spaced" else (",", ":")
    return json.dumps(record, separators=separators, ensure_ascii=draw(st.booleans()))


@st.composite
def one_odd_line_among_canonical(draw: st.DrawFn) -> str:
    lines = draw(st.lists(canonical_line(), max_size=5))
    lines.insert(draw(st.integers(0, len(lines))), draw(odd_line()))
    return "\n".join(lines) + "\n"


@st.composite
def canonical_lines_laid_out(draw: st.DrawFn) -> str:
    """Valid lines joined as editors and exports join them: LF, CRLF, a lone CR, blank
    lines, U+0085 between lines, a byte order mark, a missing final newline."""
    text = ""
    for line in draw(st.lists(canonical_line(), min_size=1, max_size=6)):
        separator = ["\n"] * 6 + ["\r\n", "\r", "\n\n", "\n \n", "\u0085\n", "\n\u0085"]
        text += line + draw(st.sampled_from(separator))
    if draw(st.booleans()):
        text = text.rstrip("\n")
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text


# One directory for every example's file, removed when the tests end (a directory per
# example was left behind: tens of thousands over a few runs).
_SCRATCH = tempfile.TemporaryDirectory(prefix="feed-fast-")
_EXAMPLES = itertools.count()


def write(text: str) -> Path:
    directory = Path(_SCRATCH.name) / str(next(_EXAMPLES))
    directory.mkdir()
    path = directory / "telemetry.jsonl"
    path.write_bytes(text.encode("utf-8"))
    return path


def outcome(path: Path) -> tuple[str, list[Any], list[Any]]:
    """Everything a caller can see of `parse_feed`: rows with their values, types and lines,
    the problems, or the error."""
    try:
        rows, problems = parse_feed(path, TelemetryRow)
    except (FeedError, FeedRejected) as exc:
        return f"{type(exc).__name__}: {exc}", [], []
    seen = [
        (
            sourced.file,
            sourced.line,
            type(sourced.row),
            {name: (value, type(value)) for name, value in sourced.row.__dict__.items()},
            sourced.row.model_fields_set,
            sourced.row.model_dump(mode="json"),
        )
        for sourced in rows
    ]
    return "", seen, problems


def row_by_row(path: Path) -> tuple[str, list[Any], list[Any]]:
    with mock.patch("oracle.feed_files.fast_rows", return_value=None):
        return outcome(path)


@PROPERTY_SETTINGS
@given(one_odd_line_among_canonical())
def test_one_odd_line_reads_as_without_the_fast_path(text: str) -> None:
    path = write(text)
    assert outcome(path) == row_by_row(path)


@PROPERTY_SETTINGS
@given(canonical_lines_laid_out())
def test_any_layout_reads_as_without_the_fast_path(text: str) -> None:
    path = write(text)
    assert outcome(path) == row_by_row(path)


@PROPERTY_SETTINGS
@given(st.lists(st.one_of(canonical_line(), odd_line()), max_size=6), st.booleans())
def test_mixed_files_read_as_without_the_fast_path(lines: list[str], final: bool) -> None:
    path = write("\n".join(lines) + ("\n" if final else ""))
    assert outcome(path) == row_by_row(path)


@PROPERTY_SETTINGS
@given(st.lists(canonical_line(), min_size=1, max_size=6))
def test_canonical_files_take_the_fast_path(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    fast = fast_rows(text, TelemetryRow)
    assert fast is not None
    error, rows, problems = row_by_row(write(text))
    assert not error
    assert not problems
    values = [{name: (value, type(value)) for name, value in row.__dict__.items()} for row in fast]
    assert values == [row[3] for row in rows]


def test_a_file_the_project_writes_takes_the_fast_path() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    fast = fast_rows(text, TelemetryRow)
    assert fast is not None, "the committed sample is canonical: the fast path must take it"
    assert len(fast) == len(text.splitlines())
    path = write(text)
    assert outcome(path) == row_by_row(path)
    assert fast[0] == TelemetryRow.model_validate_json(text.splitlines()[0])


def test_one_bad_line_sends_the_whole_file_the_row_by_row_way() -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace('"odometer_km":', '"odometer_km":-')
    text = "\n".join(lines) + "\n"
    assert fast_rows(text, TelemetryRow) is None
    error, rows, problems = outcome(write(text))
    assert not error
    assert [problem.line for problem in problems] == [6]
    assert problems[0].field == "odometer_km"
    assert len(rows) == len(lines) - 1


def test_garbage_collection_is_restored_after_a_bulk_step() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled(), "a caller that had it off keeps it off"
    finally:
        gc.enable()
