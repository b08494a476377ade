"""Feed files (CSV or JSON Lines): reading into validated rows, with an explicit error policy,
and writing.

Every bad row becomes a `RowProblem` naming file, line and field. Under `OnError.REJECT` (the
default) any problem rejects the batch; under `OnError.SKIP` the bad rows are left out and
reported in `FeedBatch.skipped` and the log. Nothing is dropped without a trace.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import ValidationError

from oracle.errors import FeedError, FeedRejected, RowProblem
from oracle.feed_fastpath import fast_rows
from oracle.feed_formats import FeedRow

log = logging.getLogger(__name__)

R = TypeVar("R", bound=FeedRow)

FEED_SUFFIXES = (".csv", ".jsonl")
CSV_LIST_SEPARATOR = ";"


class OnError(StrEnum):
    """What a bad row does to its batch."""

    REJECT = "reject"  # the whole batch fails with every problem listed
    SKIP = "skip"  # the bad rows are left out, each one reported


class SourcedRow(NamedTuple, Generic[R]):
    """A validated row and where it came from, for errors found later (cross-file checks).
    A tuple: a feed has hundreds of thousands of them, and a frozen dataclass is slow to make."""

    file: str
    line: int
    row: R


@dataclass(frozen=True)
class FeedBatch(Generic[R]):
    """The valid rows of one file, and the problems of the rows left out (SKIP only)."""

    path: Path
    rows: tuple[SourcedRow[R], ...]
    skipped: tuple[RowProblem, ...]


def read_feed(
    path: Path, row_model: type[R], *, on_error: OnError = OnError.REJECT
) -> FeedBatch[R]:
    """Read and validate a `.csv` or `.jsonl` feed file; see the module docstring for errors."""
    rows, problems = parse_feed(path, row_model)
    return FeedBatch(path, rows, apply_policy(problems, on_error))


def parse_feed(
    path: Path, row_model: type[R]
) -> tuple[tuple[SourcedRow[R], ...], list[RowProblem]]:
    """The valid rows and the problems of a file, before any policy is applied."""
    if path.suffix not in FEED_SUFFIXES:
        raise FeedError(f"{path}: a feed file ends in .csv or .jsonl")
    try:
        # Bytes decoded as they are: reading in text mode would turn a lone "\r" into a
        # line break and shift the line numbers an operator looks up.
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedError(f"{path}: cannot read the file ({exc})") from exc
    if path.suffix == ".csv":
        return _validated(path, _csv_records(path, text, row_model), row_model)
    return _jsonl_rows(path, text, row_model)


def _validated(
    path: Path, records: Iterable[_Record], row_model: type[R]
) -> tuple[tuple[SourcedRow[R], ...], list[RowProblem]]:
    """Validate records one by one: every problem of every row, named by line and field."""
    file = str(path)
    rows: list[SourcedRow[R]] = []
    problems: list[RowProblem] = []
    validate = row_model.__pydantic_validator__.validate_python
    for line, record in records:
        if isinstance(record, RowProblem):
            problems.append(record)
            continue
        try:
            rows.append(SourcedRow(file, line, validate(record)))
        except ValidationError as exc:
            problems.extend(_problems(file, line, exc))
    return tuple(rows), problems


def _jsonl_rows(
    path: Path, text: str, row_model: type[R]
) -> tuple[tuple[SourcedRow[R], ...], list[RowProblem]]:
    """JSON Lines: each line parsed and validated in one step by pydantic-core (JSON mode),
    several times faster than `json.loads` and then the model. A line that fails goes through
    `_jsonl_records` and `_validated` again, so its problems read exactly as they always did.
    A whole file in the layout this project writes takes `oracle.feed_fastpath` instead."""
    file = str(path)
    fast = fast_rows(text, row_model)
    if fast is not None:
        return tuple(SourcedRow(file, number, row) for number, row in enumerate(fast, 1)), []
    rows: list[SourcedRow[R]] = []
    problems: list[RowProblem] = []
    validate_json = row_model.__pydantic_validator__.validate_json  # no wrapper per line
    for number, raw_line in enumerate(_lines(text), start=1):
        if not raw_line or raw_line.isspace():
            continue
        try:
            rows.append(SourcedRow(file, number, validate_json(raw_line)))
        except ValidationError:
            good, bad = _validated(path, _jsonl_records(path, raw_line, first=number), row_model)
            rows.extend(good)
            problems.extend(bad)
    return tuple(rows), problems


def apply_policy(problems: list[RowProblem], on_error: OnError) -> tuple[RowProblem, ...]:
    """Raise `FeedRejected` under REJECT; otherwise log and return the problems."""
    if not problems:
        return ()
    if on_error is OnError.REJECT:
        raise FeedRejected(problems)
    for problem in problems:
        log.warning("skipped: %s", problem)
    return tuple(problems)


_Record = tuple[int, dict[str, Any] | RowProblem]


def _csv_records(path: Path, text: str, row_model: type[FeedRow]) -> Iterator[_Record]:
    reader = csv.DictReader((line + "\n" for line in _lines(text)), strict=True)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise FeedError(f"{path} line 1: unreadable CSV header ({exc})") from exc
    if not header:
        raise FeedError(f"{path}: empty file, a CSV feed starts with a header line")
    _check_header(path, [name.strip() for name in header], row_model)
    reader.fieldnames = [name.strip() for name in header]
    start = reader.line_num + 1
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, RowProblem(str(path), start, "(row)", f"unreadable CSV ({exc})")
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if None in raw:
            extra = len(raw[None])
            yield (
                line,
                RowProblem(str(path), line, "(row)", f"{extra} value(s) more than the header"),
            )
            continue
        # An empty cell is an absent value: optional fields take their default.
        yield line, {key: value for key, value in raw.items() if value not in ("", None)}


def _check_header(path: Path, header: list[str], row_model: type[FeedRow]) -> None:
    known = row_model.model_fields
    problems = [
        RowProblem(str(path), 1, name, "unknown column") for name in header if name not in known
    ]
    problems += [
        RowProblem(str(path), 1, name, "required column missing")
        for name, spec in known.items()
        if spec.is_required() and name not in header
    ]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(RowProblem(str(path), 1, name, "column appears twice"))
        seen.add(name)
    if problems:  # a bad header spoils every row: never skippable
        raise FeedRejected(problems)


def _lines(text: str) -> list[str]:
    """The file's lines as an editor numbers them: split at "\n" (and "\r\n") only, not at
    the other characters `str.splitlines` takes for line breaks (U+0085, U+2028, form feed),
    which may sit inside a value and would shift every line number after them."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    return lines[:-1] if lines and lines[-1] == "" else lines


def _jsonl_records(path: Path, text: str, *, first: int = 1) -> Iterator[_Record]:
    for number, raw_line in enumerate(_lines(text), start=first):
        if not raw_line.strip():
            continue
        try:
            record = json.loads(raw_line)
        except json.JSONDecodeError as exc:
            message = f"not valid JSON ({exc.msg} at column {exc.colno})"
            yield number, RowProblem(str(path), number, "(json)", message)
            continue
        if not isinstance(record, dict):
            yield number, RowProblem(str(path), number, "(row)", "each line is one JSON object")
            continue
        yield number, record


def _problems(file: str, line: int, exc: ValidationError) -> list[RowProblem]:
    # include_input=False: the rejected value may be a VIN, which must not reach the logs.
    return [
        RowProblem(file, line, ".".join(str(part) for part in err["loc"]) or "(row)", err["msg"])
        for err in exc.errors(include_input=False, include_url=False)
    ]


def write_feed(path: Path, row_model: type[R], rows: Sequence[R]) -> None:
    """Write rows in the format of the file's suffix, as `read_feed` reads them back."""
    if path.suffix not in FEED_SUFFIXES:
        raise FeedError(f"{path}: a feed file ends in .csv or .jsonl")
    with path.open("w", encoding="utf-8", newline="") as handle:
        if path.suffix == ".jsonl":
            for row in rows:
                handle.write(json.dumps(row.model_dump(mode="json"), separators=(",", ":")) + "\n")
            return
        columns = list(row_model.model_fields)
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            data = row.model_dump(mode="python")
            writer.writerow([_cell(data[column]) for column in columns])


def _cell(value: Any) -> str:
    if isinstance(value, tuple):
        return CSV_LIST_SEPARATOR.join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
