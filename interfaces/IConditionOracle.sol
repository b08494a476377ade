// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @dev `field` code of {IConditionOracle-OracleValueOutOfBounds} for the composite score (0..11 are the indicators).
uint256 constant ORACLE_FIELD_SCORE = 12;
/// @dev `field` code of {IConditionOracle-OracleValueOutOfBounds} for the estimated value.
uint256 constant ORACLE_FIELD_ESTIMATED_VALUE = 13;
/// @dev `field` code of {IConditionOracle-OracleValueOutOfBounds} for the report's observation time.
uint256 constant ORACLE_FIELD_OBSERVED_AT = 14;

/// @title Condition-score oracle of the vehicle-collateral consortium
/// @notice Accepts batched vehicle condition reports signed by a quorum of active oracle operators (EIP-712),
/// keeps the latest score and estimated value of every vehicle, and raises the value-threshold alert for
/// vehicles under an active lien in the same transaction that records the value.
/// @dev The 12 indicator values are signed and bound into the report digest but not stored: they are
/// recoverable from the calldata of the `submitReport` transaction (round id in the `ReportAccepted` event).
interface IConditionOracle {
    /// @notice One vehicle's entry in a report.
    /// @param vehicleId Registry id of the vehicle (HMAC of the VIN, computed off-chain).
    /// @param score Composite condition score, 0 (worst) .. 10000 (best).
    /// @param indicators The 12 indicator values of the scoring model, each 0 .. 10000.
    /// @param estimatedValue Estimated current market value, in the currency unit of the appraisal.
    struct VehicleScore {
        bytes32 vehicleId;
        uint16 score;
        uint16[12] indicators;
        uint128 estimatedValue;
    }

    /// @notice A signed batch of vehicle scores.
    /// @param roundId Round number, in (latest round, latest round + MAX_ROUND_GAP].
    /// @param modelVersion Scoring model version; must be approved by the consortium.
    /// @param observedAt Time (unix seconds) the data describes; becomes the vehicles' `updatedAt`.
    /// @param scores The vehicles of the round (at least one).
    struct Report {
        uint64 roundId;
        bytes32 modelVersion;
        uint64 observedAt;
        VehicleScore[] scores;
    }

    /// @notice Human review outcome of an alert.
    enum ReviewDecision {
        ConfirmedRisk,
        FalsePositive,
        Escalated
    }

    /// @notice Lifecycle of an alert: open, closed by a value recovery, or closed because its lien ended.
    enum AlertStatus {
        None,
        Open,
        Recovered,
        LienEnded
    }

    /// @notice A value-threshold alert and its human review.
    struct Alert {
        bytes32 vehicleId;
        address bank;
        uint64 roundId;
        uint16 thresholdBps;
        AlertStatus status;
        uint256 loanId;
        uint128 value;
        uint128 appraisal;
        uint64 raisedAt;
        uint64 closedRoundId;
        uint64 reviewedAt;
        ReviewDecision decision;
        bytes32 reviewerRef;
        bytes32 commentHash;
    }

    /// @notice A report passed every check and was recorded.
    /// @param roundId The report's round.
    /// @param modelVersion The approved model version that produced it.
    /// @param observedAt The observation time of the data.
    /// @param vehicleCount Number of vehicles in the batch.
    /// @param transmitter The operator who sent the transaction.
    /// @param digest The EIP-712 digest the operators signed.
    event ReportAccepted(
        uint64 indexed roundId,
        bytes32 indexed modelVersion,
        uint64 observedAt,
        uint256 vehicleCount,
        address indexed transmitter,
        bytes32 digest
    );

    /// @notice A vehicle under an active lien fell below `thresholdBps` of its appraisal.
    /// @param alertId Sequential alert id (1, 2, ...).
    /// @param vehicleId The vehicle.
    /// @param bank The lien holder, who must review the alert.
    /// @param loanId The loan the lien secures.
    /// @param value The reported estimated value.
    /// @param appraisal The registry appraisal it was compared with.
    /// @param thresholdBps The governed threshold in force.
    /// @param roundId The round that reported the value.
    event ValueThresholdBreached(
        uint256 indexed alertId,
        bytes32 indexed vehicleId,
        address indexed bank,
        uint256 loanId,
        uint256 value,
        uint256 appraisal,
        uint256 thresholdBps,
        uint64 roundId
    );

    /// @notice The value of an alerted vehicle climbed back to threshold + hysteresis; the alert is re-armed.
    /// @param alertId The alert that is closed.
    /// @param vehicleId The vehicle.
    /// @param bank The lien holder.
    /// @param loanId The loan the lien secures.
    /// @param value The reported estimated value.
    /// @param roundId The round that reported the value.
    event ValueRecovered(
        uint256 indexed alertId,
        bytes32 indexed vehicleId,
        address indexed bank,
        uint256 loanId,
        uint256 value,
        uint64 roundId
    );

    /// @notice The lien an open alert was raised for is no longer active (repaid, cancelled, liquidated, or
    /// replaced by another loan's lien); the alert is closed and the vehicle re-armed for the next lien.
    /// @param alertId The alert that is closed.
    /// @param vehicleId The vehicle.
    /// @param loanId The loan of the ended lien.
    /// @param roundId The round that noticed it.
    event ValueAlertClosed(uint256 indexed alertId, bytes32 indexed vehicleId, uint256 loanId, uint64 roundId);

    /// @notice The lending bank recorded its human review of an alert.
    /// @param alertId The alert.
    /// @param bank The reviewing bank.
    /// @param reviewerRef Hash of the reviewing officer's staff id (no personal data in clear).
    /// @param decision The review outcome.
    /// @param commentHash Hash of the review comment kept off-chain.
    /// @param reviewedAt Block time of the review.
    event AlertReviewed(
        uint256 indexed alertId,
        address indexed bank,
        bytes32 reviewerRef,
        ReviewDecision decision,
        bytes32 commentHash,
        uint64 reviewedAt
    );

    /// @notice The round is not newer than the latest accepted round (replay or out-of-order report).
    /// @param roundId The report's round.
    /// @param latestRound The latest accepted round.
    error OracleStaleRound(uint64 roundId, uint64 latestRound);

    /// @notice The round jumps more than the governed MAX_ROUND_GAP past the latest round (a round near 2**64
    /// would freeze the oracle for ever).
    /// @param roundId The report's round.
    /// @param latestRound The latest accepted round.
    /// @param maxGap The governed maximum step.
    error OracleRoundGapTooLarge(uint64 roundId, uint64 latestRound, uint256 maxGap);

    /// @notice The report observes an earlier time than the latest accepted report.
    /// @param observedAt The report's observation time.
    /// @param latestObservedAt The latest accepted observation time.
    error OracleStaleObservation(uint64 observedAt, uint64 latestObservedAt);

    /// @notice The report's model version is not approved by the consortium.
    /// @param modelVersion The unapproved version.
    error OracleModelNotApproved(bytes32 modelVersion);

    /// @notice A reported value is outside its bounds.
    /// @param vehicleId The vehicle (zero for `observedAt`).
    /// @param field 0..11 indicator index, 12 score, 13 estimated value (zero), 14 observedAt (in the future).
    /// @param value The offending value.
    error OracleValueOutOfBounds(bytes32 vehicleId, uint256 field, uint256 value);

    /// @notice The vehicle is not registered.
    /// @param vehicleId The unknown vehicle.
    error OracleUnknownVehicle(bytes32 vehicleId);

    /// @notice The same vehicle appears twice in one report.
    /// @param vehicleId The repeated vehicle.
    error OracleDuplicateVehicle(bytes32 vehicleId);

    /// @notice The report has no vehicles.
    error OracleEmptyReport();

    /// @notice A signature is malformed.
    /// @param index Position of the signature in the array.
    error OracleInvalidSignature(uint256 index);

    /// @notice Two signatures come from the same operator.
    /// @param signer The repeated signer.
    error OracleDuplicateSigner(address signer);

    /// @notice A signer is not an active oracle operator.
    /// @param signer The recovered signer.
    error OracleUnauthorizedSigner(address signer);

    /// @notice Fewer distinct operator signatures than the governed quorum.
    /// @param valid Number of valid signatures.
    /// @param required The quorum.
    error OracleQuorumNotMet(uint256 valid, uint256 required);

    /// @notice No alert has this id.
    /// @param alertId The unknown id.
    error OracleUnknownAlert(uint256 alertId);

    /// @notice Only the lending bank of an alert may review it.
    /// @param alertId The alert.
    /// @param caller The caller who is not its bank.
    error OracleNotAlertBank(uint256 alertId, address caller);

    /// @notice The alert has already been reviewed.
    /// @param alertId The alert.
    error OracleAlertAlreadyReviewed(uint256 alertId);

    /// @notice Records a quorum-signed report; raises or re-arms value alerts. Active oracle operators only.
    /// @param report The report every signer signed (EIP-712 `Report`, domain "ConditionOracle" version "1").
    /// @param signatures 65-byte ECDSA signatures of distinct active oracle operators, at least the quorum.
    function submitReport(Report calldata report, bytes[] calldata signatures) external;

    /// @notice Records the lending bank's human review of an alert (once per alert).
    /// @param alertId The alert.
    /// @param decision The review outcome.
    /// @param reviewerRef Hash of the reviewing officer's staff id.
    /// @param commentHash Hash of the review comment kept off-chain.
    function reviewAlert(uint256 alertId, ReviewDecision decision, bytes32 reviewerRef, bytes32 commentHash) external;

    /// @notice Latest score of a vehicle, Chainlink style; consumers must check `updatedAt` for staleness.
    /// @param vehicleId The vehicle.
    /// @return roundId Round of the latest score (0 when never scored).
    /// @return score Composite score 0..10000.
    /// @return estimatedValue Estimated value.
    /// @return modelVersion Model version of that round.
    /// @return updatedAt Observation time of the score (0 when never scored).
    function latestRoundData(
        bytes32 vehicleId
    )
        external
        view
        returns (uint64 roundId, uint16 score, uint256 estimatedValue, bytes32 modelVersion, uint256 updatedAt);

    /// @notice Latest accepted round.
    /// @return The round id (0 before the first report).
    function latestRound() external view returns (uint64);

    /// @notice Observation time of the latest accepted report.
    /// @return The unix time (0 before the first report).
    function latestObservedAt() external view returns (uint64);

    /// @notice Model version that produced a round.
    /// @param roundId The round.
    /// @return The model version (zero for an unknown round).
    function roundModelVersion(uint64 roundId) external view returns (bytes32);

    /// @notice Whether the vehicle currently has an open value alert.
    /// @param vehicleId The vehicle.
    /// @return alertId The open alert (0 when none).
    function openAlertOf(bytes32 vehicleId) external view returns (uint256 alertId);

    /// @notice An alert and its review.
    /// @param alertId The alert.
    /// @return The alert (status None for an unknown id).
    function alert(uint256 alertId) external view returns (Alert memory);

    /// @notice Number of alerts raised so far (also the latest alert id).
    /// @return The count.
    function alertCount() external view returns (uint256);

    /// @notice EIP-712 digest of a report, as the operators must sign it.
    /// @param report The report.
    /// @return The digest.
    function reportDigest(Report calldata report) external view returns (bytes32);

    /// @notice The vehicle registry the oracle checks vehicles and liens against.
    /// @return The registry address.
    function registry() external view returns (address);
}
