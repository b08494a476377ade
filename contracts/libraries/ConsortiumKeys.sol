// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title ConsortiumKeys
 * @notice Identifiers of the consortium's roles and governed parameters, each `keccak256` of its name.
 * @dev The single source of these values: `Consortium` exposes them as public constants and the other contracts use
 * them to ask the consortium (`_consortium.checkRole(ConsortiumKeys.BANK_ROLE, ...)`,
 * `_consortium.parameter(ConsortiumKeys.ALERT_THRESHOLD_BPS)`).
 */
library ConsortiumKeys {
    /// @notice Active banks: register vehicles, originate loans, review alerts, govern.
    bytes32 internal constant BANK_ROLE = keccak256("BANK_ROLE");
    /// @notice Active auditors: read-only members.
    bytes32 internal constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");
    /// @notice Active oracle operators: sign and transmit condition reports.
    bytes32 internal constant ORACLE_ROLE = keccak256("ORACLE_ROLE");
    /// @notice Active document issuers (repair shops, insurers): sign documents.
    bytes32 internal constant ISSUER_ROLE = keccak256("ISSUER_ROLE");
    /// @notice Any active member, whatever its kind: keepers (time-checked loan transitions).
    bytes32 internal constant MEMBER_ROLE = keccak256("MEMBER_ROLE");
    /// @notice The bound system contracts (VehicleRegistry, ConditionOracle, LoanManager).
    bytes32 internal constant SYSTEM_ROLE = keccak256("SYSTEM_ROLE");
    /// @notice Held by the Consortium contract itself: the caller when an executed proposal acts on a system contract.
    bytes32 internal constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");

    /// @notice Alert when value < appraisal * this / 10000.
    bytes32 internal constant ALERT_THRESHOLD_BPS = keccak256("ALERT_THRESHOLD_BPS");
    /// @notice Re-arm an alert when value >= appraisal * (threshold + this) / 10000.
    bytes32 internal constant ALERT_HYSTERESIS_BPS = keccak256("ALERT_HYSTERESIS_BPS");
    /// @notice Condition-score drop per rate step.
    bytes32 internal constant RATE_STEP_BPS = keccak256("RATE_STEP_BPS");
    /// @notice Relative rate increase per step, in basis points of the base rate.
    bytes32 internal constant RATE_INCREASE_BPS = keccak256("RATE_INCREASE_BPS");
    /// @notice Distinct active oracle signatures a report needs.
    bytes32 internal constant ORACLE_QUORUM = keccak256("ORACLE_QUORUM");
    /// @notice Maximum age, in seconds, of a score a loan decision may rely on.
    bytes32 internal constant HEARTBEAT = keccak256("HEARTBEAT");
    /// @notice Time, in seconds, a proposal stays open.
    bytes32 internal constant VOTING_PERIOD = keccak256("VOTING_PERIOD");
    /// @notice Time, in seconds, after an overdue due date before a loan may be declared in default.
    bytes32 internal constant GRACE_PERIOD = keccak256("GRACE_PERIOD");
    /// @notice Largest step, in rounds, from the latest oracle round to the next report's round.
    bytes32 internal constant MAX_ROUND_GAP = keccak256("MAX_ROUND_GAP");
    /// @notice Time, in seconds, an approved loan may wait for disbursement before it expires.
    bytes32 internal constant APPROVAL_TTL = keccak256("APPROVAL_TTL");
    /// @notice Fingerprint of the consortium's current VIN secret (HMAC-SHA256 of a fixed label under the secret):
    /// the secret every bank derives new vehicle ids with. Changing it by vote rotates the secret; never zero.
    bytes32 internal constant VIN_SECRET_FINGERPRINT = keccak256("VIN_SECRET_FINGERPRINT");

    /// @notice Basis-point denominator (100%).
    uint256 internal constant BPS_DENOMINATOR = 10_000;
}
