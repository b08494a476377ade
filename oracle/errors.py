"""One exception tree for the oracle, rooted in the core package's `VclError`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vcl.errors import VclError


class OracleError(VclError):
    """Base of every error the oracle raises on purpose."""


@dataclass(frozen=True)
class RowProblem:
    """One bad row (or header) of a feed file: where it is and what is wrong with it.

    The message never contains a full VIN: VINs identify a person's vehicle.
    """

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} line {self.line}, field '{self.field}': {self.message}"


class FeedError(OracleError):
    """A feed file cannot be read at all (missing, unreadable, wrong extension, no header)."""


class FeedRejected(OracleError):
    """A batch was rejected because some rows are invalid (the default policy).

    Carries every problem found, not only the first, so the operator fixes them in one pass.
    """

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = tuple(problems)
        shown = "\n  ".join(str(p) for p in self.problems[:20])
        more = len(self.problems) - 20
        tail = f"\n  ... and {more} more" if more > 0 else ""
        count = len(self.problems)
        super().__init__(f"batch rejected, {count} invalid row(s):\n  {shown}{tail}")


class ModelError(OracleError):
    """A score model file is unreadable, invalid, or its stored version does not match."""


class CalibrationError(OracleError):
    """The labelled history cannot support a calibration (too small, one class, no signal)."""


class ScoringError(OracleError):
    """A vehicle cannot be scored as of the requested date (e.g. not registered yet)."""
