// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Loan lifecycle of vehicle-collateral loans
/// @notice Each loan moves through `LoanState` only along the allowed transitions; the lien on the vehicle is
/// held in the registry exactly while the loan is Approved, Active, Overdue or Defaulted. A lien on a vehicle needs
/// its registering bank's consent, an approval not disbursed within APPROVAL_TTL expires, and governance can
/// release the liens of a lender that is no longer an active bank.
/// @dev Amounts are principal in the appraisal's currency unit. The ledger records principal amortisation in
/// equal instalments; interest is charged off-chain at `currentRateBps`, which follows the condition score.
interface ILoanManager {
    /// @notice States of a loan. `None` is the state of an id that was never issued.
    enum LoanState {
        None,
        Applied,
        Approved,
        Active,
        Overdue,
        Defaulted,
        Liquidated,
        Repaid,
        Closed,
        Rejected,
        Cancelled,
        Expired,
        Released
    }

    /// @notice The registering bank's consent to a lien of another bank (EIP-712 `LienConsent`, domain
    /// ("LoanManager", "1", chain id, this contract)). The registering bank did the owner's KYC and holds the
    /// owner's signed consent off-chain; the chain sees only the borrower commitment.
    /// @param deadline Last unix time at which the consent can be used (0 when the applicant registered the vehicle).
    /// @param nonce Any value that makes the consent unique (each consent is usable once).
    /// @param signature 65-byte ECDSA signature of the registering bank (empty when the applicant registered the
    /// vehicle: its own transaction is the consent).
    struct LienConsent {
        uint64 deadline;
        bytes32 nonce;
        bytes signature;
    }

    /// @notice A loan.
    /// @param vehicleId The collateral vehicle.
    /// @param borrowerCommitment Commitment (salted hash) to the borrower's identity; no personal data on-chain.
    /// @param bank The lending bank.
    /// @param state Current state.
    /// @param baseRateBps Annual base rate in basis points.
    /// @param appliedRateBps Rate last applied: base at approval, then re-priced from fresh scores.
    /// @param baselineScore Condition score at approval, the reference of the condition-rate linkage.
    /// @param principal Loan principal.
    /// @param repaid Principal repaid so far.
    /// @param termSeconds Loan term.
    /// @param installmentInterval Time between instalments; the last one falls due at the end of the term.
    /// @param appliedAt Application time.
    /// @param activatedAt Disbursement time (0 before).
    /// @param amountRecovered Amount recovered by liquidation.
    /// @param approvedAt Approval time (0 before); the approval expires APPROVAL_TTL after it.
    struct Loan {
        bytes32 vehicleId;
        bytes32 borrowerCommitment;
        address bank;
        LoanState state;
        uint32 baseRateBps;
        uint32 appliedRateBps;
        uint16 baselineScore;
        uint128 principal;
        uint128 repaid;
        uint64 termSeconds;
        uint64 installmentInterval;
        uint64 appliedAt;
        uint64 activatedAt;
        uint128 amountRecovered;
        uint64 approvedAt;
    }

    /// @notice A bank opened a loan application.
    /// @param loanId The new loan.
    /// @param bank The lending bank.
    /// @param vehicleId The collateral vehicle.
    /// @param borrowerCommitment Commitment to the borrower.
    /// @param principal Principal.
    /// @param baseRateBps Base rate.
    /// @param termSeconds Term.
    /// @param installmentInterval Instalment interval.
    event LoanApplied(
        uint256 indexed loanId,
        address indexed bank,
        bytes32 indexed vehicleId,
        bytes32 borrowerCommitment,
        uint128 principal,
        uint32 baseRateBps,
        uint64 termSeconds,
        uint64 installmentInterval
    );

    /// @notice A loan changed state (emitted for every change, including the creation None -> Applied).
    /// @param loanId The loan.
    /// @param bank The lending bank.
    /// @param from Previous state.
    /// @param to New state.
    event LoanStateChanged(uint256 indexed loanId, address indexed bank, LoanState from, LoanState to);

    /// @notice A repayment was recorded.
    /// @param loanId The loan.
    /// @param bank The lending bank.
    /// @param amount Amount repaid.
    /// @param totalRepaid Principal repaid so far.
    /// @param outstanding Principal still outstanding.
    event RepaymentRecorded(
        uint256 indexed loanId,
        address indexed bank,
        uint256 amount,
        uint256 totalRepaid,
        uint256 outstanding
    );

    /// @notice The applied rate changed because the condition score moved.
    /// @param loanId The loan.
    /// @param oldRateBps Previous applied rate.
    /// @param newRateBps New applied rate.
    /// @param score The fresh score it is based on.
    event LoanRateUpdated(uint256 indexed loanId, uint32 oldRateBps, uint32 newRateBps, uint16 score);

    /// @notice A defaulted loan was liquidated.
    /// @param loanId The loan.
    /// @param bank The lending bank.
    /// @param amountRecovered Amount recovered from the collateral.
    /// @param outstanding Principal outstanding at liquidation.
    event LoanLiquidated(uint256 indexed loanId, address indexed bank, uint256 amountRecovered, uint256 outstanding);

    /// @notice Governance released the lien of a lender that is no longer an active bank (loan -> Released).
    /// @param loanId The loan.
    /// @param vehicleId The vehicle freed.
    /// @param bank The suspended or removed lender.
    /// @param proposalId The executed proposal.
    event LienReleasedByGovernance(
        uint256 indexed loanId,
        bytes32 indexed vehicleId,
        address indexed bank,
        uint256 proposalId
    );

    /// @notice No loan has this id.
    /// @param loanId The unknown id.
    error LoanUnknown(uint256 loanId);

    /// @notice The operation is not allowed in the loan's current state.
    /// @param loanId The loan.
    /// @param current Its state.
    error LoanInvalidState(uint256 loanId, LoanState current);

    /// @notice Only the lending bank may move its loan.
    /// @param loanId The loan.
    /// @param caller The caller who is not its bank.
    error LoanNotLender(uint256 loanId, address caller);

    /// @notice The vehicle is not registered.
    /// @param vehicleId The vehicle.
    error LoanUnknownVehicle(bytes32 vehicleId);

    /// @notice Principal, rate, term or instalment interval is invalid (zero, or interval longer than the term).
    /// @param principal Principal.
    /// @param baseRateBps Base rate.
    /// @param termSeconds Term.
    /// @param installmentInterval Instalment interval.
    error LoanInvalidTerms(uint128 principal, uint32 baseRateBps, uint64 termSeconds, uint64 installmentInterval);

    /// @notice The borrower commitment is zero.
    /// @param borrowerCommitment The refused commitment.
    error LoanInvalidBorrowerCommitment(bytes32 borrowerCommitment);

    /// @notice The vehicle has no score younger than the HEARTBEAT parameter.
    /// @param vehicleId The vehicle.
    /// @param updatedAt Time of its latest score (0 when never scored).
    /// @param heartbeat The maximum age.
    error LoanStaleScore(bytes32 vehicleId, uint256 updatedAt, uint256 heartbeat);

    /// @notice A repayment of zero.
    /// @param loanId The loan.
    error LoanZeroRepayment(uint256 loanId);

    /// @notice The repayment exceeds the outstanding principal.
    /// @param loanId The loan.
    /// @param amount The repayment.
    /// @param outstanding The outstanding principal.
    error LoanRepaymentExceedsOutstanding(uint256 loanId, uint256 amount, uint256 outstanding);

    /// @notice The loan is not past its due date (markOverdue) or its grace period (markDefaulted) yet.
    /// @param loanId The loan.
    /// @param dueAt The time after which the call succeeds.
    error LoanNotYetDue(uint256 loanId, uint256 dueAt);

    /// @notice The vehicle has never been valued, so no loan-to-value can be computed.
    /// @param loanId The loan.
    error LoanNoValuation(uint256 loanId);

    /// @notice The lien consent is not signed by the vehicle's registering bank (or is malformed).
    /// @param vehicleId The vehicle.
    /// @param expectedSigner The registering bank.
    /// @param recovered The address recovered from the signature (zero for a malformed signature).
    error LoanInvalidConsent(bytes32 vehicleId, address expectedSigner, address recovered);

    /// @notice The lien consent's deadline has passed.
    /// @param deadline The consent's deadline.
    /// @param nowTime The block time.
    error LoanConsentExpired(uint64 deadline, uint256 nowTime);

    /// @notice This lien consent was already used for a loan application.
    /// @param digest The consent's EIP-712 digest.
    error LoanConsentUsed(bytes32 digest);

    /// @notice The approval is older than APPROVAL_TTL: the loan can no longer be activated, only expired.
    /// @param loanId The loan.
    /// @param expiresAt The last time at which it could be activated.
    error LoanApprovalExpired(uint256 loanId, uint256 expiresAt);

    /// @notice The approval is not older than APPROVAL_TTL yet.
    /// @param loanId The loan.
    /// @param expiresAt The time after which `expireApproval` succeeds.
    error LoanApprovalNotExpired(uint256 loanId, uint256 expiresAt);

    /// @notice The lender is still an active bank: only it may end its loan.
    /// @param loanId The loan.
    /// @param bank The lender.
    error LoanLenderStillActive(uint256 loanId, address bank);

    /// @notice Opens a loan application on a registered vehicle. Active banks only. A bank that registered the
    /// vehicle consents by its own transaction; any other bank needs the registering bank's signed `LienConsent`
    /// naming the vehicle, itself, the borrower commitment and the principal, within its deadline, used once, and
    /// the registering bank must still be an active bank.
    /// @param vehicleId The collateral vehicle.
    /// @param borrowerCommitment Commitment to the borrower's identity (not zero).
    /// @param principal Principal (> 0).
    /// @param baseRateBps Annual base rate (1..10000 bps).
    /// @param termSeconds Term (> 0).
    /// @param installmentInterval Instalment interval (1..termSeconds).
    /// @param consent The registering bank's consent (ignored when the caller registered the vehicle).
    /// @return loanId The new loan id (1, 2, ...).
    function applyForLoan(
        bytes32 vehicleId,
        bytes32 borrowerCommitment,
        uint128 principal,
        uint32 baseRateBps,
        uint64 termSeconds,
        uint64 installmentInterval,
        LienConsent calldata consent
    ) external returns (uint256 loanId);

    /// @notice Approves an application and places the lien; needs a score younger than HEARTBEAT. Lender only.
    /// @param loanId The loan.
    function approve(uint256 loanId) external;

    /// @notice Rejects an application. Lender only.
    /// @param loanId The loan.
    function reject(uint256 loanId) external;

    /// @notice Cancels an application or an approved, not yet disbursed loan (releasing its lien). Lender only.
    /// @param loanId The loan.
    function cancel(uint256 loanId) external;

    /// @notice Records the disbursement: Approved -> Active, the instalment schedule starts; refused
    /// (`LoanApprovalExpired`) more than APPROVAL_TTL after approval. Lender only.
    /// @param loanId The loan.
    function activate(uint256 loanId) external;

    /// @notice Records a principal repayment. Overdue -> Active once caught up; fully repaid -> Repaid (lien
    /// released). Also re-prices the loan from a fresh score. Lender only.
    /// @param loanId The loan (Active, Overdue or Defaulted).
    /// @param amount Amount repaid (1..outstanding).
    function recordRepayment(uint256 loanId, uint128 amount) external;

    /// @notice Active -> Overdue once the first unpaid instalment's due date has passed. Callable by any active
    /// member (a keeper): the outcome depends only on time and the recorded repayments.
    /// @param loanId The loan.
    function markOverdue(uint256 loanId) external;

    /// @notice Overdue -> Defaulted once the overdue instalment is more than GRACE_PERIOD past due. Callable by
    /// any active member (a keeper).
    /// @param loanId The loan.
    function markDefaulted(uint256 loanId) external;

    /// @notice Re-prices the loan from its vehicle's fresh score (condition-rate linkage). Callable by any active
    /// member (a keeper); does nothing without a fresh score or when the rate is unchanged.
    /// @param loanId The loan (Approved, Active, Overdue or Defaulted).
    function syncRate(uint256 loanId) external;

    /// @notice Approved -> Expired (lien released) once the approval is more than APPROVAL_TTL old. Callable by
    /// any active member (a keeper).
    /// @param loanId The loan.
    function expireApproval(uint256 loanId) external;

    /// @notice -> Released (lien released) for a loan holding a lien whose lender is no longer an active bank;
    /// only the Consortium, executing a `ReleaseLien` proposal.
    /// @param loanId The loan.
    /// @param proposalId The executed proposal (recorded in the event).
    function releaseByGovernance(uint256 loanId, uint256 proposalId) external;

    /// @notice Defaulted -> Liquidated: records the amount recovered and releases the lien. Lender only.
    /// @param loanId The loan.
    /// @param amountRecovered Amount recovered from the collateral.
    function liquidate(uint256 loanId, uint128 amountRecovered) external;

    /// @notice Repaid or Liquidated -> Closed. Lender only.
    /// @param loanId The loan.
    function close(uint256 loanId) external;

    /// @notice A loan.
    /// @param loanId The loan.
    /// @return The loan (state None for an unknown id).
    function loan(uint256 loanId) external view returns (Loan memory);

    /// @notice Number of loans opened so far (also the latest id).
    /// @return The count.
    function loanCount() external view returns (uint256);

    /// @notice Rate implied by the condition-rate linkage:
    /// `base * (10000 + steps * RATE_INCREASE_BPS) / 10000`, `steps = max(0, baseline - score) / RATE_STEP_BPS`
    /// on the vehicle's latest score younger than HEARTBEAT. Without a fresh score the last applied rate stands;
    /// before approval it is the base rate.
    /// @param loanId The loan.
    /// @return The rate in basis points.
    function currentRateBps(uint256 loanId) external view returns (uint256);

    /// @notice Outstanding principal over the vehicle's latest estimated value, in basis points.
    /// @param loanId The loan.
    /// @return The loan-to-value ratio.
    function loanToValueBps(uint256 loanId) external view returns (uint256);

    /// @notice Principal still outstanding.
    /// @param loanId The loan.
    /// @return principal - repaid.
    function outstanding(uint256 loanId) external view returns (uint256);

    /// @notice Due date of the first instalment not fully covered by the repayments (0 before activation or
    /// once repaid).
    /// @param loanId The loan.
    /// @return The unix time.
    function nextDueDate(uint256 loanId) external view returns (uint256);

    /// @notice Whether the transition table allows `from -> to`.
    /// @param from Current state.
    /// @param to Target state.
    /// @return True when allowed.
    function isTransitionAllowed(LoanState from, LoanState to) external pure returns (bool);

    /// @notice The EIP-712 digest the registering bank signs to consent to a lien of `lender`.
    /// @param vehicleId The vehicle.
    /// @param lender The applying bank.
    /// @param borrowerCommitment The borrower commitment of the application.
    /// @param principal The principal of the application.
    /// @param deadline Last unix time of use.
    /// @param nonce Uniqueness value.
    /// @return The digest of `LienConsent(bytes32 vehicleId,address lender,bytes32 borrowerCommitment,uint128
    /// principal,uint64 deadline,bytes32 nonce)`.
    function lienConsentDigest(
        bytes32 vehicleId,
        address lender,
        bytes32 borrowerCommitment,
        uint128 principal,
        uint64 deadline,
        bytes32 nonce
    ) external view returns (bytes32);

    /// @notice Whether a lien consent was already used.
    /// @param digest The consent's digest (`lienConsentDigest`).
    /// @return True once an application used it.
    function isConsentUsed(bytes32 digest) external view returns (bool);

    /// @notice Whether a loan in `state` holds the lien on its vehicle.
    /// @param state The state.
    /// @return True for Approved, Active, Overdue and Defaulted.
    function holdsLien(LoanState state) external pure returns (bool);

    /// @notice The vehicle registry holding the liens.
    /// @return The registry address.
    function registry() external view returns (address);

    /// @notice The condition oracle the rate linkage and approvals read.
    /// @return The oracle address.
    function oracle() external view returns (address);
}
