"""
ConditionOracle: quorum-signed reports, latest round data, the value alert and its human review.
"""

import pytest
from brownie import chain, web3
from conftest import (
    ALERT_LIEN_ENDED,
    ALERT_OPEN,
    ALERT_RECOVERED,
    APPRAISAL,
    BANK_ROLE,
    CONFIRMED_RISK,
    DAY,
    ESCALATED,
    FALSE_POSITIVE,
    MODEL_VERSION,
    ORACLE_ROLE,
    SET_PARAMETER,
    SUSPEND,
    ZERO_BYTES32,
    action,
    govern,
    key,
    new_vehicle,
    open_loan,
    reverts_with,
)
from oracle_reports import (
    FIELD_ESTIMATED_VALUE,
    FIELD_OBSERVED_AT,
    FIELD_SCORE,
    report_digest,
    sign_report,
    vehicle_score,
)

THRESHOLD_VALUE = APPRAISAL * 7000 // 10_000  # 70% of the appraisal
REARM_VALUE = APPRAISAL * 7500 // 10_000  # threshold + hysteresis


def round_data(oracle, vehicle_id):
    """``latestRoundData`` as plain Python values."""
    round_id, score, value, model, updated_at = oracle.latestRoundData(vehicle_id)
    return int(round_id), int(score), int(value), str(model), int(updated_at)


@pytest.fixture(scope="module")
def vehicles(system):
    """Three vehicles registered by the first bank."""
    bank = system.members.banks[0]
    return [new_vehicle(system.registry, bank, f"oracle-test-{i}") for i in range(3)]


@pytest.fixture(scope="module")
def pledged(system, reporter, vehicles):
    """
    The first vehicle scored healthy and pledged under an approved loan of the first bank: (vehicle,
    loan id).
    """
    bank = system.members.banks[0]
    reporter.submit([(vehicle, 8000, APPRAISAL) for vehicle in vehicles])
    loan_id = open_loan(system.loans, bank, vehicles[0])
    system.loans.approve(loan_id, {"from": bank})
    return vehicles[0], loan_id


def test_python_digest_matches_contract(system, reporter, vehicles):
    report = reporter.build([(vehicle, 5000 + i, 10**6 + i) for i, vehicle in enumerate(vehicles)])
    assert system.oracle.reportDigest(report) == report_digest(
        report, system.oracle.address, web3.eth.chain_id
    )


def test_submit_records_latest_round_data(system, reporter, vehicles):
    report = reporter.build([(vehicles[0], 8123, 150_000), (vehicles[1], 4000, 90_000)])
    tx = reporter.submit_report(report)

    assert round_data(system.oracle, vehicles[0]) == (
        1,
        8123,
        150_000,
        MODEL_VERSION,
        report.observed_at,
    )
    assert round_data(system.oracle, vehicles[1]) == (
        1,
        4000,
        90_000,
        MODEL_VERSION,
        report.observed_at,
    )
    assert round_data(system.oracle, vehicles[2]) == (0, 0, 0, ZERO_BYTES32, 0)
    assert system.oracle.latestRound() == 1
    assert system.oracle.latestObservedAt() == report.observed_at
    assert system.oracle.roundModelVersion(1) == MODEL_VERSION
    event = tx.events["ReportAccepted"]
    assert event["roundId"] == 1
    assert event["modelVersion"] == MODEL_VERSION
    assert event["vehicleCount"] == 2
    assert event["transmitter"] == system.members.oracles[0]
    assert event["digest"] == system.oracle.reportDigest(report)


def test_later_round_overwrites_and_rounds_may_skip(system, reporter, vehicles):
    reporter.submit([(vehicles[0], 8000, 100_000)])
    reporter.submit([(vehicles[0], 7000, 90_000)], round_id=5)
    assert round_data(system.oracle, vehicles[0])[:3] == (5, 7000, 90_000)
    assert system.oracle.latestRound() == 5


def test_any_active_operator_transmits(system, reporter, vehicles):
    tx = reporter.submit([(vehicles[0], 8000, 100_000)], sender=system.members.oracles[2])
    assert tx.events["ReportAccepted"]["transmitter"] == system.members.oracles[2]


def test_indicators_are_not_stored_but_recoverable_from_calldata(system, reporter, vehicles):
    indicators = tuple(range(100, 1300, 100))
    report = reporter.build([vehicle_score(vehicles[0], 6000, 80_000, indicators)])
    tx = reporter.submit_report(report)
    decoded = system.oracle.submitReport.decode_input(tx.input)
    assert tuple(decoded[0][3][0][2]) == indicators


def test_quorum_is_a_governed_parameter(system, reporter, vehicles):
    members = system.members
    govern(
        system.consortium,
        action(SET_PARAMETER, key_=key("ORACLE_QUORUM"), value=2),
        members.banks[:2],
    )
    reporter.submit([(vehicles[0], 8000, 100_000)], signers=members.oracles[:2])
    assert system.oracle.latestRound() == 1


# ---------------------------------------------------------------- report rejections


def test_rejects_empty_report(reporter):
    with reverts_with("OracleEmptyReport"):
        reporter.submit([])


def test_rejects_replayed_or_older_round(reporter, vehicles):
    report = reporter.build([(vehicles[0], 8000, 100_000)], round_id=3)
    signatures = reporter.sign(report)
    reporter.submit_report(report, signatures=signatures)
    with reverts_with("OracleStaleRound", 3, 3):
        reporter.submit_report(report, signatures=signatures)
    with reverts_with("OracleStaleRound", 2, 3):
        reporter.submit([(vehicles[0], 8000, 100_000)], round_id=2)


def test_round_near_the_end_of_uint64_is_refused_even_with_a_full_quorum(
    system, reporter, vehicles
):
    """Issue 15, attack 1: one operator puts round 2**64 - 1 in a report file with honest scores,
    every operator signs it, and on the old code no later report could ever be accepted."""
    frozen = 2**64 - 1
    report = reporter.build([(vehicles[0], 8000, 100_000)], round_id=frozen)
    signatures = reporter.sign(report)  # every operator: a full quorum
    assert len(signatures) == len(system.members.oracles)
    with reverts_with("OracleRoundGapTooLarge", frozen, 0, 100):
        reporter.submit_report(report, signatures=signatures)
    assert system.oracle.latestRound() == 0
    reporter.submit([(vehicles[0], 8000, 100_000)], round_id=1)
    with reverts_with("OracleRoundGapTooLarge", frozen, 1, 100):
        reporter.submit_report(report, signatures=signatures)
    # The oracle keeps accepting reports, up to the governed step.
    reporter.submit([(vehicles[0], 8100, 100_000)], round_id=101)
    with reverts_with("OracleRoundGapTooLarge", 202, 101, 100):
        reporter.submit([(vehicles[0], 8200, 100_000)], round_id=202)
    reporter.submit([(vehicles[0], 8200, 100_000)], round_id=102)
    assert system.oracle.latestRound() == 102
    assert round_data(system.oracle, vehicles[0])[:2] == (102, 8200)


def test_round_gap_is_governed(system, reporter, vehicles):
    govern(
        system.consortium,
        action(SET_PARAMETER, key_=key("MAX_ROUND_GAP"), value=1),
        system.members.banks[:2],
    )
    with reverts_with("OracleRoundGapTooLarge", 2, 0, 1):
        reporter.submit([(vehicles[0], 8000, 100_000)], round_id=2)
    reporter.submit([(vehicles[0], 8000, 100_000)], round_id=1)
    assert system.oracle.latestRound() == 1


def test_rejects_older_observation(reporter, vehicles):
    chain.sleep(60)
    chain.mine()
    now = chain[-1].timestamp
    reporter.submit([(vehicles[0], 8000, 100_000)], observed_at=now)
    with reverts_with("OracleStaleObservation", now - 10, now):
        reporter.submit([(vehicles[0], 8000, 100_000)], observed_at=now - 10)


def test_rejects_observation_in_the_future(reporter, vehicles):
    future = chain[-1].timestamp + DAY
    with reverts_with("OracleValueOutOfBounds", ZERO_BYTES32, FIELD_OBSERVED_AT, future):
        reporter.submit([(vehicles[0], 8000, 100_000)], observed_at=future)


def test_rejects_unapproved_model(reporter, vehicles):
    other_model = key("vcl-score-model:unapproved")
    with reverts_with("OracleModelNotApproved", other_model):
        reporter.submit([(vehicles[0], 8000, 100_000)], model_version=other_model)


@pytest.mark.parametrize(
    ("entry_args", "field", "value"),
    [
        ((8000, 100_000, (0,) * 5 + (10_001,) + (0,) * 6), 5, 10_001),
        ((8000, 100_000, (0,) * 11 + (65_535,)), 11, 65_535),
        ((10_001, 100_000, None), FIELD_SCORE, 10_001),
        ((8000, 0, None), FIELD_ESTIMATED_VALUE, 0),
    ],
    ids=["indicator-5", "indicator-11", "score", "zero-value"],
)
def test_rejects_out_of_bounds_values(reporter, vehicles, entry_args, field, value):
    score, estimated_value, indicators = entry_args
    entry = vehicle_score(vehicles[1], score, estimated_value, indicators)
    with reverts_with("OracleValueOutOfBounds", vehicles[1], field, value):
        reporter.submit([(vehicles[0], 8000, 100_000), entry])


def test_accepts_bounds_inclusive(system, reporter, vehicles):
    reporter.submit(
        [
            vehicle_score(vehicles[0], 10_000, 1, (10_000,) * 12),
            vehicle_score(vehicles[1], 0, 1, (0,) * 12),
        ]
    )
    assert system.oracle.latestRoundData(vehicles[0])[1] == 10_000
    assert system.oracle.latestRoundData(vehicles[1])[1] == 0


def test_rejects_unknown_vehicle(reporter, vehicles):
    unknown = key("vehicle:never-registered")
    with reverts_with("OracleUnknownVehicle", unknown):
        reporter.submit([(vehicles[0], 8000, 100_000), (unknown, 8000, 100_000)])


def test_rejects_duplicate_vehicle(reporter, vehicles):
    with reverts_with("OracleDuplicateVehicle", vehicles[0]):
        reporter.submit(
            [(vehicles[0], 8000, 100_000), (vehicles[1], 8000, 100_000), (vehicles[0], 7000, 1)]
        )


def test_rejects_duplicate_signer(system, reporter, vehicles):
    operators = system.members.oracles
    with reverts_with("OracleDuplicateSigner", operators[1]):
        reporter.submit(
            [(vehicles[0], 8000, 100_000)], signers=[operators[0], operators[1], operators[1]]
        )


def test_rejects_non_operator_signer(system, reporter, vehicles):
    members = system.members
    with reverts_with("OracleUnauthorizedSigner", members.stranger):
        reporter.submit(
            [(vehicles[0], 8000, 100_000)], signers=[*members.oracles[:2], members.stranger]
        )
    with reverts_with("OracleUnauthorizedSigner", members.banks[0]):
        reporter.submit(
            [(vehicles[0], 8000, 100_000)], signers=[members.banks[0], *members.oracles]
        )


def test_rejects_suspended_operator_signature(system, reporter, vehicles):
    members = system.members
    govern(system.consortium, action(SUSPEND, account=members.oracles[2]), members.banks[:2])
    with reverts_with("OracleUnauthorizedSigner", members.oracles[2]):
        reporter.submit([(vehicles[0], 8000, 100_000)])


def test_rejects_too_few_signatures(system, reporter, vehicles):
    with reverts_with("OracleQuorumNotMet", 2, 3):
        reporter.submit([(vehicles[0], 8000, 100_000)], signers=system.members.oracles[:2])
    with reverts_with("OracleQuorumNotMet", 0, 3):
        reporter.submit([(vehicles[0], 8000, 100_000)], signers=[])


def test_rejects_malformed_signature(reporter, vehicles):
    report = reporter.build([(vehicles[0], 8000, 100_000)])
    signatures = reporter.sign(report)
    signatures[1] = signatures[1][:64]
    with reverts_with("OracleInvalidSignature", 1):
        reporter.submit_report(report, signatures=signatures)


def test_rejects_tampered_report(system, reporter, vehicles):
    report = reporter.build([(vehicles[0], 8000, 100_000)])
    signatures = reporter.sign(report)
    tampered = report._replace(scores=(vehicle_score(vehicles[0], 8000, 100_001),))
    with reverts_with("OracleUnauthorizedSigner"):
        reporter.submit_report(tampered, signatures=signatures)


def test_rejects_signatures_for_another_oracle(system, reporter, vehicles):
    report = reporter.build([(vehicles[0], 8000, 100_000)])
    keys = [operator.private_key for operator in system.members.oracles]
    signatures = sign_report(report, keys, system.registry.address, web3.eth.chain_id)
    with reverts_with("OracleUnauthorizedSigner"):
        reporter.submit_report(report, signatures=signatures)


def test_rejects_signatures_for_another_chain(system, reporter, vehicles):
    report = reporter.build([(vehicles[0], 8000, 100_000)])
    keys = [operator.private_key for operator in system.members.oracles]
    signatures = sign_report(report, keys, system.oracle.address, web3.eth.chain_id + 1)
    with reverts_with("OracleUnauthorizedSigner"):
        reporter.submit_report(report, signatures=signatures)


def test_only_active_operators_transmit(system, reporter, vehicles):
    members = system.members
    for caller in (members.banks[0], members.auditor, members.issuers[0], members.stranger):
        with reverts_with("ConsortiumUnauthorizedAccount", caller, ORACLE_ROLE):
            reporter.submit([(vehicles[0], 8000, 100_000)], sender=caller)


# ---------------------------------------------------------------- value alert


def test_no_alert_without_lien(system, reporter, vehicles):
    tx = reporter.submit([(vehicles[1], 2000, 1)])
    assert "ValueThresholdBreached" not in tx.events
    assert system.oracle.alertCount() == 0


def test_alert_raised_in_the_same_transaction(system, reporter, pledged):
    vehicle, loan_id = pledged
    bank = system.members.banks[0]
    tx = reporter.submit([(vehicle, 5000, THRESHOLD_VALUE - 1)])

    event = tx.events["ValueThresholdBreached"]
    assert dict(event) == {
        "alertId": 1,
        "vehicleId": vehicle,
        "bank": bank,
        "loanId": loan_id,
        "value": THRESHOLD_VALUE - 1,
        "appraisal": APPRAISAL,
        "thresholdBps": 7000,
        "roundId": 2,
    }
    stored = system.oracle.alert(1)
    assert stored["vehicleId"] == vehicle
    assert stored["bank"] == bank
    assert stored["loanId"] == loan_id
    assert stored["status"] == ALERT_OPEN
    assert stored["raisedAt"] == tx.timestamp
    assert stored["reviewedAt"] == 0
    assert system.oracle.openAlertOf(vehicle) == 1
    assert system.oracle.alertCount() == 1


def test_value_at_threshold_does_not_alert(system, reporter, pledged):
    tx = reporter.submit([(pledged[0], 5000, THRESHOLD_VALUE)])
    assert "ValueThresholdBreached" not in tx.events


def test_alert_fires_once_per_crossing_with_hysteresis(system, reporter, pledged):
    vehicle, loan_id = pledged
    reporter.submit([(vehicle, 5000, THRESHOLD_VALUE - 1)])
    # Still below, then between threshold and re-arm level: no new alert, no recovery.
    for value in (THRESHOLD_VALUE // 2, THRESHOLD_VALUE + 1, REARM_VALUE - 1, THRESHOLD_VALUE - 5):
        tx = reporter.submit([(vehicle, 5000, value)])
        assert "ValueThresholdBreached" not in tx.events
        assert "ValueRecovered" not in tx.events
    tx = reporter.submit([(vehicle, 6000, REARM_VALUE)])
    assert dict(tx.events["ValueRecovered"]) == {
        "alertId": 1,
        "vehicleId": vehicle,
        "bank": system.members.banks[0],
        "loanId": loan_id,
        "value": REARM_VALUE,
        "roundId": system.oracle.latestRound(),
    }
    assert system.oracle.alert(1)["status"] == ALERT_RECOVERED
    assert system.oracle.alert(1)["closedRoundId"] == system.oracle.latestRound()
    assert system.oracle.openAlertOf(vehicle) == 0
    tx = reporter.submit([(vehicle, 4000, THRESHOLD_VALUE - 1)])
    assert tx.events["ValueThresholdBreached"]["alertId"] == 2


def test_alert_closed_when_lien_ends_and_new_lien_alerts_again(system, reporter, pledged):
    vehicle, loan_id = pledged
    banks = system.members.banks
    reporter.submit([(vehicle, 5000, THRESHOLD_VALUE - 1)])
    system.loans.cancel(loan_id, {"from": banks[0]})
    tx = reporter.submit([(vehicle, 5000, THRESHOLD_VALUE - 1)])
    assert dict(tx.events["ValueAlertClosed"]) == {
        "alertId": 1,
        "vehicleId": vehicle,
        "loanId": loan_id,
        "roundId": system.oracle.latestRound(),
    }
    assert "ValueThresholdBreached" not in tx.events
    assert system.oracle.alert(1)["status"] == ALERT_LIEN_ENDED

    second_loan = open_loan(system.loans, banks[1], vehicle)
    system.loans.approve(second_loan, {"from": banks[1]})
    tx = reporter.submit([(vehicle, 5000, THRESHOLD_VALUE - 1)])
    event = tx.events["ValueThresholdBreached"]
    assert (event["alertId"], event["bank"], event["loanId"]) == (2, banks[1], second_loan)


def test_alert_moves_to_a_replacing_lien_in_one_report(system, reporter, pledged):
    vehicle, loan_id = pledged
    banks = system.members.banks
    reporter.submit([(vehicle, 5000, THRESHOLD_VALUE - 1)])
    system.loans.cancel(loan_id, {"from": banks[0]})
    second_loan = open_loan(system.loans, banks[1], vehicle)
    system.loans.approve(second_loan, {"from": banks[1]})
    tx = reporter.submit([(vehicle, 5000, THRESHOLD_VALUE - 1)])
    assert tx.events["ValueAlertClosed"]["alertId"] == 1
    assert tx.events["ValueThresholdBreached"]["alertId"] == 2
    assert tx.events["ValueThresholdBreached"]["bank"] == banks[1]


def test_threshold_is_a_governed_parameter(system, reporter, pledged):
    banks = system.members.banks
    govern(
        system.consortium,
        action(SET_PARAMETER, key_=key("ALERT_THRESHOLD_BPS"), value=8000),
        banks[:2],
    )
    tx = reporter.submit([(pledged[0], 6000, APPRAISAL * 79 // 100)])
    assert tx.events["ValueThresholdBreached"]["thresholdBps"] == 8000


# ---------------------------------------------------------------- human review


@pytest.fixture
def raised_alert(system, reporter, pledged):
    reporter.submit([(pledged[0], 5000, THRESHOLD_VALUE - 1)])
    return 1


@pytest.mark.parametrize("decision", [CONFIRMED_RISK, FALSE_POSITIVE, ESCALATED])
def test_lending_bank_records_its_review(system, raised_alert, decision):
    bank = system.members.banks[0]
    reviewer, comment = key("staff:4711"), key("comment:collateral inspected")
    tx = system.oracle.reviewAlert(raised_alert, decision, reviewer, comment, {"from": bank})
    assert dict(tx.events["AlertReviewed"]) == {
        "alertId": raised_alert,
        "bank": bank,
        "reviewerRef": reviewer,
        "decision": decision,
        "commentHash": comment,
        "reviewedAt": tx.timestamp,
    }
    stored = system.oracle.alert(raised_alert)
    assert (
        stored["decision"],
        stored["reviewerRef"],
        stored["commentHash"],
        stored["reviewedAt"],
    ) == (
        decision,
        reviewer,
        comment,
        tx.timestamp,
    )


def test_review_only_once(system, raised_alert):
    bank = system.members.banks[0]
    system.oracle.reviewAlert(
        raised_alert, CONFIRMED_RISK, key("staff:1"), key("c"), {"from": bank}
    )
    with reverts_with("OracleAlertAlreadyReviewed", raised_alert):
        system.oracle.reviewAlert(
            raised_alert, FALSE_POSITIVE, key("staff:2"), key("c"), {"from": bank}
        )


def test_review_after_recovery_is_allowed(system, reporter, pledged, raised_alert):
    reporter.submit([(pledged[0], 9000, APPRAISAL)])
    tx = system.oracle.reviewAlert(
        raised_alert, FALSE_POSITIVE, key("s"), key("c"), {"from": system.members.banks[0]}
    )
    assert "AlertReviewed" in tx.events


def test_review_rejects_other_bank(system, raised_alert):
    other = system.members.banks[1]
    with reverts_with("OracleNotAlertBank", raised_alert, other):
        system.oracle.reviewAlert(raised_alert, CONFIRMED_RISK, key("s"), key("c"), {"from": other})


def test_review_rejects_unknown_alert(system, raised_alert):
    with reverts_with("OracleUnknownAlert", 2):
        system.oracle.reviewAlert(
            2, CONFIRMED_RISK, key("s"), key("c"), {"from": system.members.banks[0]}
        )


def test_review_rejects_non_bank(system, raised_alert):
    auditor = system.members.auditor
    with reverts_with("ConsortiumUnauthorizedAccount", auditor, BANK_ROLE):
        system.oracle.reviewAlert(
            raised_alert, CONFIRMED_RISK, key("s"), key("c"), {"from": auditor}
        )


def test_views(system, vehicles):
    assert system.oracle.registry() == system.registry
    assert system.oracle.consortium() == system.consortium
    assert system.oracle.alert(7)["status"] == 0
    assert system.oracle.openAlertOf(vehicles[0]) == 0
    assert system.oracle.roundModelVersion(9) == ZERO_BYTES32
