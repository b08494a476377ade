// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {IERC1822Proxiable} from "@openzeppelin/contracts/interfaces/draft-IERC1822.sol";
import {ERC1967Utils} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Utils.sol";
import {IConsortium} from "../interfaces/IConsortium.sol";
import {ILoanManager} from "../interfaces/ILoanManager.sol";
import {IVehicleRegistry} from "../interfaces/IVehicleRegistry.sol";
import {ConsortiumKeys} from "./libraries/ConsortiumKeys.sol";

/**
 * @title Consortium
 * @notice Members, roles, governance and governed parameters of the vehicle-collateral lending consortium.
 * @dev Roles are decided here only. A member's role is its kind's role while it is Active; SYSTEM_ROLE belongs to
 * the three contracts bound once by the deployer. Active banks govern by proposal and vote: one vote per bank, a
 * proposal passes when the yes-votes of banks that are active at execution exceed half of those banks, before its
 * deadline: the vote of a bank suspended or removed after voting no longer counts (it counts again if a suspended
 * bank is reinstated). A removed address can never be admitted again, so its history stays unambiguous. Three
 * actions act on the system contracts, which accept them from this contract only (GOVERNANCE_ROLE): releasing the
 * lien of a lender that is no longer an active bank, an appraisal by vote, and revoking an issuer's documents.
 * Upgrades: this contract and the three system contracts are UUPS implementations behind ERC1967 proxies; an
 * `UpgradeContract` proposal, once executed, is the only way to upgrade any of them (this contract's own
 * `_authorizeUpgrade` accepts only itself). Storage rule: the variables below keep their order and a new
 * implementation only appends (see docs/contracts.md).
 */
contract Consortium is IConsortium, Initializable, UUPSUpgradeable {
    /// @notice Role of active banks.
    bytes32 public constant BANK_ROLE = ConsortiumKeys.BANK_ROLE;
    /// @notice Role of active auditors.
    bytes32 public constant AUDITOR_ROLE = ConsortiumKeys.AUDITOR_ROLE;
    /// @notice Role of active oracle operators.
    bytes32 public constant ORACLE_ROLE = ConsortiumKeys.ORACLE_ROLE;
    /// @notice Role of active document issuers.
    bytes32 public constant ISSUER_ROLE = ConsortiumKeys.ISSUER_ROLE;
    /// @notice Held by every active member, whatever its kind.
    bytes32 public constant MEMBER_ROLE = ConsortiumKeys.MEMBER_ROLE;
    /// @notice Role of the bound system contracts.
    bytes32 public constant SYSTEM_ROLE = ConsortiumKeys.SYSTEM_ROLE;
    /// @notice Held by this contract only: executed proposals call the system contracts with it.
    bytes32 public constant GOVERNANCE_ROLE = ConsortiumKeys.GOVERNANCE_ROLE;

    /// @notice Parameter key: alert threshold, in basis points of the appraisal.
    bytes32 public constant ALERT_THRESHOLD_BPS = ConsortiumKeys.ALERT_THRESHOLD_BPS;
    /// @notice Parameter key: alert re-arm margin above the threshold, in basis points.
    bytes32 public constant ALERT_HYSTERESIS_BPS = ConsortiumKeys.ALERT_HYSTERESIS_BPS;
    /// @notice Parameter key: condition-score drop per rate step, in basis points.
    bytes32 public constant RATE_STEP_BPS = ConsortiumKeys.RATE_STEP_BPS;
    /// @notice Parameter key: relative rate increase per step, in basis points of the base rate.
    bytes32 public constant RATE_INCREASE_BPS = ConsortiumKeys.RATE_INCREASE_BPS;
    /// @notice Parameter key: distinct oracle signatures a report needs.
    bytes32 public constant ORACLE_QUORUM = ConsortiumKeys.ORACLE_QUORUM;
    /// @notice Parameter key: maximum score age, in seconds.
    bytes32 public constant HEARTBEAT = ConsortiumKeys.HEARTBEAT;
    /// @notice Parameter key: proposal duration, in seconds.
    bytes32 public constant VOTING_PERIOD = ConsortiumKeys.VOTING_PERIOD;
    /// @notice Parameter key: grace period before default, in seconds.
    bytes32 public constant GRACE_PERIOD = ConsortiumKeys.GRACE_PERIOD;
    /// @notice Parameter key: largest step from the latest oracle round to the next, in rounds.
    bytes32 public constant MAX_ROUND_GAP = ConsortiumKeys.MAX_ROUND_GAP;
    /// @notice Parameter key: time an approved loan may wait for disbursement before it expires, in seconds.
    bytes32 public constant APPROVAL_TTL = ConsortiumKeys.APPROVAL_TTL;
    /// @notice Parameter key: fingerprint of the current VIN secret (see `ConsortiumKeys`).
    bytes32 public constant VIN_SECRET_FINGERPRINT = ConsortiumKeys.VIN_SECRET_FINGERPRINT;

    /// @dev A member's latest document public key and its version (1, 2, ...).
    struct DocumentKey {
        bytes32 publicKey;
        uint32 version;
    }

    /// @dev Upper bound of every duration parameter.
    uint256 private constant _MAX_DURATION = 365 days;
    /// @dev Upper bound of the oracle quorum.
    uint256 private constant _MAX_ORACLE_QUORUM = 100;
    /// @dev Upper bound of the oracle round gap.
    uint256 private constant _MAX_ROUND_GAP_BOUND = 1_000_000;
    /// @dev Lower bound of the approval time-to-live: a bank needs time to disburse.
    uint256 private constant _MIN_APPROVAL_TTL = 1 hours;
    /// @dev Number of governed parameters; bit i of a mask stands for the parameter of index i.
    uint256 private constant _PARAMETER_COUNT = 11;

    mapping(address account => Member member) private _members;
    mapping(MemberKind kind => uint256 count) private _activeCounts;
    mapping(bytes32 key => uint256 value) private _parameters;
    mapping(bytes32 version => bool approved) private _approvedModels;
    mapping(uint256 proposalId => Proposal proposal) private _proposals;
    mapping(uint256 proposalId => mapping(address account => bool voted)) private _voted;
    mapping(address account => bool isSystem) private _systemContracts;
    uint256 private _proposalCount;

    address private _deployer;
    address private _registry;
    address private _oracle;
    address private _loanManager;
    /// @dev Who voted how, so that only the votes of banks active at execution are counted.
    mapping(uint256 proposalId => address[] voters) private _yesVoters;
    mapping(uint256 proposalId => address[] voters) private _noVoters;
    mapping(address member => DocumentKey key) private _documentKeys;

    /**
     * @notice The implementation alone is never initialized: only the proxy's storage is.
     * @custom:oz-upgrades-unsafe-allow constructor
     */
    constructor() {
        _disableInitializers();
    }

    // solhint-disable gas-calldata-parameters
    /**
     * @notice Admits the founding members and sets every governed parameter; the deployer (the account deploying
     * the proxy, which runs this call atomically) may bind the system contracts once, later.
     * @param founders Founding members.
     * @param kinds Kind of each founding member; at least one Bank.
     * @param nameHashes Institution name hash of each founding member.
     * @param paramKeys Keys of every governed parameter.
     * @param paramValues Initial value of each key, validated like a governance change.
     * @dev Memory arguments: five calldata arrays are too deep for the unoptimized compilation Slither runs.
     */
    function initialize(
        address[] memory founders,
        MemberKind[] memory kinds,
        bytes32[] memory nameHashes,
        bytes32[] memory paramKeys,
        uint256[] memory paramValues
    ) external initializer {
        if (kinds.length != founders.length) revert ConsortiumArrayLengthMismatch(founders.length, kinds.length);
        if (nameHashes.length != founders.length) {
            revert ConsortiumArrayLengthMismatch(founders.length, nameHashes.length);
        }
        if (paramValues.length != paramKeys.length) {
            revert ConsortiumArrayLengthMismatch(paramKeys.length, paramValues.length);
        }
        _deployer = msg.sender;

        for (uint256 i = 0; i < founders.length; ++i) {
            _checkAdmission(founders[i], kinds[i]);
            _admit(founders[i], kinds[i], nameHashes[i]);
        }
        if (_activeCounts[MemberKind.Bank] == 0) revert ConsortiumNoFoundingBank();

        uint256 setMask = 0;
        for (uint256 i = 0; i < paramKeys.length; ++i) {
            setMask |= 1 << _parameterIndex(paramKeys[i]);
            _setParameter(paramKeys[i], paramValues[i]);
        }
        for (uint256 i = 0; i < _PARAMETER_COUNT; ++i) {
            if (setMask & (1 << i) == 0) revert ConsortiumMissingParameter(_parameterKey(i));
        }
        // Cross-parameter bounds, checked once every parameter is known.
        _validateParameter(ALERT_HYSTERESIS_BPS, _parameters[ALERT_HYSTERESIS_BPS]);
    }
    // solhint-enable gas-calldata-parameters

    // ------------------------------------------------------------------ roles

    /// @inheritdoc IConsortium
    function hasRole(bytes32 role, address account) public view returns (bool) {
        if (role == SYSTEM_ROLE) return _systemContracts[account];
        if (role == GOVERNANCE_ROLE) return account == address(this);
        Member storage member = _members[account];
        if (member.status != MemberStatus.Active || member.kind == MemberKind.None) return false;
        return role == MEMBER_ROLE || _roleOf(member.kind) == role;
    }

    /// @inheritdoc IConsortium
    function checkRole(bytes32 role, address account) external view {
        if (!hasRole(role, account)) revert ConsortiumUnauthorizedAccount(account, role);
    }

    /// @inheritdoc IConsortium
    function activeMemberCount(MemberKind kind) external view returns (uint256) {
        return _activeCounts[kind];
    }

    /// @inheritdoc IConsortium
    function memberOf(address account) external view returns (Member memory) {
        return _members[account];
    }

    // ------------------------------------------------------------- parameters

    /// @inheritdoc IConsortium
    function parameter(bytes32 key) external view returns (uint256) {
        _parameterIndex(key);
        return _parameters[key];
    }

    /// @inheritdoc IConsortium
    function isModelApproved(bytes32 version) external view returns (bool) {
        return _approvedModels[version];
    }

    // ------------------------------------------------------------- governance

    /// @inheritdoc IConsortium
    function propose(Action calldata action) external returns (uint256 proposalId) {
        _checkCallerRole(BANK_ROLE);
        _validateAction(action);
        proposalId = ++_proposalCount;
        uint64 deadline = uint64(block.timestamp + _parameters[VOTING_PERIOD]);
        Proposal storage stored = _proposals[proposalId];
        stored.action = action;
        stored.proposer = msg.sender;
        stored.deadline = deadline;
        emit ProposalCreated(
            proposalId,
            msg.sender,
            action.actionType,
            action.account,
            action.kind,
            action.key,
            action.value,
            deadline
        );
    }

    /// @inheritdoc IConsortium
    function vote(uint256 proposalId, bool support) external {
        _checkCallerRole(BANK_ROLE);
        Proposal storage stored = _openProposal(proposalId);
        if (_voted[proposalId][msg.sender]) revert ConsortiumAlreadyVoted(proposalId, msg.sender);
        _voted[proposalId][msg.sender] = true;
        if (support) _yesVoters[proposalId].push(msg.sender);
        else _noVoters[proposalId].push(msg.sender);
        // Cannot overflow: each active bank votes once and there are far fewer than 2**32 banks.
        unchecked {
            if (support) ++stored.yesVotes;
            else ++stored.noVotes;
        }
        emit VoteCast(proposalId, msg.sender, support, stored.yesVotes, stored.noVotes);
    }

    /// @inheritdoc IConsortium
    function execute(uint256 proposalId) external {
        _checkCallerRole(BANK_ROLE);
        Proposal storage stored = _openProposal(proposalId);
        uint256 activeBanks = _activeCounts[MemberKind.Bank];
        uint256 countedYes = _countActiveBanks(_yesVoters[proposalId]);
        if (countedYes * 2 <= activeBanks) revert ConsortiumProposalNotPassed(proposalId, countedYes, activeBanks);
        stored.executed = true;
        Action memory action = stored.action;
        _validateAction(action);
        _apply(proposalId, action);
        emit ProposalExecuted(proposalId, msg.sender);
    }

    /// @inheritdoc IConsortium
    function countedVotes(uint256 proposalId) external view returns (uint256 yes, uint256 no) {
        _existingProposal(proposalId);
        yes = _countActiveBanks(_yesVoters[proposalId]);
        no = _countActiveBanks(_noVoters[proposalId]);
    }

    /// @inheritdoc IConsortium
    function proposal(uint256 proposalId) external view returns (Proposal memory) {
        return _existingProposal(proposalId);
    }

    /// @inheritdoc IConsortium
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @inheritdoc IConsortium
    function hasVoted(uint256 proposalId, address account) external view returns (bool) {
        return _voted[proposalId][account];
    }

    // ---------------------------------------------------------- document keys

    /// @inheritdoc IConsortium
    function setDocumentKey(bytes32 publicKey) external {
        // Only banks and auditors read borrower documents; issuers and oracle operators get no key.
        Member storage member = _members[msg.sender];
        if (
            member.status != MemberStatus.Active ||
            (member.kind != MemberKind.Bank && member.kind != MemberKind.Auditor)
        ) {
            revert ConsortiumUnauthorizedAccount(msg.sender, BANK_ROLE);
        }
        if (publicKey == bytes32(0)) revert ConsortiumInvalidDocumentKey(publicKey);
        uint32 version = _documentKeys[msg.sender].version + 1;
        _documentKeys[msg.sender] = DocumentKey({publicKey: publicKey, version: version});
        emit DocumentKeySet(msg.sender, publicKey, version);
    }

    /// @inheritdoc IConsortium
    function documentKeyOf(address member) external view returns (bytes32 publicKey, uint32 version) {
        DocumentKey storage key = _documentKeys[member];
        return (key.publicKey, key.version);
    }

    // -------------------------------------------------------- system binding

    /// @inheritdoc IConsortium
    function bindSystemContracts(address registry_, address oracle_, address loanManager_) external {
        if (_registry != address(0)) revert ConsortiumSystemAlreadyBound();
        if (msg.sender != _deployer) revert ConsortiumNotDeployer(msg.sender);
        if (registry_ == address(0)) revert ConsortiumInvalidSystemContract(registry_);
        if (oracle_ == address(0)) revert ConsortiumInvalidSystemContract(oracle_);
        if (loanManager_ == address(0)) revert ConsortiumInvalidSystemContract(loanManager_);
        _deployer = address(0);
        _registry = registry_;
        _oracle = oracle_;
        _loanManager = loanManager_;
        _systemContracts[registry_] = true;
        _systemContracts[oracle_] = true;
        _systemContracts[loanManager_] = true;
        emit SystemContractsBound(registry_, oracle_, loanManager_);
    }

    /// @inheritdoc IConsortium
    function registry() external view returns (address) {
        return _registry;
    }

    /// @inheritdoc IConsortium
    function oracle() external view returns (address) {
        return _oracle;
    }

    /// @inheritdoc IConsortium
    function loanManager() external view returns (address) {
        return _loanManager;
    }

    // --------------------------------------------------------------- private

    function _checkCallerRole(bytes32 role) private view {
        if (!hasRole(role, msg.sender)) revert ConsortiumUnauthorizedAccount(msg.sender, role);
    }

    function _existingProposal(uint256 proposalId) private view returns (Proposal storage stored) {
        if (proposalId == 0 || proposalId > _proposalCount) revert ConsortiumUnknownProposal(proposalId);
        stored = _proposals[proposalId];
    }

    /// @dev The proposal, if it exists, is not executed and its deadline has not passed.
    function _openProposal(uint256 proposalId) private view returns (Proposal storage stored) {
        stored = _existingProposal(proposalId);
        if (stored.executed) revert ConsortiumProposalAlreadyExecuted(proposalId);
        if (block.timestamp > stored.deadline) revert ConsortiumProposalExpired(proposalId, stored.deadline);
    }

    /// @dev How many of `voters` are active banks now.
    function _countActiveBanks(address[] storage voters) private view returns (uint256 count) {
        uint256 length = voters.length;
        for (uint256 i = 0; i < length; ++i) {
            Member storage member = _members[voters[i]];
            // Voters were banks when they voted and a member's kind never changes: only the status is checked.
            if (member.status == MemberStatus.Active) ++count;
        }
    }

    /// @dev Reverts with the error the action would hit if executed now.
    function _validateAction(Action memory action) private view {
        ActionType actionType = action.actionType;
        if (actionType == ActionType.AdmitMember) {
            if (action.value != 0) revert ConsortiumInvalidAction(actionType);
            _checkAdmission(action.account, action.kind);
        } else if (actionType == ActionType.SetParameter) {
            if (action.account != address(0) || action.kind != MemberKind.None) {
                revert ConsortiumInvalidAction(actionType);
            }
            _validateParameter(action.key, action.value);
        } else if (actionType == ActionType.SetModelApproval) {
            if (action.account != address(0) || action.kind != MemberKind.None || action.value > 1) {
                revert ConsortiumInvalidAction(actionType);
            }
            if (action.key == bytes32(0)) revert ConsortiumInvalidModelVersion(action.key);
        } else if (
            actionType == ActionType.ReleaseLien ||
            actionType == ActionType.Reappraise ||
            actionType == ActionType.RevokeIssuerDocuments
        ) {
            _validateSystemAction(action);
        } else if (actionType == ActionType.UpgradeContract) {
            _validateUpgrade(action);
        } else {
            if (action.kind != MemberKind.None || action.key != bytes32(0) || action.value != 0) {
                revert ConsortiumInvalidAction(actionType);
            }
            _checkStatusChange(action.account, actionType);
        }
    }

    /**
     * @dev The actions carried out by a system contract. The loan, vehicle or issuer is checked here too, so that
     * a proposal cannot name one lender or issuer and act on another's loan or documents, and an unusable proposal
     * is refused when made, not after the vote.
     */
    function _validateSystemAction(Action memory action) private view {
        ActionType actionType = action.actionType;
        if (action.kind != MemberKind.None || _loanManager == address(0)) revert ConsortiumInvalidAction(actionType);
        if (actionType == ActionType.Reappraise) {
            if (action.account != address(0) || action.value == 0 || action.value > type(uint128).max) {
                revert ConsortiumInvalidAction(actionType);
            }
            if (!IVehicleRegistry(_registry).vehicle(action.key).exists) {
                revert IVehicleRegistry.RegistryUnknownVehicle(action.key);
            }
            return;
        }
        if (action.key != bytes32(0)) revert ConsortiumInvalidAction(actionType);
        Member storage member = _members[action.account];
        MemberStatus status = member.status;
        if (status == MemberStatus.None) revert ConsortiumNotMember(action.account);
        if (actionType == ActionType.RevokeIssuerDocuments) {
            // Any status: a suspended or removed issuer's forgeries must be revocable too.
            if (member.kind != MemberKind.DocumentIssuer || action.value == 0 || action.value > block.timestamp) {
                revert ConsortiumInvalidAction(actionType);
            }
            return;
        }
        // ReleaseLien: only a lender that can no longer end its own loan.
        if (member.kind != MemberKind.Bank) revert ConsortiumInvalidAction(actionType);
        if (status == MemberStatus.Active) revert ConsortiumInvalidMemberStatus(action.account, status);
        ILoanManager loans = ILoanManager(_loanManager);
        ILoanManager.Loan memory loan = loans.loan(action.value);
        if (loan.state == ILoanManager.LoanState.None) revert ILoanManager.LoanUnknown(action.value);
        if (loan.bank != action.account) revert ILoanManager.LoanNotLender(action.value, action.account);
        if (!loans.holdsLien(loan.state)) revert ILoanManager.LoanInvalidState(action.value, loan.state);
    }

    function _apply(uint256 proposalId, Action memory action) private {
        ActionType actionType = action.actionType;
        if (actionType == ActionType.AdmitMember) {
            _admit(action.account, action.kind, action.key);
        } else if (actionType == ActionType.SetParameter) {
            _setParameter(action.key, action.value);
        } else if (actionType == ActionType.SetModelApproval) {
            bool approved = action.value == 1;
            _approvedModels[action.key] = approved;
            emit ModelVersionApproval(action.key, approved);
        } else if (actionType == ActionType.ReleaseLien) {
            ILoanManager(_loanManager).releaseByGovernance(action.value, proposalId);
        } else if (actionType == ActionType.Reappraise) {
            // Validated: 0 < value <= type(uint128).max.
            IVehicleRegistry(_registry).reappraiseByGovernance(action.key, uint128(action.value));
        } else if (actionType == ActionType.RevokeIssuerDocuments) {
            // Validated: 0 < value <= block.timestamp, which fits 64 bits.
            IVehicleRegistry(_registry).revokeIssuerDocuments(action.account, uint64(action.value));
        } else if (actionType == ActionType.UpgradeContract) {
            address implementation = address(uint160(uint256(action.key)));
            emit ContractUpgraded(action.account, implementation, proposalId);
            // The proxy's `_authorizeUpgrade` accepts this call because it comes from the Consortium (for the
            // Consortium itself: an external self-call, so msg.sender is this proxy).
            UUPSUpgradeable(action.account).upgradeToAndCall(implementation, "");
        } else {
            _changeStatus(action.account, actionType);
        }
    }

    /**
     * @dev An upgrade names one of the four proxies of this consortium and a UUPS implementation with code; the
     * key carries only the address (its upper 96 bits are zero), the other fields are zero.
     */
    function _validateUpgrade(Action memory action) private view {
        uint256 rawKey = uint256(action.key);
        if (action.kind != MemberKind.None || action.value != 0 || rawKey > type(uint160).max) {
            revert ConsortiumInvalidAction(ActionType.UpgradeContract);
        }
        address proxy = action.account;
        bool bound = proxy != address(0) && (proxy == _registry || proxy == _oracle || proxy == _loanManager);
        if (proxy != address(this) && !bound) revert ConsortiumInvalidUpgradeTarget(proxy);
        address implementation = address(uint160(rawKey));
        if (implementation.code.length == 0) revert ConsortiumInvalidImplementation(implementation);
        try IERC1822Proxiable(implementation).proxiableUUID() returns (bytes32 slot) {
            if (slot != ERC1967Utils.IMPLEMENTATION_SLOT) revert ConsortiumInvalidImplementation(implementation);
        } catch {
            revert ConsortiumInvalidImplementation(implementation);
        }
    }

    /// @dev Only an executed `UpgradeContract` proposal, which calls this proxy from itself, may upgrade it.
    function _authorizeUpgrade(address newImplementation) internal view override {
        if (msg.sender != address(this)) {
            revert ConsortiumUnauthorizedUpgrade(address(this), msg.sender, newImplementation);
        }
    }

    function _checkAdmission(address account, MemberKind kind) private view {
        if (account == address(0)) revert ConsortiumInvalidAccount(account);
        if (kind == MemberKind.None) revert ConsortiumInvalidMemberKind(kind);
        MemberStatus status = _members[account].status;
        if (status != MemberStatus.None) revert ConsortiumMemberExists(account, status);
    }

    function _admit(address account, MemberKind kind, bytes32 nameHash) private {
        _members[account] = Member({
            kind: kind,
            status: MemberStatus.Active,
            joinedAt: uint64(block.timestamp),
            nameHash: nameHash
        });
        ++_activeCounts[kind];
        emit MemberAdmitted(account, kind, nameHash);
    }

    function _checkStatusChange(address account, ActionType actionType) private view {
        Member storage member = _members[account];
        MemberStatus status = member.status;
        if (status == MemberStatus.None) revert ConsortiumNotMember(account);
        bool allowed = actionType == ActionType.ReinstateMember
            ? status == MemberStatus.Suspended
            : (actionType == ActionType.SuspendMember ? status == MemberStatus.Active : status != MemberStatus.Removed);
        if (!allowed) revert ConsortiumInvalidMemberStatus(account, status);
        bool losesRole = status == MemberStatus.Active && actionType != ActionType.ReinstateMember;
        if (losesRole && member.kind == MemberKind.Bank && _activeCounts[MemberKind.Bank] == 1) {
            revert ConsortiumLastActiveBank(account);
        }
    }

    function _changeStatus(address account, ActionType actionType) private {
        Member storage member = _members[account];
        MemberKind kind = member.kind;
        bool wasActive = member.status == MemberStatus.Active;
        if (actionType == ActionType.SuspendMember) {
            member.status = MemberStatus.Suspended;
            --_activeCounts[kind];
            emit MemberSuspended(account, kind);
        } else if (actionType == ActionType.ReinstateMember) {
            member.status = MemberStatus.Active;
            ++_activeCounts[kind];
            emit MemberReinstated(account, kind);
        } else {
            member.status = MemberStatus.Removed;
            if (wasActive) --_activeCounts[kind];
            emit MemberRemoved(account, kind);
        }
    }

    function _setParameter(bytes32 key, uint256 value) private {
        _validateParameter(key, value);
        uint256 oldValue = _parameters[key];
        _parameters[key] = value;
        emit ParameterChanged(key, oldValue, value);
    }

    /// @dev Bounds of each parameter; the two alert parameters together must keep the re-arm level <= 100%.
    function _validateParameter(bytes32 key, uint256 value) private view {
        _parameterIndex(key);
        bool valid;
        if (key == ALERT_THRESHOLD_BPS) {
            valid = value != 0 && value + _parameters[ALERT_HYSTERESIS_BPS] <= ConsortiumKeys.BPS_DENOMINATOR;
        } else if (key == ALERT_HYSTERESIS_BPS) {
            valid = value + _parameters[ALERT_THRESHOLD_BPS] <= ConsortiumKeys.BPS_DENOMINATOR;
        } else if (key == RATE_STEP_BPS) {
            // A divisor: never zero.
            valid = value != 0 && value <= ConsortiumKeys.BPS_DENOMINATOR;
        } else if (key == RATE_INCREASE_BPS) {
            valid = value <= ConsortiumKeys.BPS_DENOMINATOR;
        } else if (key == ORACLE_QUORUM) {
            valid = value != 0 && value <= _MAX_ORACLE_QUORUM;
        } else if (key == MAX_ROUND_GAP) {
            valid = value != 0 && value <= _MAX_ROUND_GAP_BOUND;
        } else if (key == APPROVAL_TTL) {
            valid = value >= _MIN_APPROVAL_TTL && value <= _MAX_DURATION;
        } else if (key == VIN_SECRET_FINGERPRINT) {
            // A fingerprint, not a quantity: any value but the unset zero.
            valid = value != 0;
        } else {
            // HEARTBEAT, VOTING_PERIOD, GRACE_PERIOD: durations; only the grace period may be zero.
            valid = (value != 0 || key == GRACE_PERIOD) && value <= _MAX_DURATION;
        }
        if (!valid) revert ConsortiumInvalidParameter(key, value);
    }

    /// @dev Index of a governed parameter; reverts `ConsortiumUnknownParameter` otherwise.
    function _parameterIndex(bytes32 key) private pure returns (uint256) {
        for (uint256 i = 0; i < _PARAMETER_COUNT; ++i) {
            if (_parameterKey(i) == key) return i;
        }
        revert ConsortiumUnknownParameter(key);
    }

    function _parameterKey(uint256 index) private pure returns (bytes32) {
        if (index == 0) return ALERT_THRESHOLD_BPS;
        if (index == 1) return ALERT_HYSTERESIS_BPS;
        if (index == 2) return RATE_STEP_BPS;
        if (index == 3) return RATE_INCREASE_BPS;
        if (index == 4) return ORACLE_QUORUM;
        if (index == 5) return HEARTBEAT;
        if (index == 6) return VOTING_PERIOD;
        if (index == 7) return GRACE_PERIOD;
        if (index == 8) return MAX_ROUND_GAP;
        if (index == 9) return APPROVAL_TTL;
        return VIN_SECRET_FINGERPRINT;
    }

    function _roleOf(MemberKind kind) private pure returns (bytes32) {
        if (kind == MemberKind.Bank) return BANK_ROLE;
        if (kind == MemberKind.Auditor) return AUDITOR_ROLE;
        if (kind == MemberKind.OracleOperator) return ORACLE_ROLE;
        return ISSUER_ROLE;
    }
}
