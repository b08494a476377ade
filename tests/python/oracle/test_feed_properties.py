"""Property tests of the feed parser on malformed files: whatever the bytes, the parser
answers with rows and problems naming file, line and field (or a `FeedError` for a file it
cannot read at all), never with another exception, and it never drops a line silently."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle.errors import FeedError, FeedRejected
from oracle.feed_files import OnError, parse_feed, read_feed
from oracle.feed_formats import FeedRow, MaintenanceRow, TelemetryRow

SAMPLE = Path(__file__).resolve().parents[2] / "data/oracle/sample"
TELEMETRY = (SAMPLE / "telemetry.jsonl").read_text().splitlines()[:12]
MAINTENANCE = (SAMPLE / "maintenance.csv").read_text().splitlines()

# Derandomized: the same examples on every run, so that CI never fails on a new draw.
PROPERTY_SETTINGS = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


# Any character a UTF-8 file can hold (no lone surrogates), within one line (no "\n").
CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\n")


@st.composite
def mutated_lines(draw: st.DrawFn, lines: list[str], first_data_line: int) -> list[str]:
    """Valid lines with some of them damaged: characters replaced, cut, duplicated, or
    replaced by arbitrary text (including control characters, quotes and separators)."""
    out = list(lines)
    damaged = draw(
        st.lists(st.integers(first_data_line, len(out) - 1), min_size=1, max_size=4, unique=True)
    )
    for index in damaged:
        line = out[index]
        how = draw(st.sampled_from(["replace", "cut", "garbage", "double"]))
        if how == "replace" and line:
            at = draw(st.integers(0, len(line) - 1))
            out[index] = line[:at] + draw(CHARACTERS) + line[at + 1 :]
        elif how == "cut":
            out[index] = line[: draw(st.integers(0, len(line)))]
        elif how == "garbage":
            out[index] = draw(st.text(CHARACTERS, max_size=60))
        else:
            out[index] = line + line
    return out


# One directory for every example's file, removed when the tests end (a directory per
# example was left behind).
_SCRATCH = tempfile.TemporaryDirectory(prefix="feed-props-")
_EXAMPLES = itertools.count()


def write(suffix: str, lines: list[str]) -> Path:
    directory = Path(_SCRATCH.name) / str(next(_EXAMPLES))
    directory.mkdir()
    path = directory / f"feed{suffix}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def parse_or_unreadable(path: Path, model: type[FeedRow]) -> tuple[list[int], list[int]] | None:
    """Lines of the valid rows and of the problems; None if the file is refused whole
    (unreadable, or a CSV header that spoils every row)."""
    try:
        rows, problems = parse_feed(path, model)
    except FeedRejected as exc:  # a bad CSV header spoils every row: each problem named
        refusal, problems = str(exc), list(exc.problems)
        assert all(problem.line == 1 for problem in problems)
    except FeedError as exc:
        refusal, problems = str(exc), []
    else:
        refusal = ""
    if refusal:
        assert str(path) in refusal
        assert all(problem.file == str(path) for problem in problems)
        return None
    for problem in problems:
        assert problem.file == str(path)
        assert problem.field
        assert problem.message
    return [row.line for row in rows], [problem.line for problem in problems]


@PROPERTY_SETTINGS
@given(mutated_lines(TELEMETRY, 0))
def test_every_json_line_is_a_row_or_a_named_problem(lines: list[str]) -> None:
    path = write(".jsonl", lines)
    parsed = parse_or_unreadable(path, TelemetryRow)
    assert parsed is not None  # JSON Lines has no header: the file itself is always read
    row_lines, problem_lines = parsed
    expected = {number for number, line in enumerate(lines, start=1) if line.strip()}
    assert set(row_lines) | set(problem_lines) == expected
    assert not set(row_lines) & set(problem_lines)


@PROPERTY_SETTINGS
@given(mutated_lines(MAINTENANCE, 1))
def test_csv_rows_before_the_damage_survive_and_problems_name_lines(lines: list[str]) -> None:
    path = write(".csv", lines)
    parsed = parse_or_unreadable(path, MaintenanceRow)
    if parsed is None:
        return
    row_lines, problem_lines = parsed
    pairs = enumerate(zip(lines, MAINTENANCE, strict=True))
    first_damaged = next((i for i, (line, valid) in pairs if line != valid), len(lines))
    # Lines before the first damaged one are untouched valid rows (line 1 is the header).
    assert set(range(2, first_damaged + 1)) <= set(row_lines)
    assert all(1 <= line <= len(lines) + 1 for line in problem_lines)


@PROPERTY_SETTINGS
@given(mutated_lines(TELEMETRY, 0))
def test_the_policy_rejects_or_reports_every_problem(lines: list[str]) -> None:
    path = write(".jsonl", lines)
    rows, problems = parse_feed(path, TelemetryRow)
    skipped = read_feed(path, TelemetryRow, on_error=OnError.SKIP)
    assert len(skipped.rows) == len(rows)
    assert list(skipped.skipped) == problems
    if problems:
        with pytest.raises(FeedRejected) as rejected:
            read_feed(path, TelemetryRow)
        assert list(rejected.value.problems) == problems
    else:
        assert len(read_feed(path, TelemetryRow).rows) == len(rows)


@PROPERTY_SETTINGS
@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_rows_problems_or_one_clear_error(data: bytes) -> None:
    for suffix, model in ((".jsonl", TelemetryRow), (".csv", MaintenanceRow)):
        path = write(suffix, [])
        path.write_bytes(data)
        parse_or_unreadable(path, model)
