"""From scores to quorum-signed reports.

Every operator computes the scores from its own feeds, builds the same reports (same rounds,
batches, observation time), and signs their EIP-712 digests. A transmitter accepts a
signature only when it recovers to its claimed signer, signs exactly this report, and comes
from a distinct active oracle operator (asked of the Consortium now, not remembered): the
contract checks the same and would revert the whole transaction for one bad signature.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Protocol

from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak

from oracle.errors import QuorumNotMet, Rejection, SigningError
from oracle.report_files import OracleReport, SignatureFile
from oracle.scoring import VehicleScore
from vcl.eip712 import Report, ReportEntry, TypedDataError, recover_signer, sign_digest
from vcl.vin import vehicle_ids


class OperatorDirectory(Protocol):
    """What the quorum check needs to know (the Consortium, in production)."""

    def quorum(self) -> int: ...

    def is_operator(self, account: str) -> bool: ...


def observation_time(as_of: date) -> int:
    """Unix time of a report about `as_of`: midnight UTC starting that day.

    The contract refuses an observation time in the future, so a report about today can be
    sent today.
    """
    return int(datetime.combine(as_of, time(0, 0), tzinfo=UTC).timestamp())


def report_entries(scores: Sequence[VehicleScore], vin_secret: bytes) -> list[ReportEntry]:
    """The on-chain entries of `scores`, in their order; VINs become keyed vehicle ids."""
    ids = vehicle_ids([score.vin for score in scores], vin_secret)
    return [
        ReportEntry(vehicle, score.score, score.indicator_values, score.valuation.value_minor)
        for vehicle, score in zip(ids, scores, strict=True)
    ]


def input_key(model_version: bytes, observed_at: int, entries: Sequence[ReportEntry]) -> str:
    """Identifies the content of a push independently of its rounds and batches, so that
    running the same push again resumes or recognises it instead of sending it twice."""
    digest = hashlib.sha256(model_version + observed_at.to_bytes(8, "big"))
    for entry in entries:
        digest.update(entry.struct_hash())
    return "scores:" + digest.hexdigest()


def files_key(reports: Sequence[OracleReport]) -> str:
    """Identifies a push of prepared report files by their digests."""
    return "files:" + keccak(b"".join(report.digest for report in reports)).hex()


def build_reports(
    entries: Sequence[ReportEntry],
    *,
    first_round: int,
    model_version: bytes,
    observed_at: int,
    batch_size: int,
    chain_id: int,
    oracle: ChecksumAddress,
) -> list[OracleReport]:
    """Consecutive rounds from `first_round`, each of at most `batch_size` vehicles."""
    if not entries:
        raise SigningError("no vehicles to report")
    if batch_size < 1:
        raise SigningError(f"batch size {batch_size} is not positive")
    seen: set[bytes] = set()
    for entry in entries:
        if entry.vehicle_id in seen:
            raise SigningError(f"vehicle 0x{entry.vehicle_id.hex()} appears twice")
        seen.add(entry.vehicle_id)
    try:
        return [
            OracleReport(
                Report(
                    first_round + number,
                    model_version,
                    observed_at,
                    tuple(entries[start : start + batch_size]),
                ),
                chain_id,
                oracle,
            )
            for number, start in enumerate(range(0, len(entries), batch_size))
        ]
    except TypedDataError as exc:
        raise SigningError(str(exc)) from exc


def sign(report: OracleReport, account: LocalAccount) -> SignatureFile:
    """`account`'s signature of `report` (EIP-712, as the contract recovers it)."""
    return SignatureFile(
        chain_id=report.chain_id,
        oracle=report.oracle,
        round_id=report.round_id,
        digest=report.digest,
        signer=account.address,
        signature=sign_digest(report.message, PrivateKey(bytes(account.key))),
    )


def check_against_own_scores(report: OracleReport, own: Sequence[ReportEntry]) -> None:
    """Refuse to sign a report whose entries differ from what this operator computed."""
    mine = {entry.vehicle_id: entry for entry in own}
    for entry in report.report.scores:
        expected = mine.get(entry.vehicle_id)
        if expected is None:
            raise SigningError(
                f"round {report.round_id}: vehicle 0x{entry.vehicle_id.hex()} is not in "
                "this operator's feeds"
            )
        if expected != entry:
            raise SigningError(
                f"round {report.round_id}: vehicle 0x{entry.vehicle_id.hex()} differs from "
                f"this operator's score ({entry.score}/{entry.estimated_value} reported, "
                f"{expected.score}/{expected.estimated_value} computed)"
            )


def collect_quorum(
    report: OracleReport,
    signatures: Iterable[tuple[str, SignatureFile]],
    operators: OperatorDirectory,
) -> list[bytes]:
    """The valid signatures of `report`, one per distinct active operator, ordered by signer.

    Raises `QuorumNotMet`, naming every signature left out and why, when fewer than the
    on-chain `ORACLE_QUORUM` remain.
    """
    accepted: dict[ChecksumAddress, bytes] = {}
    rejections: list[Rejection] = []
    for source, candidate in signatures:
        if (candidate.chain_id, candidate.oracle, candidate.round_id, candidate.digest) != (
            report.chain_id,
            report.oracle,
            report.round_id,
            report.digest,
        ):
            rejections.append(Rejection(source, candidate.signer, "signs another report"))
            continue
        try:
            signer = recover_signer(report.message, candidate.signature)
        except TypedDataError as exc:
            rejections.append(Rejection(source, "", str(exc)))
            continue
        if signer != candidate.signer:
            reason = f"signature recovers to {signer}, not to its stated signer"
            rejections.append(Rejection(source, candidate.signer, reason))
        elif signer in accepted:
            rejections.append(Rejection(source, signer, "duplicate signer"))
        elif not operators.is_operator(signer):
            rejections.append(Rejection(source, signer, "not an active oracle operator"))
        else:
            accepted[signer] = candidate.signature
    required = operators.quorum()
    if len(accepted) < required:
        raise QuorumNotMet(report.round_id, len(accepted), required, rejections)
    return [accepted[signer] for signer in sorted(accepted)]


def sign_all(
    report: OracleReport, accounts: Sequence[LocalAccount]
) -> list[tuple[str, SignatureFile]]:
    """Single-process (development) mode: every held operator key signs the report."""
    return [(f"key of {account.address}", sign(report, account)) for account in accounts]
