// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

/**
 * @title ConsortiumProxy
 * @notice The ERC1967 proxy in front of each system contract (Consortium, VehicleRegistry, ConditionOracle,
 * LoanManager): it holds the state and the address members use; the UUPS implementation behind it holds the code.
 * @dev OpenZeppelin's ERC1967Proxy unchanged, under a name of this project so that the build writes its artifact
 * next to the system contracts'. Upgrades are decided by the implementation (`_authorizeUpgrade`), never here.
 */
contract ConsortiumProxy is ERC1967Proxy {
    /**
     * @notice Points the proxy at `implementation` and runs `data` (the `initialize` call) in its context.
     * @param implementation The UUPS implementation.
     * @param data The initializer call, run once, atomically with the deployment.
     */
    constructor(address implementation, bytes memory data) ERC1967Proxy(implementation, data) {}
}
