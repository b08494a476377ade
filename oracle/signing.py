"""From scores to quorum-signed reports.

Every operator computes the scores from its own feeds, builds the same reports (same rounds,
batches, observation time), and signs their EIP-712 digests. A transmitter accepts a
signature only when it recovers to its claimed signer, signs exactly this report, and comes
from a distinct active oracle operator (asked of the Consortium now, not remembered): the
contract checks the same and would revert the whole transaction for one bad signature.

An honest operator signs a report only when it holds for its own data and for the chain as it
is now (the OCR model: each signer is honest about what it saw, so a quorum of them vouches
for every value): `check_signable` (round id and observation time within what the chain and
the signer's clock allow) and `check_against_own_scores` (every entry equal to what the
signer computed from its own feeds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Protocol

from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak

from oracle.errors import QuorumNotMet, Rejection, ReportOutOfBounds, SigningError
from oracle.report_files import OracleReport, SignatureFile
from oracle.scoring import VehicleScore
from vcl.eip712 import Report, ReportEntry, TypedDataError, recover_signer, sign_digest
from vcl.vin import vehicle_ids

# How far an observation time may be ahead of the signer's clock (seconds). Clocks kept by
# NTP differ by milliseconds; five minutes (Kerberos' tolerance) covers a badly kept one. A
# report observed that far ahead holds the honest reports after it back by as long at most.
CLOCK_SKEW_S = 300


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
    return entries_with_ids(scores, vehicle_ids([score.vin for score in scores], vin_secret))


def entries_with_ids(scores: Sequence[VehicleScore], ids: Sequence[bytes]) -> list[ReportEntry]:
    """The on-chain entries of `scores`, each under its vehicle's id, in their order."""
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


@dataclass(frozen=True)
class ChainBounds:
    """What the chain allows the next reports, read just before signing, and the signer's
    own clock."""

    latest_round: int
    latest_observed_at: int
    max_round_gap: int  # the governed MAX_ROUND_GAP
    clock: int  # unix seconds, this operator's clock


def check_signable(report: OracleReport, bounds: ChainBounds) -> None:
    """Refuse (`ReportOutOfBounds`) a report whose round id is not in (latest, latest +
    MAX_ROUND_GAP] or whose observation time is more than `CLOCK_SKEW_S` ahead of the
    signer's clock or before the chain's latest observation.

    The contract refuses the same at submission; the signer refuses too, because a signature
    outlives the moment it is given: a report for a round or a time still ahead becomes
    acceptable later, and then takes the place of the honest reports (a round near 2**64 - 1
    would leave none for them, a time ahead no earlier observation).
    """
    round_id, observed = report.round_id, report.report.observed_at
    latest, gap = bounds.latest_round, bounds.max_round_gap
    if round_id <= latest:
        raise ReportOutOfBounds(round_id, f"the chain's latest round is {latest} already")
    if round_id > latest + gap:
        raise ReportOutOfBounds(
            round_id,
            f"more than MAX_ROUND_GAP = {gap} rounds after the chain's latest round {latest} "
            f"(rounds up to {latest + gap} can be signed now)",
        )
    if observed > bounds.clock + CLOCK_SKEW_S:
        raise ReportOutOfBounds(
            round_id,
            f"observation time {observed} is {observed - bounds.clock} s ahead of this "
            f"operator's clock ({bounds.clock}; {CLOCK_SKEW_S} s of skew are tolerated)",
        )
    if observed < bounds.latest_observed_at:
        raise ReportOutOfBounds(
            round_id,
            f"observation time {observed} is before the chain's latest observation "
            f"{bounds.latest_observed_at}",
        )


def check_against_own_scores(report: OracleReport, own: Sequence[ReportEntry]) -> None:
    """Refuse to sign a report that names a vehicle this operator has no feeds for, or whose
    entry for a vehicle (score, twelve indicators, value) differs from what it computed.

    The tolerance is zero: the model is deterministic (normalised indicators are integers,
    the value exact rational arithmetic), so the same feeds and model version give the same
    integers on every operator's machine. Any margin would be one a dishonest transmitter
    could move every value by with every honest signature; operators whose feeds differ
    reconcile their deliveries instead.
    """
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
    """The valid signatures of `report`, one per distinct active operator, ordered by signer:
    the first `ORACLE_QUORUM` of them.

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
    # Exactly the quorum is sent: each further signature costs the contract a recovery and a
    # role check and proves nothing more.
    return [accepted[signer] for signer in sorted(accepted)[:required]]


def sign_all(
    report: OracleReport, accounts: Sequence[LocalAccount]
) -> list[tuple[str, SignatureFile]]:
    """Single-process (development) mode: every held operator key signs the report."""
    return [(f"key of {account.address}", sign(report, account)) for account in accounts]
