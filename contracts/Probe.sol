// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Probe
/// @notice Toolchain smoke contract: compiles, deploys, stores and reverts with a custom error.
contract Probe {
    /// @notice The value given is below the minimum.
    /// @param value The value given.
    /// @param minimum The smallest accepted value.
    error ProbeTooSmall(uint256 value, uint256 minimum);

    /// @notice The stored value.
    uint256 public value;

    /// @notice Store `newValue`.
    /// @param newValue At least 10.
    function set(uint256 newValue) external {
        if (newValue < 10) revert ProbeTooSmall(newValue, 10);
        value = newValue;
    }
}
