// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712Upgradeable} from "@openzeppelin/contracts-upgradeable/utils/cryptography/EIP712Upgradeable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ILoanManager} from "../interfaces/ILoanManager.sol";
import {IConditionOracle} from "../interfaces/IConditionOracle.sol";
import {IConsortium} from "../interfaces/IConsortium.sol";
import {IVehicleRegistry} from "../interfaces/IVehicleRegistry.sol";
import {ConsortiumGated} from "./ConsortiumGated.sol";
import {ConsortiumKeys} from "./libraries/ConsortiumKeys.sol";

/**
 * @title LoanManager
 * @notice Lifecycle of vehicle-collateral loans: application, approval (lien placed), disbursement, repayments,
 * overdue and default (time-checked, keeper callable), liquidation, closure.
 * @dev Every state change goes through {_transition}, which checks the transition table, emits
 * `LoanStateChanged` and places or releases the registry lien, so a loan holds its lien exactly while it is
 * Approved, Active, Overdue or Defaulted. Principal is repaid in `ceil(term / interval)` equal instalments, the
 * k-th due at `activatedAt + min(k * interval, term)`. A lien needs the consent of the vehicle's registering bank
 * (which did the owner's KYC and holds the owner's signed consent off-chain): its own application, or its EIP-712
 * `LienConsent` naming the applying bank. An approval not disbursed within APPROVAL_TTL expires, and governance
 * releases the liens of a lender that is no longer an active bank: no lien outlives its purpose. Deployed behind an
 * ERC1967 proxy (see {ConsortiumGated}): the EIP-712 verifying contract is the proxy's address.
 */
contract LoanManager is ILoanManager, ConsortiumGated, EIP712Upgradeable {
    /// @notice EIP-712 type hash of the consent a registering bank signs.
    bytes32 public constant LIEN_CONSENT_TYPEHASH =
        keccak256(
            "LienConsent(bytes32 vehicleId,address lender,bytes32 borrowerCommitment,uint128 principal,"
            "uint64 deadline,bytes32 nonce)"
        );

    uint256 private constant _BPS = ConsortiumKeys.BPS_DENOMINATOR;

    IVehicleRegistry private _registry;
    IConditionOracle private _oracle;

    mapping(uint256 loanId => Loan record) private _loans;
    uint256 private _loanCount;
    mapping(bytes32 digest => bool used) private _usedConsents;

    /**
     * @notice Binds the loan book (the proxy) to the consortium's registry and oracle; its EIP-712 domain is
     * ("LoanManager", "1", chain id, the proxy's address). Run once, by the proxy's deployment.
     * @param consortium_ The Consortium.
     * @param registry_ The VehicleRegistry (its proxy), where liens are placed (this contract needs SYSTEM_ROLE).
     * @param oracle_ The ConditionOracle (its proxy), source of scores and values.
     */
    function initialize(
        IConsortium consortium_,
        IVehicleRegistry registry_,
        IConditionOracle oracle_
    ) external initializer {
        _initConsortiumGated(consortium_);
        _registry = registry_;
        _oracle = oracle_;
    }

    // ---------------------------------------------------------------- lender

    /// @inheritdoc ILoanManager
    function applyForLoan(
        bytes32 vehicleId,
        bytes32 borrowerCommitment,
        uint128 principal,
        uint32 baseRateBps,
        uint64 termSeconds,
        uint64 installmentInterval,
        LienConsent calldata consent
    ) external onlyRole(ConsortiumKeys.BANK_ROLE) returns (uint256 loanId) {
        if (
            principal == 0 ||
            baseRateBps == 0 ||
            baseRateBps > _BPS ||
            installmentInterval == 0 ||
            installmentInterval > termSeconds
        ) {
            revert LoanInvalidTerms(principal, baseRateBps, termSeconds, installmentInterval);
        }
        if (borrowerCommitment == bytes32(0)) revert LoanInvalidBorrowerCommitment(borrowerCommitment);
        _checkConsent(vehicleId, borrowerCommitment, principal, consent);

        loanId = ++_loanCount;
        Loan storage stored = _loans[loanId];
        stored.vehicleId = vehicleId;
        stored.borrowerCommitment = borrowerCommitment;
        stored.bank = msg.sender;
        stored.baseRateBps = baseRateBps;
        stored.appliedRateBps = baseRateBps;
        stored.principal = principal;
        stored.termSeconds = termSeconds;
        stored.installmentInterval = installmentInterval;
        stored.appliedAt = uint64(block.timestamp);
        emit LoanApplied(
            loanId,
            msg.sender,
            vehicleId,
            borrowerCommitment,
            principal,
            baseRateBps,
            termSeconds,
            installmentInterval
        );
        _transition(loanId, stored, LoanState.Applied);
    }

    /// @inheritdoc ILoanManager
    function approve(uint256 loanId) external onlyRole(ConsortiumKeys.BANK_ROLE) {
        Loan storage stored = _lenderLoan(loanId);
        _checkTransition(loanId, stored.state, LoanState.Approved);
        (bool fresh, uint16 score, uint256 updatedAt, uint256 heartbeat) = _freshScore(stored.vehicleId);
        if (!fresh) revert LoanStaleScore(stored.vehicleId, updatedAt, heartbeat);
        stored.baselineScore = score;
        stored.appliedRateBps = stored.baseRateBps;
        stored.approvedAt = uint64(block.timestamp);
        _transition(loanId, stored, LoanState.Approved);
    }

    /// @inheritdoc ILoanManager
    function reject(uint256 loanId) external onlyRole(ConsortiumKeys.BANK_ROLE) {
        _transition(loanId, _lenderLoan(loanId), LoanState.Rejected);
    }

    /// @inheritdoc ILoanManager
    function cancel(uint256 loanId) external onlyRole(ConsortiumKeys.BANK_ROLE) {
        _transition(loanId, _lenderLoan(loanId), LoanState.Cancelled);
    }

    /// @inheritdoc ILoanManager
    function activate(uint256 loanId) external onlyRole(ConsortiumKeys.BANK_ROLE) {
        Loan storage stored = _lenderLoan(loanId);
        _checkTransition(loanId, stored.state, LoanState.Active);
        uint256 expiresAt = _approvalExpiry(stored);
        if (block.timestamp > expiresAt) revert LoanApprovalExpired(loanId, expiresAt);
        stored.activatedAt = uint64(block.timestamp);
        _transition(loanId, stored, LoanState.Active);
    }

    /// @inheritdoc ILoanManager
    function recordRepayment(uint256 loanId, uint128 amount) external onlyRole(ConsortiumKeys.BANK_ROLE) {
        Loan storage stored = _lenderLoan(loanId);
        LoanState state = stored.state;
        if (state != LoanState.Active && state != LoanState.Overdue && state != LoanState.Defaulted) {
            revert LoanInvalidState(loanId, state);
        }
        if (amount == 0) revert LoanZeroRepayment(loanId);
        uint256 owed = stored.principal - stored.repaid;
        if (amount > owed) revert LoanRepaymentExceedsOutstanding(loanId, amount, owed);
        // Cannot overflow: repaid + amount <= principal, a uint128.
        uint128 repaid;
        unchecked {
            repaid = stored.repaid + amount;
        }
        stored.repaid = repaid;
        emit RepaymentRecorded(loanId, msg.sender, amount, repaid, owed - amount);

        if (repaid == stored.principal) {
            _transition(loanId, stored, LoanState.Repaid);
            return;
        }
        _syncRate(loanId, stored);
        if (state == LoanState.Overdue && block.timestamp <= _firstUnpaidDueDate(stored)) {
            _transition(loanId, stored, LoanState.Active);
        }
    }

    /// @inheritdoc ILoanManager
    function liquidate(uint256 loanId, uint128 amountRecovered) external onlyRole(ConsortiumKeys.BANK_ROLE) {
        Loan storage stored = _lenderLoan(loanId);
        _checkTransition(loanId, stored.state, LoanState.Liquidated);
        stored.amountRecovered = amountRecovered;
        _transition(loanId, stored, LoanState.Liquidated);
        emit LoanLiquidated(loanId, msg.sender, amountRecovered, stored.principal - stored.repaid);
    }

    /// @inheritdoc ILoanManager
    function close(uint256 loanId) external onlyRole(ConsortiumKeys.BANK_ROLE) {
        _transition(loanId, _lenderLoan(loanId), LoanState.Closed);
    }

    // ---------------------------------------------------------------- keeper

    /// @inheritdoc ILoanManager
    function markOverdue(uint256 loanId) external onlyRole(ConsortiumKeys.MEMBER_ROLE) {
        Loan storage stored = _existingLoan(loanId);
        _checkTransition(loanId, stored.state, LoanState.Overdue);
        uint256 dueAt = _firstUnpaidDueDate(stored);
        if (block.timestamp <= dueAt) revert LoanNotYetDue(loanId, dueAt);
        _transition(loanId, stored, LoanState.Overdue);
    }

    /// @inheritdoc ILoanManager
    function markDefaulted(uint256 loanId) external onlyRole(ConsortiumKeys.MEMBER_ROLE) {
        Loan storage stored = _existingLoan(loanId);
        _checkTransition(loanId, stored.state, LoanState.Defaulted);
        uint256 defaultAt = _firstUnpaidDueDate(stored) + _consortium.parameter(ConsortiumKeys.GRACE_PERIOD);
        if (block.timestamp <= defaultAt) revert LoanNotYetDue(loanId, defaultAt);
        _transition(loanId, stored, LoanState.Defaulted);
    }

    /// @inheritdoc ILoanManager
    function expireApproval(uint256 loanId) external onlyRole(ConsortiumKeys.MEMBER_ROLE) {
        Loan storage stored = _existingLoan(loanId);
        _checkTransition(loanId, stored.state, LoanState.Expired);
        uint256 expiresAt = _approvalExpiry(stored);
        if (block.timestamp <= expiresAt) revert LoanApprovalNotExpired(loanId, expiresAt);
        _transition(loanId, stored, LoanState.Expired);
    }

    // ------------------------------------------------------------- governance

    /// @inheritdoc ILoanManager
    function releaseByGovernance(uint256 loanId, uint256 proposalId) external onlyGovernance {
        Loan storage stored = _existingLoan(loanId);
        if (!_holdsLien(stored.state)) revert LoanInvalidState(loanId, stored.state);
        address bank = stored.bank;
        if (_consortium.hasRole(ConsortiumKeys.BANK_ROLE, bank)) revert LoanLenderStillActive(loanId, bank);
        _transition(loanId, stored, LoanState.Released);
        emit LienReleasedByGovernance(loanId, stored.vehicleId, bank, proposalId);
    }

    /// @inheritdoc ILoanManager
    function syncRate(uint256 loanId) external onlyRole(ConsortiumKeys.MEMBER_ROLE) {
        Loan storage stored = _existingLoan(loanId);
        if (!_holdsLien(stored.state)) revert LoanInvalidState(loanId, stored.state);
        _syncRate(loanId, stored);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ILoanManager
    function loan(uint256 loanId) external view returns (Loan memory) {
        return _loans[loanId];
    }

    /// @inheritdoc ILoanManager
    function loanCount() external view returns (uint256) {
        return _loanCount;
    }

    /// @inheritdoc ILoanManager
    function currentRateBps(uint256 loanId) external view returns (uint256) {
        Loan storage stored = _existingLoan(loanId);
        if (!_holdsLien(stored.state)) return stored.appliedRateBps;
        (bool fresh, uint16 score, , ) = _freshScore(stored.vehicleId);
        return fresh ? _rateFor(stored, score) : stored.appliedRateBps;
    }

    /// @inheritdoc ILoanManager
    function loanToValueBps(uint256 loanId) external view returns (uint256) {
        Loan storage stored = _existingLoan(loanId);
        // slither-disable-next-line unused-return (only the estimated value is needed here)
        (, , uint256 estimatedValue, , ) = _oracle.latestRoundData(stored.vehicleId);
        if (estimatedValue == 0) revert LoanNoValuation(loanId);
        return ((stored.principal - stored.repaid) * _BPS) / estimatedValue;
    }

    /// @inheritdoc ILoanManager
    function outstanding(uint256 loanId) external view returns (uint256) {
        Loan storage stored = _existingLoan(loanId);
        return stored.principal - stored.repaid;
    }

    /// @inheritdoc ILoanManager
    function nextDueDate(uint256 loanId) external view returns (uint256) {
        Loan storage stored = _existingLoan(loanId);
        if (stored.activatedAt == 0 || stored.repaid == stored.principal) return 0;
        return _firstUnpaidDueDate(stored);
    }

    /// @inheritdoc ILoanManager
    function lienConsentDigest(
        bytes32 vehicleId,
        address lender,
        bytes32 borrowerCommitment,
        uint128 principal,
        uint64 deadline,
        bytes32 nonce
    ) public view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(LIEN_CONSENT_TYPEHASH, vehicleId, lender, borrowerCommitment, principal, deadline, nonce)
                )
            );
    }

    /// @inheritdoc ILoanManager
    function isConsentUsed(bytes32 digest) external view returns (bool) {
        return _usedConsents[digest];
    }

    /// @inheritdoc ILoanManager
    function isTransitionAllowed(LoanState from, LoanState to) public pure returns (bool) {
        return _allowedTargets(from) & _bit(to) != 0;
    }

    /// @inheritdoc ILoanManager
    function holdsLien(LoanState state) external pure returns (bool) {
        return _holdsLien(state);
    }

    /// @inheritdoc ILoanManager
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc ILoanManager
    function oracle() external view returns (address) {
        return address(_oracle);
    }

    // --------------------------------------------------------------- private

    /// @dev The EIP-712 domain name, a constant rather than OpenZeppelin's stored string (no storage read per digest).
    // solhint-disable-next-line func-name-mixedcase
    function _EIP712Name() internal pure override returns (string memory) {
        return "LoanManager";
    }

    /// @dev The EIP-712 domain version, a constant like the name (both keep OpenZeppelin's names).
    // solhint-disable-next-line func-name-mixedcase
    function _EIP712Version() internal pure override returns (string memory) {
        return "1";
    }

    /**
     * @dev The only place a loan's state changes: checks the table, records the new state, emits, then places
     * the lien when the loan starts holding one and releases it when it stops.
     */
    function _transition(uint256 loanId, Loan storage stored, LoanState to) private {
        LoanState from = stored.state;
        _checkTransition(loanId, from, to);
        stored.state = to;
        emit LoanStateChanged(loanId, stored.bank, from, to);
        bool held = _holdsLien(from);
        bool holds = _holdsLien(to);
        if (!held && holds) {
            _registry.placeLien(stored.vehicleId, stored.bank, loanId);
        } else if (held && !holds) {
            _registry.releaseLien(stored.vehicleId, loanId);
        }
    }

    /**
     * @dev The vehicle must be registered, and its registering bank consent: by applying itself, or by its
     * signature of this application's `LienConsent`, unexpired, unused, while it is an active bank.
     */
    function _checkConsent(
        bytes32 vehicleId,
        bytes32 borrowerCommitment,
        uint128 principal,
        LienConsent calldata consent
    ) private {
        IVehicleRegistry.Vehicle memory registered = _registry.vehicle(vehicleId);
        if (!registered.exists) revert LoanUnknownVehicle(vehicleId);
        address registrar = registered.registeredBy;
        if (registrar == msg.sender) return;

        uint64 deadline = consent.deadline;
        if (deadline < block.timestamp) revert LoanConsentExpired(deadline, block.timestamp);
        bytes32 digest = lienConsentDigest(
            vehicleId,
            msg.sender,
            borrowerCommitment,
            principal,
            deadline,
            consent.nonce
        );
        if (_usedConsents[digest]) revert LoanConsentUsed(digest);
        // slither-disable-next-line unused-return (a failed recovery returns address(0), refused below)
        (address recovered, , ) = ECDSA.tryRecover(digest, consent.signature);
        if (recovered != registrar) revert LoanInvalidConsent(vehicleId, registrar, recovered);
        _consortium.checkRole(ConsortiumKeys.BANK_ROLE, registrar);
        _usedConsents[digest] = true;
    }

    /// @dev Last time at which an approved loan can be activated.
    function _approvalExpiry(Loan storage stored) private view returns (uint256) {
        return stored.approvedAt + _consortium.parameter(ConsortiumKeys.APPROVAL_TTL);
    }

    function _checkTransition(uint256 loanId, LoanState from, LoanState to) private pure {
        if (!isTransitionAllowed(from, to)) revert LoanInvalidState(loanId, from);
    }

    /// @dev The transition table: bit `to` of the result is set when `from -> to` is allowed.
    function _allowedTargets(LoanState from) private pure returns (uint256) {
        if (from == LoanState.None) return _bit(LoanState.Applied);
        if (from == LoanState.Applied) {
            return _bit(LoanState.Approved) | _bit(LoanState.Rejected) | _bit(LoanState.Cancelled);
        }
        // Released (governance, lender no longer an active bank) ends any loan holding a lien.
        uint256 released = _bit(LoanState.Released);
        if (from == LoanState.Approved) {
            return _bit(LoanState.Active) | _bit(LoanState.Cancelled) | _bit(LoanState.Expired) | released;
        }
        if (from == LoanState.Active) return _bit(LoanState.Overdue) | _bit(LoanState.Repaid) | released;
        if (from == LoanState.Overdue) {
            return _bit(LoanState.Active) | _bit(LoanState.Defaulted) | _bit(LoanState.Repaid) | released;
        }
        if (from == LoanState.Defaulted) return _bit(LoanState.Liquidated) | _bit(LoanState.Repaid) | released;
        if (from == LoanState.Liquidated || from == LoanState.Repaid) return _bit(LoanState.Closed);
        return 0; // Closed, Rejected, Cancelled, Expired, Released are final.
    }

    function _bit(LoanState state) private pure returns (uint256) {
        return 1 << uint8(state);
    }

    function _holdsLien(LoanState state) private pure returns (bool) {
        return
            state == LoanState.Approved ||
            state == LoanState.Active ||
            state == LoanState.Overdue ||
            state == LoanState.Defaulted;
    }

    function _existingLoan(uint256 loanId) private view returns (Loan storage stored) {
        stored = _loans[loanId];
        if (stored.state == LoanState.None) revert LoanUnknown(loanId);
    }

    /// @dev The loan, which must exist and belong to the calling bank.
    function _lenderLoan(uint256 loanId) private view returns (Loan storage stored) {
        stored = _existingLoan(loanId);
        if (stored.bank != msg.sender) revert LoanNotLender(loanId, msg.sender);
    }

    /// @dev The vehicle's latest score and whether it is younger than HEARTBEAT.
    function _freshScore(
        bytes32 vehicleId
    ) private view returns (bool fresh, uint16 score, uint256 updatedAt, uint256 heartbeat) {
        // slither-disable-next-line unused-return (only score and updatedAt are needed here)
        (, score, , , updatedAt) = _oracle.latestRoundData(vehicleId);
        heartbeat = _consortium.parameter(ConsortiumKeys.HEARTBEAT);
        fresh = updatedAt != 0 && updatedAt + heartbeat >= block.timestamp;
    }

    /// @dev base * (10000 + steps * RATE_INCREASE_BPS) / 10000, steps = max(0, baseline - score) / RATE_STEP_BPS.
    function _rateFor(Loan storage stored, uint16 score) private view returns (uint256) {
        uint256 baseline = stored.baselineScore;
        uint256 steps = baseline > score ? (baseline - score) / _consortium.parameter(ConsortiumKeys.RATE_STEP_BPS) : 0;
        uint256 increase = steps * _consortium.parameter(ConsortiumKeys.RATE_INCREASE_BPS);
        return (uint256(stored.baseRateBps) * (_BPS + increase)) / _BPS;
    }

    /// @dev Re-prices from a fresh score; keeps the last applied rate when there is none.
    function _syncRate(uint256 loanId, Loan storage stored) private {
        (bool fresh, uint16 score, , ) = _freshScore(stored.vehicleId);
        if (!fresh) return;
        // At most base (<= 10000) * (1 + 10000 steps * 10000 bps / 10000) ~ 1e8 < 2**32: the cast is safe.
        uint32 newRate = uint32(_rateFor(stored, score));
        uint32 oldRate = stored.appliedRateBps;
        // slither-disable-next-line incorrect-equality (rates, not balances: an unchanged rate emits nothing)
        if (newRate == oldRate) return;
        stored.appliedRateBps = newRate;
        emit LoanRateUpdated(loanId, oldRate, newRate, score);
    }

    /**
     * @dev Due date of the first instalment the repayments do not cover. With n = ceil(term / interval)
     * instalments, cumulative principal due after instalment k is floor(principal * k / n) (exactly principal for
     * k = n); the first k with that above `repaid` is ceil((repaid + 1) * n / principal) <= n since repaid < principal.
     */
    // slither-disable-next-line divide-before-multiply (both divisions are intended ceilings, see @dev)
    function _firstUnpaidDueDate(Loan storage stored) private view returns (uint256) {
        uint256 interval = stored.installmentInterval;
        uint256 term = stored.termSeconds;
        uint256 count = (term + interval - 1) / interval;
        uint256 principal = stored.principal;
        uint256 k = ((uint256(stored.repaid) + 1) * count + principal - 1) / principal;
        uint256 offset = k * interval;
        return stored.activatedAt + (offset < term ? offset : term);
    }
}
