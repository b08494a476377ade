"""The development consortium's oracle: n = 4 operators, quorum 3 (n = 3f + 1, f = 1). One
silent operator does not stop the reports; one dishonest operator cannot get a false value
through, neither with the honest operators' signatures (they check their own scores) nor
with forged ones (the transmitter and the contract check every signer)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from oracle_chain import OPERATORS, STRANGER, System, expected

from oracle.config import OracleSettings
from oracle.errors import QuorumNotMet, SigningError
from oracle.operations import OracleNode, PushSession, sign_report_files
from oracle.report_files import OracleReport, write_report
from oracle.scoring import VehicleScore
from oracle.signing import build_reports, collect_quorum, observation_time, report_entries, sign
from vcl.config import Settings
from vcl.deploy import DEV_FOUNDERS, MemberKind
from vcl.errors import TransactionReverted
from vcl.sender import TransactionSender
from vcl.vin import vehicle_id


def local_oracle(settings: Settings, tmp_path: Path, keys: tuple[int, ...]) -> OracleNode:
    """The local oracle in single-process mode, holding the keys of the operators `keys`."""
    oracle_settings = OracleSettings(
        journal_path=tmp_path / "journal.sqlite", dev_operator_indexes=keys
    )
    return OracleNode.connect(settings, oracle_settings)


def signatures_sent(system: System) -> list[int]:
    """How many signatures each accepted report carried, from its transaction's input."""
    oracle = system.oracle
    counts = []
    for log in oracle.events.ReportAccepted().get_logs(from_block=0):
        tx = oracle.w3.eth.get_transaction(log["transactionHash"])
        _, arguments = oracle.decode_function_input(tx["input"])
        counts.append(len(arguments["signatures"]))
    return counts


def test_the_development_consortium_has_four_operators_and_a_quorum_of_three(
    node: OracleNode,
) -> None:
    operators = [index for index, kind, _ in DEV_FOUNDERS if kind is MemberKind.ORACLE_OPERATOR]
    assert operators == sorted(OPERATORS)
    assert list(node.oracle_settings.dev_operator_indexes) == list(OPERATORS)
    assert node.contracts.quorum() == 3
    for signer in node.signing_accounts():
        assert node.contracts.is_operator(signer.address)


def test_one_silent_operator_does_not_stop_the_local_oracle(
    system: System, settings: Settings, sample_scores: list[VehicleScore], tmp_path: Path
) -> None:
    system.register(sample_scores)
    silent_six = local_oracle(settings, tmp_path / "three", (4, 5, 8))
    with PushSession(silent_six) as session:
        session.plan_scores(sample_scores)
        assert session.transmit().rounds == [1]
    assert system.scores_on_chain(sample_scores) == expected(sample_scores)
    # With all four keys, a report still carries exactly the quorum: a fourth signature
    # would only cost gas.
    everyone = local_oracle(settings, tmp_path / "four", OPERATORS)
    with PushSession(everyone) as session:
        day_after = observation_time(sample_scores[0].as_of) + 86_400
        session.plan_scores(sample_scores, observed_at=day_after)
        assert session.transmit().rounds == [2]
    assert signatures_sent(system) == [3, 3]
    # Two silent operators are more than f = 1: nothing is planned, nothing sent.
    two = local_oracle(settings, tmp_path / "two", (4, 5))
    with PushSession(two) as session, pytest.raises(QuorumNotMet, match=r"2 valid .* quorum is 3"):
        session.plan_scores(sample_scores, observed_at=day_after + 86_400)
    assert signatures_sent(system) == [3, 3]


def false_report(node: OracleNode, scores: list[VehicleScore]) -> OracleReport:
    """Round 1 of `scores` with the first vehicle's value doubled (its alert would never
    fire): what a dishonest operator would like on-chain."""
    entries = report_entries(scores, node.vin_secret)
    inflated = dataclasses.replace(entries[0], estimated_value=entries[0].estimated_value * 2)
    return build_reports(
        [inflated, *entries[1:]],
        first_round=1,
        model_version=scores[0].model_version,
        observed_at=observation_time(scores[0].as_of),
        batch_size=len(scores),
        chain_id=node.contracts.chain_id,
        oracle=node.contracts.oracle_address,
    )[0]


def test_one_dishonest_operator_cannot_get_a_false_value_through(
    system: System,
    node: OracleNode,
    sample_scores: list[VehicleScore],
    sender_for: Callable[[int], TransactionSender],
    tmp_path: Path,
) -> None:
    system.register(sample_scores)
    dishonest = sender_for(OPERATORS[0])
    report = false_report(node, sample_scores)
    path = write_report(tmp_path, report)
    # The honest operators compare the report with their own scores and refuse it.
    for index in OPERATORS[1:]:
        honest = OracleNode.connect(node.settings, node.oracle_settings, dev_index=index)
        with pytest.raises(SigningError, match="differs from this operator's score"):
            sign_report_files(honest, [path], own_scores=sample_scores)

    # Its own signature and a forged second one: a stranger's key named as an operator, an
    # honest operator's signature of the honest report replayed, or its own twice.
    own = sign(report, dishonest.account)
    honest_report = dataclasses.replace(
        report,
        report=dataclasses.replace(
            report.report, scores=tuple(report_entries(sample_scores, node.vin_secret))
        ),
    )
    forgeries = {
        "stranger": dataclasses.replace(
            sign(report, sender_for(STRANGER).account), signer=sender_for(OPERATORS[1]).address
        ),
        "replayed": sign(honest_report, sender_for(OPERATORS[1]).account),
        "twice": own,
    }
    for name, forged in forgeries.items():
        with pytest.raises(QuorumNotMet) as caught:
            collect_quorum(report, [("own", own), (name, forged)], node.contracts)
        assert caught.value.valid == 1
    oracle = system.oracle.functions
    cases = {
        "stranger": "OracleUnauthorizedSigner",
        "replayed": "OracleUnauthorizedSigner",
        "twice": "OracleDuplicateSigner",
    }
    for name, error in cases.items():
        signatures = [own.signature, forgeries[name].signature]
        with pytest.raises(TransactionReverted) as reverted:
            dishonest.transact(oracle.submitReport(report.report.as_abi(), signatures))
        assert reverted.value.error_name == error
    # Even with a third forged signature the quorum's count is met but not its signers.
    three = [own.signature, forgeries["stranger"].signature, forgeries["replayed"].signature]
    with pytest.raises(TransactionReverted, match="OracleUnauthorizedSigner"):
        dishonest.transact(oracle.submitReport(report.report.as_abi(), three))
    secret = node.vin_secret
    first = vehicle_id(sample_scores[0].vin, secret)
    assert system.oracle.functions.latestRoundData(first).call()[0] == 0  # nothing on-chain
    assert system.oracle.functions.latestRound().call() == 0
