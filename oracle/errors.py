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


class ReportFileError(OracleError):
    """A report or signature file is unreadable, malformed, or does not match its digest."""


class SigningError(OracleError):
    """A report cannot be signed: wrong key, a report that does not match the signer's own
    scores, or a signer that is not an active oracle operator."""


class ReportOutOfBounds(SigningError):
    """A report this operator will not sign: its round id is not in (latest, latest +
    MAX_ROUND_GAP] of the chain, or its observation time is ahead of this operator's clock or
    before the chain's latest observation. Nothing is signed."""

    def __init__(self, round_id: int, reason: str) -> None:
        self.round_id = round_id
        self.reason = reason
        super().__init__(f"round {round_id}: {reason}; not signed")


@dataclass(frozen=True)
class Rejection:
    """One signature left out of a quorum, and why."""

    source: str  # the file (or "key #n") it came from
    signer: str  # recovered address, or "" when unrecoverable
    reason: str

    def __str__(self) -> str:
        who = f" by {self.signer}" if self.signer else ""
        return f"{self.source}{who}: {self.reason}"


class QuorumNotMet(OracleError):
    """Fewer distinct active operators signed a report than the governed `ORACLE_QUORUM`."""

    def __init__(
        self, round_id: int, valid: int, required: int, rejections: Sequence[Rejection] = ()
    ) -> None:
        self.round_id = round_id
        self.valid = valid
        self.required = required
        self.rejections = tuple(rejections)
        why = "".join(f"; left out {r}" for r in self.rejections)
        super().__init__(
            f"round {round_id}: {valid} valid operator signature(s), the quorum is {required}{why}"
        )


class JournalError(OracleError):
    """The transmission journal is unreadable, locked by another process, or inconsistent."""


class TransmissionError(OracleError):
    """A report could not be transmitted; the journal keeps it for the next run."""


class RpcUnavailable(TransmissionError):
    """The chain did not answer through every retry; rerun `push` to finish the work."""


class RoundConflict(TransmissionError):
    """The chain holds another report under a round this transmitter planned (another
    transmitter got there first): the planned report can never be accepted."""


class ReportRejected(TransmissionError):
    """The oracle contract reverted a report (decoded custom error); not retried."""

    def __init__(self, round_id: int, error_name: str, detail: str) -> None:
        self.round_id = round_id
        self.error_name = error_name
        super().__init__(f"round {round_id} rejected by the oracle contract: {detail}")


class PreflightError(OracleError):
    """The chain would refuse the push before any report is journaled: model not approved,
    transmitter not an operator, observation time in the future or older than the last."""
