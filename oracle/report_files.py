"""Report and signature files: how operators in separate processes agree on a report.

A report file is canonical JSON (sorted keys, fixed layout) of one report bound to one oracle
on one chain, with its EIP-712 digest. The digest is recomputed on every read, so a file that
was edited or damaged is refused rather than signed or sent. Each operator's signature is a
file of its own beside the report; the transmitter collects them. Files are written
atomically (temporary file, fsync, rename): a crash leaves the old file or the new one.

    round-000000000042.report.json
    round-000000000042.0x90f79bf6eb2c4f870365e785982e1f101e93b906.sig.json
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.messages import SignableMessage
from eth_typing import ChecksumAddress
from eth_utils.address import is_address, to_checksum_address

from oracle.errors import ReportFileError
from vcl.eip712 import Report, ReportEntry, TypedDataError, digest_of, report_message

REPORT_FORMAT = "vcl-oracle-report/1"
SIGNATURE_FORMAT = "vcl-oracle-signature/1"
REPORT_SUFFIX = ".report.json"
SIGNATURE_SUFFIX = ".sig.json"
_REPORT_NAME = re.compile(r"^round-(\d+)\.report\.json$")


@dataclass(frozen=True)
class OracleReport:
    """A report bound to the oracle contract and chain that will check its signatures."""

    report: Report
    chain_id: int
    oracle: ChecksumAddress

    @property
    def round_id(self) -> int:
        return self.report.round_id

    @functools.cached_property
    def message(self) -> SignableMessage:
        return report_message(self.report, self.chain_id, self.oracle)

    @functools.cached_property
    def digest(self) -> bytes:
        return digest_of(self.message)

    def to_json(self, *, compact: bool = False) -> str:
        """The canonical file text; `compact` (the journal's copy) drops the indentation,
        which lets the json module use its C encoder (five times faster)."""
        report = self.report
        document = {
            "format": REPORT_FORMAT,
            "chainId": self.chain_id,
            "oracle": self.oracle,
            "digest": _hex(self.digest),
            "report": {
                "roundId": report.round_id,
                "modelVersion": _hex(report.model_version),
                "observedAt": report.observed_at,
                "scores": [
                    {
                        "vehicleId": _hex(entry.vehicle_id),
                        "score": entry.score,
                        "indicators": list(entry.indicators),
                        # A string: uint128 exceeds the integers JSON readers agree on.
                        "estimatedValue": str(entry.estimated_value),
                    }
                    for entry in report.scores
                ],
            },
        }
        if compact:
            return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return json.dumps(document, sort_keys=True, indent=1, ensure_ascii=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "report") -> OracleReport:
        fields = _Fields(_load(text, source), source)
        fields.expect_format(REPORT_FORMAT)
        body = _Fields(fields.get("report", dict), f"{source}: report")
        entries = tuple(
            _entry(raw, f"{source}: scores[{index}]")
            for index, raw in enumerate(body.get("scores", list))
        )
        try:
            report = Report(
                body.get("roundId", int),
                body.hex_bytes("modelVersion"),
                body.get("observedAt", int),
                entries,
            )
        except TypedDataError as exc:
            raise ReportFileError(f"{source}: {exc}") from exc
        bound = cls(report, fields.get("chainId", int), fields.address("oracle"))
        stated = fields.hex_bytes("digest")
        if stated != bound.digest:
            raise ReportFileError(
                f"{source}: the stated digest {_hex(stated)} is not the digest of the report "
                f"({_hex(bound.digest)}); the file was altered"
            )
        return bound


@dataclass(frozen=True)
class SignatureFile:
    """One operator's signature of one report digest."""

    chain_id: int
    oracle: ChecksumAddress
    round_id: int
    digest: bytes
    signer: ChecksumAddress
    signature: bytes

    def to_json(self) -> str:
        document = {
            "format": SIGNATURE_FORMAT,
            "chainId": self.chain_id,
            "oracle": self.oracle,
            "roundId": self.round_id,
            "digest": _hex(self.digest),
            "signer": self.signer,
            "signature": _hex(self.signature),
        }
        return json.dumps(document, sort_keys=True, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "signature") -> SignatureFile:
        fields = _Fields(_load(text, source), source)
        fields.expect_format(SIGNATURE_FORMAT)
        return cls(
            chain_id=fields.get("chainId", int),
            oracle=fields.address("oracle"),
            round_id=fields.get("roundId", int),
            digest=fields.hex_bytes("digest"),
            signer=fields.address("signer"),
            signature=fields.hex_bytes("signature", length=None),
        )


def report_path(directory: Path, round_id: int) -> Path:
    return directory / f"round-{round_id:012d}{REPORT_SUFFIX}"


def signature_path(directory: Path, round_id: int, signer: str) -> Path:
    return directory / f"round-{round_id:012d}.{signer.lower()}{SIGNATURE_SUFFIX}"


def write_report(directory: Path, report: OracleReport) -> Path:
    path = report_path(directory, report.round_id)
    atomic_write(path, report.to_json())
    return path


def read_report(path: Path) -> OracleReport:
    return OracleReport.from_json(_read(path), str(path))


def write_signature(directory: Path, signature: SignatureFile) -> Path:
    path = signature_path(directory, signature.round_id, signature.signer)
    atomic_write(path, signature.to_json())
    return path


def read_signatures(directory: Path, round_id: int) -> list[tuple[str, SignatureFile]]:
    """Every signature file of `round_id` in `directory`, with its path (sorted)."""
    found = sorted(directory.glob(f"round-{round_id:012d}.*{SIGNATURE_SUFFIX}"))
    return [(str(path), SignatureFile.from_json(_read(path), str(path))) for path in found]


def report_files(path: Path) -> list[Path]:
    """`path` itself if it is a report file, else the report files in it, by round."""
    if path.is_file():
        if not path.name.endswith(REPORT_SUFFIX):
            raise ReportFileError(f"{path}: not a report file (*{REPORT_SUFFIX})")
        return [path]
    if not path.is_dir():
        raise ReportFileError(f"{path}: no such file or directory")
    found = [p for p in path.iterdir() if _REPORT_NAME.match(p.name)]
    if not found:
        raise ReportFileError(f"{path}: no report files (round-*{REPORT_SUFFIX})")
    return sorted(found)


def is_report_location(path: Path) -> bool:
    """Whether `path` holds prepared reports (as opposed to feed files)."""
    if path.is_file():
        return path.name.endswith(REPORT_SUFFIX)
    return path.is_dir() and any(_REPORT_NAME.match(p.name) for p in path.iterdir())


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text` so that a crash leaves either the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


def consecutive(reports: Sequence[OracleReport]) -> None:
    """Refuse a set of reports whose rounds have gaps or whose domains differ."""
    for before, after in itertools.pairwise(reports):
        if after.round_id != before.round_id + 1:
            raise ReportFileError(
                f"rounds must be consecutive: {before.round_id} is followed by {after.round_id}"
            )
        if (after.chain_id, after.oracle) != (before.chain_id, before.oracle):
            raise ReportFileError(f"round {after.round_id} is for another chain or oracle")


def vehicle_count(reports: Iterable[OracleReport]) -> int:
    return sum(len(report.report.scores) for report in reports)


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportFileError(f"{path}: cannot read ({exc})") from exc


def _load(text: str, source: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportFileError(f"{source}: not JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise ReportFileError(f"{source}: not a JSON object")
    return document


def _entry(raw: object, source: str) -> ReportEntry:
    if not isinstance(raw, dict):
        raise ReportFileError(f"{source}: not an object")
    fields = _Fields(raw, source)
    indicators = fields.get("indicators", list)
    if not all(type(value) is int for value in indicators):
        raise ReportFileError(f"{source}: indicators must be integers")
    value = fields.get("estimatedValue", str)
    if not value.isdigit():
        raise ReportFileError(f"{source}: estimatedValue is not a decimal number")
    try:
        return ReportEntry(
            fields.hex_bytes("vehicleId"), fields.get("score", int), tuple(indicators), int(value)
        )
    except TypedDataError as exc:
        raise ReportFileError(f"{source}: {exc}") from exc


class _Fields:
    """Typed access to a JSON object, with errors that name the file and the field."""

    def __init__(self, document: dict[str, Any], source: str) -> None:
        self.document = document
        self.source = source

    def get(self, name: str, kind: type[Any]) -> Any:
        value = self.document.get(name)
        # bool is an int in Python, never in these files.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ReportFileError(f"{self.source}: field '{name}' must be {kind.__name__}")
        return value

    def expect_format(self, expected: str) -> None:
        if self.document.get("format") != expected:
            raise ReportFileError(f"{self.source}: not a file of format {expected}")

    def hex_bytes(self, name: str, length: int | None = 32) -> bytes:
        text = self.get(name, str)
        try:
            value = bytes.fromhex(text[2:]) if text.startswith("0x") else b""
        except ValueError:
            value = b""
        if not value or (length is not None and len(value) != length):
            size = f"{length} bytes of " if length else ""
            raise ReportFileError(f"{self.source}: field '{name}' must be {size}0x-hex")
        return value

    def address(self, name: str) -> ChecksumAddress:
        text = self.get(name, str)
        if not is_address(text):
            raise ReportFileError(f"{self.source}: field '{name}' is not an address")
        return to_checksum_address(text)
