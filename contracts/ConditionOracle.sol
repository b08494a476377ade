// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712Upgradeable} from "@openzeppelin/contracts-upgradeable/utils/cryptography/EIP712Upgradeable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {
    IConditionOracle,
    ORACLE_FIELD_SCORE,
    ORACLE_FIELD_ESTIMATED_VALUE,
    ORACLE_FIELD_OBSERVED_AT
} from "../interfaces/IConditionOracle.sol";
import {IConsortium} from "../interfaces/IConsortium.sol";
import {IVehicleRegistry} from "../interfaces/IVehicleRegistry.sol";
import {ConsortiumGated} from "./ConsortiumGated.sol";
import {ConsortiumKeys} from "./libraries/ConsortiumKeys.sol";

/**
 * @title ConditionOracle
 * @notice Quorum-signed vehicle condition reports and the value-threshold alert.
 * @dev Gas layout: the latest state of a vehicle lives in one packed storage slot, the governed
 * parameters are read once per report, and the 12 indicators are hashed into the signed digest but never stored:
 * they are recoverable from the calldata of the `submitReport` transaction, found through the `ReportAccepted`
 * event of the round. A vehicle's `updatedAt` is the report's observation time (not the block time), so a report
 * relayed late cannot make old data look fresh. Deployed behind an ERC1967 proxy (see {ConsortiumGated}): the
 * EIP-712 verifying contract is the proxy's address.
 */
contract ConditionOracle is IConditionOracle, ConsortiumGated, EIP712Upgradeable {
    /// @dev EIP-712 type hash of {VehicleScore}.
    bytes32 private constant _VEHICLE_SCORE_TYPEHASH =
        keccak256("VehicleScore(bytes32 vehicleId,uint16 score,uint16[12] indicators,uint128 estimatedValue)");
    /// @dev EIP-712 type hash of {Report} (referenced types appended, per EIP-712).
    bytes32 private constant _REPORT_TYPEHASH =
        keccak256(
            "Report(uint64 roundId,bytes32 modelVersion,uint64 observedAt,VehicleScore[] scores)"
            "VehicleScore(bytes32 vehicleId,uint16 score,uint16[12] indicators,uint128 estimatedValue)"
        );
    /// @dev Upper bound of the score and of every indicator (100.00%).
    uint256 private constant _MAX_SCORE = ConsortiumKeys.BPS_DENOMINATOR;
    /// @dev Number of indicators of the scoring model.
    uint256 private constant _INDICATOR_COUNT = 12;

    /// @dev Bit layout of a vehicle's packed latest state (one slot): estimatedValue in bits 0..127, roundId in
    /// 128..191, updatedAt in 192..231 (40 bits), score in 232..247, the open-alert flag in bit 248.
    uint256 private constant _ROUND_SHIFT = 128;
    uint256 private constant _UPDATED_AT_SHIFT = 192;
    uint256 private constant _SCORE_SHIFT = 232;
    uint256 private constant _ALERT_SHIFT = 248;

    IVehicleRegistry private _registry;

    mapping(bytes32 vehicleId => uint256 packedState) private _states;
    mapping(uint64 roundId => bytes32 modelVersion) private _roundModels;
    mapping(bytes32 vehicleId => uint256 alertId) private _openAlerts;
    mapping(uint256 alertId => Alert record) private _alerts;
    uint64 private _latestRound;
    uint64 private _latestObservedAt;
    uint256 private _alertCount;

    /**
     * @notice Binds the oracle (the proxy) to its Consortium and registry; its EIP-712 domain is
     * ("ConditionOracle", "1", chain id, the proxy's address). Run once, by the proxy's deployment.
     * @param consortium_ The Consortium.
     * @param registry_ The VehicleRegistry (its proxy).
     */
    function initialize(IConsortium consortium_, IVehicleRegistry registry_) external initializer {
        _initConsortiumGated(consortium_);
        _registry = registry_;
    }

    // ----------------------------------------------------------------- writes

    /// @inheritdoc IConditionOracle
    function submitReport(
        Report calldata report,
        bytes[] calldata signatures
    ) external onlyRole(ConsortiumKeys.ORACLE_ROLE) {
        uint64 roundId = report.roundId;
        uint64 observedAt = report.observedAt;
        uint256 count = report.scores.length;
        if (count == 0) revert OracleEmptyReport();
        uint64 latest = _latestRound;
        if (roundId <= latest) revert OracleStaleRound(roundId, latest);
        // A bounded step: a round near 2**64 - 1, even honestly signed, would leave no round for any later report.
        uint256 maxGap = _consortium.parameter(ConsortiumKeys.MAX_ROUND_GAP);
        if (roundId - latest > maxGap) revert OracleRoundGapTooLarge(roundId, latest, maxGap);
        if (observedAt > block.timestamp) {
            revert OracleValueOutOfBounds(bytes32(0), ORACLE_FIELD_OBSERVED_AT, observedAt);
        }
        if (observedAt < _latestObservedAt) revert OracleStaleObservation(observedAt, _latestObservedAt);
        if (!_consortium.isModelApproved(report.modelVersion)) revert OracleModelNotApproved(report.modelVersion);

        _latestRound = roundId;
        _latestObservedAt = observedAt;
        _roundModels[roundId] = report.modelVersion;

        // One pass: each entry is bounds-checked, hashed and recorded; the signatures are checked on the digest
        // at the end, and any failure reverts the whole report.
        uint256 thresholdBps = _consortium.parameter(ConsortiumKeys.ALERT_THRESHOLD_BPS);
        uint256 rearmBps = thresholdBps + _consortium.parameter(ConsortiumKeys.ALERT_HYSTERESIS_BPS);
        bytes32[] memory entryHashes = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            VehicleScore calldata entry = report.scores[i];
            entryHashes[i] = _hashVehicleScore(entry);
            _record(entry.vehicleId, entry.score, entry.estimatedValue, roundId, observedAt, thresholdBps, rearmBps);
        }
        bytes32 digest = _digest(report, entryHashes);
        _verifySignatures(digest, signatures);
        emit ReportAccepted(roundId, report.modelVersion, observedAt, count, msg.sender, digest);
    }

    /// @inheritdoc IConditionOracle
    function reviewAlert(
        uint256 alertId,
        ReviewDecision decision,
        bytes32 reviewerRef,
        bytes32 commentHash
    ) external onlyRole(ConsortiumKeys.BANK_ROLE) {
        Alert storage stored = _alerts[alertId];
        if (stored.status == AlertStatus.None) revert OracleUnknownAlert(alertId);
        if (stored.bank != msg.sender) revert OracleNotAlertBank(alertId, msg.sender);
        if (stored.reviewedAt != 0) revert OracleAlertAlreadyReviewed(alertId);
        uint64 reviewedAt = uint64(block.timestamp);
        stored.reviewedAt = reviewedAt;
        stored.decision = decision;
        stored.reviewerRef = reviewerRef;
        stored.commentHash = commentHash;
        emit AlertReviewed(alertId, msg.sender, reviewerRef, decision, commentHash, reviewedAt);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IConditionOracle
    function latestRoundData(
        bytes32 vehicleId
    )
        external
        view
        returns (uint64 roundId, uint16 score, uint256 estimatedValue, bytes32 modelVersion, uint256 updatedAt)
    {
        uint256 packed = _states[vehicleId];
        roundId = uint64(packed >> _ROUND_SHIFT);
        score = uint16(packed >> _SCORE_SHIFT);
        estimatedValue = uint128(packed);
        modelVersion = _roundModels[roundId];
        updatedAt = uint40(packed >> _UPDATED_AT_SHIFT);
    }

    /// @inheritdoc IConditionOracle
    function latestRound() external view returns (uint64) {
        return _latestRound;
    }

    /// @inheritdoc IConditionOracle
    function latestObservedAt() external view returns (uint64) {
        return _latestObservedAt;
    }

    /// @inheritdoc IConditionOracle
    function roundModelVersion(uint64 roundId) external view returns (bytes32) {
        return _roundModels[roundId];
    }

    /// @inheritdoc IConditionOracle
    function openAlertOf(bytes32 vehicleId) external view returns (uint256 alertId) {
        return (_states[vehicleId] >> _ALERT_SHIFT) & 1 == 1 ? _openAlerts[vehicleId] : 0;
    }

    /// @inheritdoc IConditionOracle
    function alert(uint256 alertId) external view returns (Alert memory) {
        return _alerts[alertId];
    }

    /// @inheritdoc IConditionOracle
    function alertCount() external view returns (uint256) {
        return _alertCount;
    }

    /// @inheritdoc IConditionOracle
    function reportDigest(Report calldata report) external view returns (bytes32) {
        uint256 count = report.scores.length;
        bytes32[] memory entryHashes = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            entryHashes[i] = _hashVehicleScore(report.scores[i]);
        }
        return _digest(report, entryHashes);
    }

    /// @inheritdoc IConditionOracle
    function registry() external view returns (address) {
        return address(_registry);
    }

    // --------------------------------------------------------------- private

    /// @dev The EIP-712 domain name, a constant rather than OpenZeppelin's stored string (no storage read per digest).
    // solhint-disable-next-line func-name-mixedcase
    function _EIP712Name() internal pure override returns (string memory) {
        return "ConditionOracle";
    }

    /// @dev The EIP-712 domain version, a constant like the name (both keep OpenZeppelin's names).
    // solhint-disable-next-line func-name-mixedcase
    function _EIP712Version() internal pure override returns (string memory) {
        return "1";
    }

    /// @dev EIP-712 digest of a report whose entries hash to `entryHashes` (an array is hashed as the keccak of
    /// its concatenated element hashes).
    function _digest(Report calldata report, bytes32[] memory entryHashes) private view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                _REPORT_TYPEHASH,
                report.roundId,
                report.modelVersion,
                report.observedAt,
                keccak256(abi.encodePacked(entryHashes))
            )
        );
        return _hashTypedDataV4(structHash);
    }

    /// @dev Bounds-checks one entry and returns its EIP-712 struct hash.
    function _hashVehicleScore(VehicleScore calldata entry) private pure returns (bytes32) {
        bytes32 vehicleId = entry.vehicleId;
        uint256 score = entry.score;
        uint256 estimatedValue = entry.estimatedValue;
        if (score > _MAX_SCORE) revert OracleValueOutOfBounds(vehicleId, ORACLE_FIELD_SCORE, score);
        if (estimatedValue == 0) revert OracleValueOutOfBounds(vehicleId, ORACLE_FIELD_ESTIMATED_VALUE, 0);
        bytes32 indicatorsHash = _hashIndicators(vehicleId, entry.indicators);
        return keccak256(abi.encode(_VEHICLE_SCORE_TYPEHASH, vehicleId, score, indicatorsHash, estimatedValue));
    }

    /**
     * @dev EIP-712 hash of a `uint16[12]` (keccak of its 12 abi-encoded words); reverts on an indicator above 10000.
     * Written out element by element: a loop plus an array copy cost about 2,000 more gas per vehicle.
     */
    function _hashIndicators(bytes32 vehicleId, uint16[12] calldata input) private pure returns (bytes32) {
        uint16[12] memory indicators = input;
        if (
            indicators[0] > _MAX_SCORE ||
            indicators[1] > _MAX_SCORE ||
            indicators[2] > _MAX_SCORE ||
            indicators[3] > _MAX_SCORE ||
            indicators[4] > _MAX_SCORE ||
            indicators[5] > _MAX_SCORE ||
            indicators[6] > _MAX_SCORE ||
            indicators[7] > _MAX_SCORE ||
            indicators[8] > _MAX_SCORE ||
            indicators[9] > _MAX_SCORE ||
            indicators[10] > _MAX_SCORE ||
            indicators[11] > _MAX_SCORE
        ) {
            for (uint256 j = 0; j < _INDICATOR_COUNT; ++j) {
                if (indicators[j] > _MAX_SCORE) revert OracleValueOutOfBounds(vehicleId, j, indicators[j]);
            }
        }
        return
            keccak256(
                abi.encode(
                    indicators[0],
                    indicators[1],
                    indicators[2],
                    indicators[3],
                    indicators[4],
                    indicators[5],
                    indicators[6],
                    indicators[7],
                    indicators[8],
                    indicators[9],
                    indicators[10],
                    indicators[11]
                )
            );
    }

    /// @dev Every signature must come from a distinct active oracle operator, and there must be a quorum of them.
    function _verifySignatures(bytes32 digest, bytes[] calldata signatures) private view {
        uint256 count = signatures.length;
        address[] memory signers = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            // slither-disable-next-line unused-return (the error argument only details recoverError, which is checked)
            (address signer, ECDSA.RecoverError recoverError, ) = ECDSA.tryRecover(digest, signatures[i]);
            if (recoverError != ECDSA.RecoverError.NoError) revert OracleInvalidSignature(i);
            for (uint256 j = 0; j < i; ++j) {
                if (signers[j] == signer) revert OracleDuplicateSigner(signer);
            }
            if (!_consortium.hasRole(ConsortiumKeys.ORACLE_ROLE, signer)) revert OracleUnauthorizedSigner(signer);
            signers[i] = signer;
        }
        uint256 quorum = _consortium.parameter(ConsortiumKeys.ORACLE_QUORUM);
        if (count < quorum) revert OracleQuorumNotMet(count, quorum);
    }

    /// @dev Stores one vehicle's latest state (one slot) and raises, re-arms or closes its alert.
    function _record(
        bytes32 vehicleId,
        uint256 score,
        uint256 value,
        uint64 roundId,
        uint64 observedAt,
        uint256 thresholdBps,
        uint256 rearmBps
    ) private {
        uint256 packed = _states[vehicleId];
        if (uint64(packed >> _ROUND_SHIFT) == roundId) revert OracleDuplicateVehicle(vehicleId);
        (uint256 appraisal, address lienBank, uint256 loanId) = _registry.collateralOf(vehicleId);
        if (appraisal == 0) revert OracleUnknownVehicle(vehicleId);

        bool inAlert = (packed >> _ALERT_SHIFT) & 1 == 1;
        if (inAlert) {
            inAlert = _updateOpenAlert(vehicleId, lienBank, loanId, value, appraisal, roundId, rearmBps);
        }
        if (!inAlert && lienBank != address(0) && value * _MAX_SCORE < appraisal * thresholdBps) {
            _raiseAlert(vehicleId, lienBank, loanId, value, appraisal, roundId, thresholdBps);
            inAlert = true;
        }
        // value < 2**128 and score <= 10000 (checked); observedAt <= block.timestamp (checked) fits 40 bits for
        // the next 34,000 years: the fields cannot overlap.
        _states[vehicleId] =
            value |
            (uint256(roundId) << _ROUND_SHIFT) |
            (uint256(observedAt) << _UPDATED_AT_SHIFT) |
            (score << _SCORE_SHIFT) |
            ((inAlert ? uint256(1) : 0) << _ALERT_SHIFT);
    }

    /// @dev Closes the vehicle's open alert when its lien ended or the value recovered; returns whether it stays open.
    function _updateOpenAlert(
        bytes32 vehicleId,
        address lienBank,
        uint256 loanId,
        uint256 value,
        uint256 appraisal,
        uint64 roundId,
        uint256 rearmBps
    ) private returns (bool stillOpen) {
        uint256 alertId = _openAlerts[vehicleId];
        Alert storage stored = _alerts[alertId];
        uint256 alertLoanId = stored.loanId;
        if (lienBank == address(0) || loanId != alertLoanId) {
            stored.status = AlertStatus.LienEnded;
            stored.closedRoundId = roundId;
            emit ValueAlertClosed(alertId, vehicleId, alertLoanId, roundId);
            return false;
        }
        if (value * _MAX_SCORE >= appraisal * rearmBps) {
            stored.status = AlertStatus.Recovered;
            stored.closedRoundId = roundId;
            emit ValueRecovered(alertId, vehicleId, lienBank, loanId, value, roundId);
            return false;
        }
        return true;
    }

    function _raiseAlert(
        bytes32 vehicleId,
        address bank,
        uint256 loanId,
        uint256 value,
        uint256 appraisal,
        uint64 roundId,
        uint256 thresholdBps
    ) private {
        uint256 alertId = ++_alertCount;
        Alert storage stored = _alerts[alertId];
        stored.vehicleId = vehicleId;
        stored.bank = bank;
        stored.roundId = roundId;
        // thresholdBps <= 10000 is enforced by the Consortium's parameter bounds.
        stored.thresholdBps = uint16(thresholdBps);
        stored.status = AlertStatus.Open;
        stored.loanId = loanId;
        // value comes from a uint128 field; the registry stores appraisals as uint128.
        stored.value = uint128(value);
        stored.appraisal = uint128(appraisal);
        stored.raisedAt = uint64(block.timestamp);
        _openAlerts[vehicleId] = alertId;
        emit ValueThresholdBreached(alertId, vehicleId, bank, loanId, value, appraisal, thresholdBps, roundId);
    }
}
