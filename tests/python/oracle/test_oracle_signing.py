"""Report and signature files, and the quorum a transmitter insists on before it sends."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from oracle_chain import OPERATORS, STRANGER, System, expected

from oracle.config import OracleSettings
from oracle.errors import (
    PreflightError,
    QuorumNotMet,
    ReportFileError,
    ReportOutOfBounds,
    SigningError,
)
from oracle.operations import OracleNode, PushSession, prepare_report_files, sign_report_files
from oracle.report_files import (
    SIGNATURE_SUFFIX,
    OracleReport,
    read_report,
    read_signatures,
    report_path,
    write_report,
    write_signature,
)
from oracle.scoring import VehicleScore
from oracle.signing import (
    CLOCK_SKEW_S,
    build_reports,
    check_against_own_scores,
    collect_quorum,
    observation_time,
    report_entries,
    sign,
)
from vcl.config import DEV_PRIVATE_KEYS, DEV_VIN_SECRET, Settings
from vcl.eip712 import ReportEntry

ORACLE = Account.from_key("0x" + "42" * 32).address  # any address will do off-chain
SECRET = DEV_VIN_SECRET.encode()


def key(index: int) -> LocalAccount:
    account: LocalAccount = Account.from_key(DEV_PRIVATE_KEYS[index])
    return account


@dataclass
class Directory:
    """Stands in for the Consortium: the dev operators, quorum 3."""

    operators: set[str] = field(default_factory=lambda: {key(i).address for i in OPERATORS})
    required: int = 3

    def quorum(self) -> int:
        return self.required

    def is_operator(self, account: str) -> bool:
        return account in self.operators


def reports_of(scores: list[VehicleScore], batch_size: int = 4) -> list[OracleReport]:
    return build_reports(
        report_entries(scores, SECRET),
        first_round=11,
        model_version=scores[0].model_version,
        observed_at=1_767_225_600,
        batch_size=batch_size,
        chain_id=1337,
        oracle=ORACLE,
    )


def test_reports_are_batched_into_consecutive_rounds_and_files_round_trip(
    sample_scores: list[VehicleScore], tmp_path: Path
) -> None:
    reports = reports_of(sample_scores, batch_size=4)
    assert [r.round_id for r in reports] == [11, 12]
    assert [len(r.report.scores) for r in reports] == [4, 2]
    for report in reports:
        path = write_report(tmp_path, report)
        assert path == report_path(tmp_path, report.round_id)
        again = read_report(path)
        assert again == report
        assert again.digest == report.digest
        assert again.to_json() == path.read_text()  # canonical: rewriting changes no byte
        for vin_part in (s.vin for s in sample_scores):
            assert vin_part not in path.read_text()  # keyed vehicle ids only


def test_an_altered_report_file_is_refused(
    sample_scores: list[VehicleScore], tmp_path: Path
) -> None:
    path = write_report(tmp_path, reports_of(sample_scores)[0])
    document = json.loads(path.read_text())
    document["report"]["scores"][0]["score"] += 1
    path.write_text(json.dumps(document))
    with pytest.raises(ReportFileError, match="was altered"):
        read_report(path)
    document["report"]["scores"][0]["score"] = 10_001
    path.write_text(json.dumps(document))
    with pytest.raises(ReportFileError, match="score 10001"):
        read_report(path)


def test_signature_files_round_trip_and_make_a_quorum(
    sample_scores: list[VehicleScore], tmp_path: Path
) -> None:
    report = reports_of(sample_scores)[0]
    write_report(tmp_path, report)
    for index in OPERATORS:
        write_signature(tmp_path, sign(report, key(index)))
    found = read_signatures(tmp_path, report.round_id)
    assert len(found) == 4
    signatures = collect_quorum(report, found, Directory())
    # Exactly the quorum goes on-chain: the first three signers by address.
    by_signer = sorted(found, key=lambda named: named[1].signer)
    assert signatures == [f.signature for _, f in by_signer[:3]]


def test_too_few_signatures_are_refused(sample_scores: list[VehicleScore]) -> None:
    report = reports_of(sample_scores)[0]
    two = [("a", sign(report, key(4))), ("b", sign(report, key(5)))]
    with pytest.raises(QuorumNotMet) as caught:
        collect_quorum(report, two, Directory())
    assert (caught.value.valid, caught.value.required) == (2, 3)


def test_a_duplicate_signer_counts_once(sample_scores: list[VehicleScore]) -> None:
    report = reports_of(sample_scores)[0]
    signed = [(f"file{i}", sign(report, key(i))) for i in (4, 5)] + [("copy", sign(report, key(5)))]
    with pytest.raises(QuorumNotMet) as caught:
        collect_quorum(report, signed, Directory())
    assert caught.value.valid == 2
    assert [(r.source, r.reason) for r in caught.value.rejections] == [("copy", "duplicate signer")]


def test_a_non_operator_or_a_forged_or_foreign_signature_is_left_out(
    sample_scores: list[VehicleScore],
) -> None:
    report, other = reports_of(sample_scores)
    stranger = sign(report, key(STRANGER))
    forged = sign(report, key(STRANGER))
    forged = dataclasses.replace(forged, signer=key(6).address)
    foreign = sign(other, key(6))
    signed = [
        ("ok4", sign(report, key(4))),
        ("ok5", sign(report, key(5))),
        ("stranger", stranger),
        ("forged", forged),
        ("foreign", foreign),
    ]
    with pytest.raises(QuorumNotMet) as caught:
        collect_quorum(report, signed, Directory())
    reasons = {r.source: r.reason for r in caught.value.rejections}
    assert reasons["stranger"] == "not an active oracle operator"
    assert reasons["forged"].startswith("signature recovers to")
    assert reasons["foreign"] == "signs another report"
    assert "quorum is 3" in str(caught.value)


def test_an_operator_refuses_to_sign_scores_it_did_not_compute(
    sample_scores: list[VehicleScore],
) -> None:
    report = reports_of(sample_scores)[0]
    own = report_entries(sample_scores, SECRET)
    check_against_own_scores(report, own)  # the same feeds: fine
    changed = [dataclasses.replace(own[0], score=own[0].score - 1)]
    with pytest.raises(SigningError, match="differs from this operator's score"):
        check_against_own_scores(report, changed + own[1:])
    with pytest.raises(SigningError, match="not in this operator's feeds"):
        check_against_own_scores(report, own[1:])


def test_the_quorum_and_the_operators_come_from_the_consortium(
    node: OracleNode, sample_scores: list[VehicleScore], tmp_path: Path
) -> None:
    """On-chain: hasRole decides who is an operator; a stranger's key cannot even sign."""
    contracts = node.contracts
    report = build_reports(
        report_entries(sample_scores, node.vin_secret),
        first_round=1,
        model_version=sample_scores[0].model_version,
        observed_at=1_767_225_600,
        batch_size=10,
        chain_id=contracts.chain_id,
        oracle=contracts.oracle_address,
    )[0]
    path = write_report(tmp_path, report)
    for index in OPERATORS[:2]:
        operator = OracleNode.connect(node.settings, node.oracle_settings, dev_index=index)
        sign_report_files(operator, [path], own_scores=sample_scores)
    stranger = OracleNode.connect(node.settings, node.oracle_settings, dev_index=STRANGER)
    with pytest.raises(SigningError, match="not an active oracle operator"):
        sign_report_files(stranger, [path], own_scores=sample_scores)
    write_signature(tmp_path, sign(report, key(STRANGER)))
    with pytest.raises(QuorumNotMet) as caught:
        collect_quorum(report, read_signatures(tmp_path, 1), contracts)
    assert (caught.value.valid, caught.value.required) == (2, 3)
    assert [r.reason for r in caught.value.rejections] == ["not an active oracle operator"]
    operator = OracleNode.connect(node.settings, node.oracle_settings, dev_index=OPERATORS[2])
    sign_report_files(operator, [path], own_scores=sample_scores)
    assert len(collect_quorum(report, read_signatures(tmp_path, 1), contracts)) == 3


# --- an honest operator signs only what the chain, its clock and its own feeds allow --------


def operator(node: OracleNode, index: int) -> OracleNode:
    return OracleNode.connect(node.settings, node.oracle_settings, dev_index=index)


def report_file(
    node: OracleNode,
    scores: list[VehicleScore],
    directory: Path,
    *,
    round_id: int = 1,
    observed_at: int | None = None,
    entries: list[ReportEntry] | None = None,
) -> Path:
    """A report file as a transmitter prepares it (`vcl oracle prepare`), for any round."""
    report = build_reports(
        entries or report_entries(scores, node.vin_secret),
        first_round=round_id,
        model_version=scores[0].model_version,
        observed_at=observation_time(scores[0].as_of) if observed_at is None else observed_at,
        batch_size=len(scores),
        chain_id=node.contracts.chain_id,
        oracle=node.contracts.oracle_address,
    )[0]
    directory.mkdir(exist_ok=True)
    return write_report(directory, report)


def signatures_in(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{SIGNATURE_SUFFIX}"))


def test_honest_operators_refuse_the_round_that_would_freeze_the_oracle(
    node: OracleNode, sample_scores: list[VehicleScore], tmp_path: Path
) -> None:
    """Attack 1: honest scores under round 2**64 - 1 would leave no round for any later
    report. Every honest operator refuses it, and any round past MAX_ROUND_GAP (100)."""
    assert node.contracts.max_round_gap() == 100
    for round_id, where in [(2**64 - 1, "last"), (102, "past"), (101, "gap")]:
        path = report_file(node, sample_scores, tmp_path / where, round_id=round_id)
        for index in OPERATORS:
            with pytest.raises(ReportOutOfBounds, match="more than MAX_ROUND_GAP = 100 rounds"):
                sign_report_files(operator(node, index), [path], own_scores=sample_scores)
        assert signatures_in(path.parent) == []
    # Round 100 is the farthest the chain (latest round 0) takes next: signed.
    path = report_file(node, sample_scores, tmp_path / "edge", round_id=100)
    assert len(sign_report_files(operator(node, 4), [path], own_scores=sample_scores)) == 1


def test_an_operator_refuses_a_tampered_score_or_value_and_signs_nothing(
    node: OracleNode, sample_scores: list[VehicleScore], tmp_path: Path
) -> None:
    honest = report_entries(sample_scores, node.vin_secret)
    for name, change in [
        ("score", {"score": honest[3].score + 1}),
        ("value", {"estimated_value": honest[3].estimated_value * 2}),
    ]:
        tampered = [*honest[:3], dataclasses.replace(honest[3], **change), *honest[4:]]
        directory = tmp_path / name
        first = report_file(node, sample_scores, directory, round_id=1)
        second = report_file(node, sample_scores, directory, round_id=2, entries=tampered)
        for index in OPERATORS:
            with pytest.raises(
                SigningError, match=r"round 2: vehicle .* differs from this operator"
            ):
                sign_report_files(operator(node, index), [first, second], own_scores=sample_scores)
        # The good first file is not signed either: every file is checked before any is.
        assert signatures_in(directory) == []
    # Nor a report naming a vehicle the operator has no feeds for.
    path = report_file(node, sample_scores, tmp_path / "foreign")
    with pytest.raises(SigningError, match="not in this operator's feeds"):
        sign_report_files(operator(node, 5), [path], own_scores=sample_scores[1:])


def test_an_operator_refuses_an_observation_time_ahead_of_its_clock_or_behind_the_chain(
    node: OracleNode, sample_scores: list[VehicleScore], tmp_path: Path
) -> None:
    now = int(time.time())
    ahead = report_file(node, sample_scores, tmp_path / "ahead", observed_at=now + 3600)
    with pytest.raises(ReportOutOfBounds, match=r"3[56]\d\d s ahead of this operator's clock"):
        sign_report_files(operator(node, 4), [ahead], own_scores=sample_scores)
    assert signatures_in(ahead.parent) == []
    # Within the stated clock skew: signed (the chain takes it once its blocks reach it).
    near = report_file(node, sample_scores, tmp_path / "near", observed_at=now + CLOCK_SKEW_S // 2)
    assert len(sign_report_files(operator(node, 4), [near], own_scores=sample_scores)) == 1


def test_an_honest_report_is_signed_by_three_of_four_and_goes_on_chain(
    system: System, node: OracleNode, sample_scores: list[VehicleScore], tmp_path: Path
) -> None:
    """The honest path end to end, one operator silent (8); then a report observed before the
    chain's latest observation is refused."""
    system.register(sample_scores)
    path = report_file(node, sample_scores, tmp_path / "honest")
    for index in OPERATORS[:3]:
        sign_report_files(operator(node, index), [path], own_scores=sample_scores)
    assert len(signatures_in(path.parent)) == 3
    with PushSession(node) as session:
        session.plan_files([path])
        assert session.transmit().rounds == [1]
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)

    day_before = observation_time(sample_scores[0].as_of) - 86_400
    stale = report_file(node, sample_scores, tmp_path / "stale", round_id=2, observed_at=day_before)
    with pytest.raises(ReportOutOfBounds, match="before the chain's latest observation"):
        sign_report_files(operator(node, 6), [stale], own_scores=sample_scores)
    replayed = report_file(node, sample_scores, tmp_path / "replayed", round_id=1)
    with pytest.raises(ReportOutOfBounds, match="the chain's latest round is 1 already"):
        sign_report_files(operator(node, 6), [replayed], own_scores=sample_scores)


def test_a_transmitter_prepares_no_more_rounds_than_operators_would_sign(
    system: System, settings: Settings, sample_scores: list[VehicleScore], tmp_path: Path
) -> None:
    system.set_parameter("MAX_ROUND_GAP", 2)
    two_a_report = OracleNode.connect(
        settings,
        OracleSettings(journal_path=tmp_path / "journal.sqlite", max_batch_vehicles=2),
    )
    out = tmp_path / "reports"
    with pytest.raises(PreflightError, match="round 3, more than MAX_ROUND_GAP = 2 rounds"):
        prepare_report_files(two_a_report, sample_scores, out)
    assert not out.exists() or not list(out.iterdir())
    assert len(prepare_report_files(two_a_report, sample_scores[:4], out)) == 2
