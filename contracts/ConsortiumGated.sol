// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {IConsortium} from "../interfaces/IConsortium.sol";
import {ConsortiumKeys} from "./libraries/ConsortiumKeys.sol";

/**
 * @title ConsortiumGated
 * @notice Base of every system contract: access is decided by the Consortium, never here, and so is an upgrade.
 * @dev Each system contract is a UUPS implementation behind an ERC1967 proxy. Only the Consortium, executing an
 * `UpgradeContract` proposal its banks voted for, can upgrade it: no bank, operator or deployer can.
 * Storage rule: `_consortium` is slot 0 of every system contract and each contract's own variables follow it in
 * declaration order; a new implementation only appends variables (see docs/contracts.md). OpenZeppelin's
 * upgradeable bases keep their state in ERC-7201 namespaced slots, away from these.
 */
abstract contract ConsortiumGated is Initializable, UUPSUpgradeable {
    /// @dev The consortium that decides every role and every upgrade; set once, at initialization.
    IConsortium internal _consortium;

    /// @dev Reverts `ConsortiumUnauthorizedAccount(msg.sender, role)` unless the caller holds `role` now.
    modifier onlyRole(bytes32 role) {
        _consortium.checkRole(role, msg.sender);
        _;
    }

    /**
     * @dev Lets the caller through if it holds `role` or `otherRole`; otherwise reverts
     * `ConsortiumUnauthorizedAccount(msg.sender, role)`.
     */
    modifier onlyEitherRole(bytes32 role, bytes32 otherRole) {
        if (!_consortium.hasRole(otherRole, msg.sender)) {
            _consortium.checkRole(role, msg.sender);
        }
        _;
    }

    /**
     * @dev Lets only the Consortium through (an executed proposal); otherwise reverts
     * `ConsortiumUnauthorizedAccount(msg.sender, GOVERNANCE_ROLE)`. Compared locally: no call needed.
     */
    modifier onlyGovernance() {
        if (msg.sender != address(_consortium)) {
            revert IConsortium.ConsortiumUnauthorizedAccount(msg.sender, ConsortiumKeys.GOVERNANCE_ROLE);
        }
        _;
    }

    /**
     * @notice The implementation alone is never initialized: only a proxy's storage is.
     * @custom:oz-upgrades-unsafe-allow constructor
     */
    constructor() {
        _disableInitializers();
    }

    /**
     * @notice The Consortium this contract asks for roles and parameters.
     * @return Its address.
     */
    function consortium() external view returns (IConsortium) {
        return _consortium;
    }

    /// @dev Binds the proxy to the Consortium that decides its roles; from an `initializer` only.
    function _initConsortiumGated(IConsortium consortium_) internal onlyInitializing {
        _consortium = consortium_;
    }

    /// @dev Only the Consortium (an executed `UpgradeContract` proposal) may upgrade this contract.
    function _authorizeUpgrade(address newImplementation) internal view override {
        if (msg.sender != address(_consortium)) {
            revert IConsortium.ConsortiumUnauthorizedUpgrade(address(this), msg.sender, newImplementation);
        }
    }
}
