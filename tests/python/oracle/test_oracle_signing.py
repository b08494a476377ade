"""Report and signature files, and the quorum a transmitter insists on before it sends."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from oracle_chain import OPERATORS, STRANGER

from oracle.errors import QuorumNotMet, ReportFileError, SigningError
from oracle.operations import OracleNode, sign_report_files
from oracle.report_files import (
    OracleReport,
    read_report,
    read_signatures,
    report_path,
    write_report,
    write_signature,
)
from oracle.scoring import VehicleScore
from oracle.signing import (
    build_reports,
    check_against_own_scores,
    collect_quorum,
    report_entries,
    sign,
)
from vcl.config import DEV_PRIVATE_KEYS, DEV_VIN_SECRET

ORACLE = Account.from_key(DEV_PRIVATE_KEYS[8]).address  # any address will do off-chain
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
    assert len(found) == 3
    signatures = collect_quorum(report, found, Directory())
    assert len(signatures) == 3
    assert signatures == sorted(
        signatures, key=lambda s: next(f.signer for _, f in found if f.signature == s)
    )


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
        sign_report_files(operator, [path])
    stranger = OracleNode.connect(node.settings, node.oracle_settings, dev_index=STRANGER)
    with pytest.raises(SigningError, match="not an active oracle operator"):
        sign_report_files(stranger, [path])
    write_signature(tmp_path, sign(report, key(STRANGER)))
    with pytest.raises(QuorumNotMet) as caught:
        collect_quorum(report, read_signatures(tmp_path, 1), contracts)
    assert (caught.value.valid, caught.value.required) == (2, 3)
    assert [r.reason for r in caught.value.rejections] == ["not an active oracle operator"]
    operator = OracleNode.connect(node.settings, node.oracle_settings, dev_index=OPERATORS[2])
    sign_report_files(operator, [path])
    assert len(collect_quorum(report, read_signatures(tmp_path, 1), contracts)) == 3
