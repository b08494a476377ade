// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IConsortium} from "../interfaces/IConsortium.sol";
import {ConsortiumKeys} from "./libraries/ConsortiumKeys.sol";

/**
 * @title ConsortiumGated
 * @notice Base of every system contract: access is decided by the Consortium, never here.
 */
abstract contract ConsortiumGated {
    /// @dev The consortium that decides every role.
    IConsortium internal immutable _consortium;

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
     * @notice Binds this contract to the Consortium that decides its roles.
     * @param consortium_ The Consortium contract.
     */
    constructor(IConsortium consortium_) {
        _consortium = consortium_;
    }

    /**
     * @notice The Consortium this contract asks for roles and parameters.
     * @return Its address.
     */
    function consortium() external view returns (IConsortium) {
        return _consortium;
    }
}
