// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title IConsortium
 * @notice Membership, roles, governance and governed parameters of the vehicle-collateral lending consortium.
 * @dev The one place where roles are decided: every other contract asks `checkRole`/`hasRole`. Role and parameter
 * identifiers are `keccak256` of their names and are available as constants in `ConsortiumKeys` and on `Consortium`.
 */
interface IConsortium {
    /// @notice Kind of a member. `None` marks an address that never was a member.
    enum MemberKind {
        None,
        Bank,
        Auditor,
        OracleOperator,
        DocumentIssuer
    }

    /// @notice Status of a member. `None` marks an address that never was a member; `Removed` is final.
    enum MemberStatus {
        None,
        Active,
        Suspended,
        Removed
    }

    /// @notice What an executed proposal does.
    enum ActionType {
        AdmitMember,
        SuspendMember,
        ReinstateMember,
        RemoveMember,
        SetParameter,
        SetModelApproval,
        ReleaseLien,
        Reappraise,
        RevokeIssuerDocuments,
        UpgradeContract
    }

    /**
     * @notice A consortium member.
     * @param kind Its kind; its role is the kind's role, only while `status` is `Active`.
     * @param status Active, Suspended or Removed.
     * @param joinedAt Timestamp of admission.
     * @param nameHash Hash of the institution's name (no name in clear on-chain).
     */
    struct Member {
        MemberKind kind;
        MemberStatus status;
        uint64 joinedAt;
        bytes32 nameHash;
    }

    /**
     * @notice The action a proposal executes. Fields not used by an action type must be zero.
     * @param actionType Which action.
     * @param account Member concerned (Admit/Suspend/Reinstate/RemoveMember), the suspended or removed lender
     * (ReleaseLien), the document issuer (RevokeIssuerDocuments) or the proxy to upgrade (the Consortium or one of
     * the three bound system contracts; UpgradeContract).
     * @param kind Kind of the admitted member (AdmitMember).
     * @param key Institution name hash (AdmitMember), parameter key (SetParameter), model version
     * (SetModelApproval), vehicle id (Reappraise) or the new implementation as
     * `bytes32(uint256(uint160(implementation)))` (UpgradeContract).
     * @param value Parameter value (SetParameter), 1 to approve / 0 to withdraw approval (SetModelApproval), loan id
     * (ReleaseLien), new appraisal 1..2**128-1 (Reappraise) or cutoff unix time, 1..now (RevokeIssuerDocuments).
     */
    struct Action {
        ActionType actionType;
        address account;
        MemberKind kind;
        bytes32 key;
        uint256 value;
    }

    /**
     * @notice A governance proposal.
     * @param action What it executes.
     * @param proposer Bank that created it.
     * @param deadline Last timestamp at which it can be voted on and executed.
     * @param yesVotes Votes in favour, as cast (`countedVotes` gives those of banks still active).
     * @param noVotes Votes against, as cast.
     * @param executed Whether it has been executed.
     */
    struct Proposal {
        Action action;
        address proposer;
        uint64 deadline;
        uint32 yesVotes;
        uint32 noVotes;
        bool executed;
    }

    /**
     * @notice `account` lacks `neededRole` (not a member of that kind, or not active).
     * @param account The caller or signer that was checked.
     * @param neededRole The role it needed.
     */
    error ConsortiumUnauthorizedAccount(address account, bytes32 neededRole);

    /**
     * @notice `value` is out of the bounds allowed for parameter `key`.
     * @param key Parameter key.
     * @param value Refused value.
     */
    error ConsortiumInvalidParameter(bytes32 key, uint256 value);

    /**
     * @notice `key` is not a governed parameter.
     * @param key The unknown key.
     */
    error ConsortiumUnknownParameter(bytes32 key);

    /**
     * @notice The initializer did not set parameter `key`.
     * @param key The missing key.
     */
    error ConsortiumMissingParameter(bytes32 key);

    /**
     * @notice Initializer arrays of different lengths.
     * @param expected Length of the first array of the group.
     * @param actual Length of the mismatching array.
     */
    error ConsortiumArrayLengthMismatch(uint256 expected, uint256 actual);

    /// @notice The founding members contain no bank, so nobody could ever govern.
    error ConsortiumNoFoundingBank();

    /**
     * @notice `account` cannot be a member (zero address).
     * @param account The refused address.
     */
    error ConsortiumInvalidAccount(address account);

    /**
     * @notice `kind` is not a member kind (`None`).
     * @param kind The refused kind.
     */
    error ConsortiumInvalidMemberKind(MemberKind kind);

    /**
     * @notice `account` is or was a member (removed addresses cannot be admitted again).
     * @param account The address.
     * @param status Its current status.
     */
    error ConsortiumMemberExists(address account, MemberStatus status);

    /**
     * @notice `account` was never a member.
     * @param account The address.
     */
    error ConsortiumNotMember(address account);

    /**
     * @notice The member's status does not allow the action (e.g. suspending a suspended member).
     * @param account The member.
     * @param status Its current status.
     */
    error ConsortiumInvalidMemberStatus(address account, MemberStatus status);

    /**
     * @notice Suspending or removing `account` would leave no active bank to govern.
     * @param account The last active bank.
     */
    error ConsortiumLastActiveBank(address account);

    /**
     * @notice The model version is the zero hash.
     * @param version The refused version.
     */
    error ConsortiumInvalidModelVersion(bytes32 version);

    /**
     * @notice The action has fields that its type does not use, or an unusable value.
     * @param actionType The action type.
     */
    error ConsortiumInvalidAction(ActionType actionType);

    /**
     * @notice No proposal has this id.
     * @param proposalId The id.
     */
    error ConsortiumUnknownProposal(uint256 proposalId);

    /**
     * @notice The proposal's deadline has passed.
     * @param proposalId The proposal.
     * @param deadline Its deadline.
     */
    error ConsortiumProposalExpired(uint256 proposalId, uint64 deadline);

    /**
     * @notice The proposal was already executed.
     * @param proposalId The proposal.
     */
    error ConsortiumProposalAlreadyExecuted(uint256 proposalId);

    /**
     * @notice `voter` already voted on the proposal.
     * @param proposalId The proposal.
     * @param voter The bank.
     */
    error ConsortiumAlreadyVoted(uint256 proposalId, address voter);

    /**
     * @notice The yes-votes of banks that are active now are not more than half of the active banks.
     * @param proposalId The proposal.
     * @param countedYes Yes-votes of voters that are active banks now (a suspended or removed voter's vote no
     * longer counts).
     * @param activeBanks Active banks now.
     */
    error ConsortiumProposalNotPassed(uint256 proposalId, uint256 countedYes, uint256 activeBanks);

    /**
     * @notice A document public key of zero.
     * @param publicKey The refused key.
     */
    error ConsortiumInvalidDocumentKey(bytes32 publicKey);

    /**
     * @notice `account` is not the deployer allowed to bind the system contracts.
     * @param account The caller.
     */
    error ConsortiumNotDeployer(address account);

    /// @notice The system contracts are already bound.
    error ConsortiumSystemAlreadyBound();

    /**
     * @notice A system contract address is zero.
     * @param account The refused address.
     */
    error ConsortiumInvalidSystemContract(address account);

    /**
     * @notice Only the Consortium, executing an `UpgradeContract` proposal, may upgrade a system contract or itself.
     * @param proxy The contract whose upgrade was refused.
     * @param caller Who tried.
     * @param implementation The implementation it tried to install.
     */
    error ConsortiumUnauthorizedUpgrade(address proxy, address caller, address implementation);

    /**
     * @notice `proxy` is neither the Consortium nor a bound system contract, so it cannot be upgraded by vote.
     * @param proxy The refused address.
     */
    error ConsortiumInvalidUpgradeTarget(address proxy);

    /**
     * @notice `implementation` has no code or is not a UUPS implementation (`proxiableUUID()` is not the ERC1967
     * implementation slot).
     * @param implementation The refused implementation.
     */
    error ConsortiumInvalidImplementation(address implementation);

    /**
     * @notice `account` was admitted.
     * @param account The new member.
     * @param kind Its kind.
     * @param nameHash Hash of the institution's name.
     */
    event MemberAdmitted(address indexed account, MemberKind indexed kind, bytes32 nameHash);

    /**
     * @notice `account` was suspended: it holds no role until reinstated.
     * @param account The member.
     * @param kind Its kind.
     */
    event MemberSuspended(address indexed account, MemberKind indexed kind);

    /**
     * @notice `account` was reinstated.
     * @param account The member.
     * @param kind Its kind.
     */
    event MemberReinstated(address indexed account, MemberKind indexed kind);

    /**
     * @notice `account` was removed for good.
     * @param account The member.
     * @param kind Its kind.
     */
    event MemberRemoved(address indexed account, MemberKind indexed kind);

    /**
     * @notice Parameter `key` changed (also emitted for the initial values at initialization, with `oldValue` 0).
     * @param key Parameter key.
     * @param oldValue Previous value.
     * @param newValue New value.
     */
    event ParameterChanged(bytes32 indexed key, uint256 oldValue, uint256 newValue);

    /**
     * @notice Score model `version` was approved or its approval withdrawn.
     * @param version Model version identifier.
     * @param approved Whether it is approved now.
     */
    event ModelVersionApproval(bytes32 indexed version, bool approved);

    /**
     * @notice A proposal was created.
     * @param proposalId Its id.
     * @param proposer The proposing bank.
     * @param actionType Action type.
     * @param account Action's account.
     * @param kind Action's member kind.
     * @param key Action's key.
     * @param value Action's value.
     * @param deadline Last timestamp for voting and execution.
     */
    event ProposalCreated(
        uint256 indexed proposalId,
        address indexed proposer,
        ActionType actionType,
        address account,
        MemberKind kind,
        bytes32 key,
        uint256 value,
        uint64 deadline
    );

    /**
     * @notice A bank voted.
     * @param proposalId The proposal.
     * @param voter The bank.
     * @param support In favour or against.
     * @param yesVotes Yes-votes after this vote.
     * @param noVotes No-votes after this vote.
     */
    event VoteCast(uint256 indexed proposalId, address indexed voter, bool support, uint256 yesVotes, uint256 noVotes);

    /**
     * @notice A proposal was executed (after the events of its action).
     * @param proposalId The proposal.
     * @param executor The bank that executed it.
     */
    event ProposalExecuted(uint256 indexed proposalId, address indexed executor);

    /**
     * @notice A member published a new public key for document envelopes (X25519); documents anchored from now on
     * are wrapped to it.
     * @param member The bank or auditor.
     * @param publicKey Its X25519 public key.
     * @param version The member's key version, 1 for its first key, incremented by each call.
     */
    event DocumentKeySet(address indexed member, bytes32 publicKey, uint32 version);

    /**
     * @notice The system contracts were bound and received SYSTEM_ROLE; the deployer lost its power.
     * @param registry VehicleRegistry.
     * @param oracle ConditionOracle.
     * @param loanManager LoanManager.
     */
    event SystemContractsBound(address indexed registry, address indexed oracle, address indexed loanManager);

    /**
     * @notice The proxy `proxy` now runs `implementation`, by the executed proposal `proposalId`.
     * @param proxy The upgraded contract (its address and state are unchanged).
     * @param implementation Its new implementation.
     * @param proposalId The proposal that decided it.
     */
    event ContractUpgraded(address indexed proxy, address indexed implementation, uint256 proposalId);

    /**
     * @notice Whether `account` holds `role` now (member of the role's kind and Active, or a bound system contract;
     * MEMBER_ROLE: any Active member; GOVERNANCE_ROLE: this Consortium only, i.e. an executed proposal).
     * @param role Role identifier.
     * @param account Address checked.
     * @return Whether it holds the role.
     */
    function hasRole(bytes32 role, address account) external view returns (bool);

    /**
     * @notice Reverts with `ConsortiumUnauthorizedAccount(account, role)` unless `account` holds `role`.
     * @param role Role identifier.
     * @param account Address checked.
     */
    function checkRole(bytes32 role, address account) external view;

    /**
     * @notice Number of active members of `kind`.
     * @param kind Member kind.
     * @return Count of active members.
     */
    function activeMemberCount(MemberKind kind) external view returns (uint256);

    /**
     * @notice The member record of `account` (all zero for a non-member).
     * @param account Address.
     * @return The member record.
     */
    function memberOf(address account) external view returns (Member memory);

    /**
     * @notice Current value of governed parameter `key`; reverts `ConsortiumUnknownParameter` for other keys.
     * @param key Parameter key, `keccak256` of its name.
     * @return Its value.
     */
    function parameter(bytes32 key) external view returns (uint256);

    /**
     * @notice Whether score model `version` is approved.
     * @param version Model version identifier.
     * @return Whether it is approved.
     */
    function isModelApproved(bytes32 version) external view returns (bool);

    /**
     * @notice Creates a proposal; only an active bank. The action is validated now and again at execution.
     * @param action What the proposal executes.
     * @return proposalId Id of the new proposal (1, 2, ...).
     */
    function propose(Action calldata action) external returns (uint256 proposalId);

    /**
     * @notice Votes on a proposal; only an active bank, once, before the deadline.
     * @param proposalId The proposal.
     * @param support In favour or against.
     */
    function vote(uint256 proposalId, bool support) external;

    /**
     * @notice Executes a proposal whose yes-votes of banks active now exceed half of the active banks, before its
     * deadline; only an active bank.
     * @param proposalId The proposal.
     */
    function execute(uint256 proposalId) external;

    /**
     * @notice The votes that count now: those of voters that are active banks at this moment (`execute` uses `yes`).
     * @param proposalId The proposal (reverts `ConsortiumUnknownProposal` for an unknown id).
     * @return yes Counted yes-votes.
     * @return no Counted no-votes.
     */
    function countedVotes(uint256 proposalId) external view returns (uint256 yes, uint256 no);

    /**
     * @notice A proposal (reverts `ConsortiumUnknownProposal` for an unknown id).
     * @param proposalId The proposal.
     * @return The proposal.
     */
    function proposal(uint256 proposalId) external view returns (Proposal memory);

    /**
     * @notice Number of proposals created, which is also the id of the latest one.
     * @return The count.
     */
    function proposalCount() external view returns (uint256);

    /**
     * @notice Whether `account` voted on the proposal.
     * @param proposalId The proposal.
     * @param account The bank.
     * @return Whether it voted.
     */
    function hasVoted(uint256 proposalId, address account) external view returns (bool);

    /**
     * @notice Publishes the caller's public key for document envelope encryption; only an active bank or auditor
     * (`ConsortiumUnauthorizedAccount(caller, BANK_ROLE)` otherwise). Each call increments the caller's version.
     * @param publicKey X25519 public key (32 bytes), not zero.
     */
    function setDocumentKey(bytes32 publicKey) external;

    /**
     * @notice The latest document public key of `member`, whatever its status now (readers check `memberOf`).
     * @param member The member.
     * @return publicKey Its X25519 public key (zero if never set).
     * @return version Its key version (0 if never set).
     */
    function documentKeyOf(address member) external view returns (bytes32 publicKey, uint32 version);

    /**
     * @notice Grants SYSTEM_ROLE to the three system contracts; once, by the deployer, who has no power afterwards.
     * @param registry_ VehicleRegistry.
     * @param oracle_ ConditionOracle.
     * @param loanManager_ LoanManager.
     */
    function bindSystemContracts(address registry_, address oracle_, address loanManager_) external;

    /**
     * @notice The bound VehicleRegistry (zero before binding).
     * @return Its address.
     */
    function registry() external view returns (address);

    /**
     * @notice The bound ConditionOracle (zero before binding).
     * @return Its address.
     */
    function oracle() external view returns (address);

    /**
     * @notice The bound LoanManager (zero before binding).
     * @return Its address.
     */
    function loanManager() external view returns (address);
}
