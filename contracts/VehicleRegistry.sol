// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712Upgradeable} from "@openzeppelin/contracts-upgradeable/utils/cryptography/EIP712Upgradeable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IConsortium} from "../interfaces/IConsortium.sol";
import {IVehicleRegistry} from "../interfaces/IVehicleRegistry.sol";
import {ConsortiumGated} from "./ConsortiumGated.sol";
import {ConsortiumKeys} from "./libraries/ConsortiumKeys.sol";

/**
 * @title VehicleRegistry
 * @notice Vehicles pledged as collateral, their single active lien, and anchors of issuer-signed documents.
 * @dev Storage is kept to what later checks need: the CID of a document only appears in its event. A document id is
 * the EIP-712 digest of its signed `DocumentAnchor` under this chain id and this registry's address, so a signature
 * anchors exactly one document, once, here only. Governance can revoke every document an issuer anchored up to a
 * cutoff (a compromised issuer's forgeries stay revoked after it is reinstated) and appraise a vehicle by vote.
 * Deployed behind an ERC1967 proxy (see {ConsortiumGated}): the EIP-712 verifying contract is the proxy's address,
 * which never changes with an upgrade.
 */
contract VehicleRegistry is IVehicleRegistry, ConsortiumGated, EIP712Upgradeable {
    /// @notice EIP-712 type hash of the struct an issuer signs.
    bytes32 public constant DOCUMENT_ANCHOR_TYPEHASH =
        keccak256("DocumentAnchor(bytes32 vehicleId,uint8 docType,bytes cid,bytes32 contentHash,uint64 issuedAt)");

    mapping(bytes32 vehicleId => Vehicle vehicle) private _vehicles;
    mapping(bytes32 vehicleId => Lien lien) private _liens;
    mapping(bytes32 documentId => Document document) private _documents;
    mapping(address issuer => uint64 cutoff) private _revocationCutoffs;

    /**
     * @notice Binds the registry (the proxy) to its Consortium; its EIP-712 domain is ("VehicleRegistry", "1",
     * chain id, the proxy's address). Run once, by the proxy's deployment.
     * @param consortium_ The Consortium deciding roles.
     */
    function initialize(IConsortium consortium_) external initializer {
        _initConsortiumGated(consortium_);
    }

    // --------------------------------------------------------------- vehicles

    /// @inheritdoc IVehicleRegistry
    function registerVehicle(
        bytes32 vehicleId,
        bytes32 ownerCommitment,
        uint128 appraisalValue,
        uint64 appraisedAt
    ) external onlyRole(ConsortiumKeys.BANK_ROLE) {
        if (vehicleId == bytes32(0)) revert RegistryInvalidVehicleId(vehicleId);
        Vehicle storage stored = _vehicles[vehicleId];
        if (stored.exists) revert RegistryVehicleExists(vehicleId, stored.registeredBy);
        if (ownerCommitment == bytes32(0)) revert RegistryInvalidOwnerCommitment(vehicleId);
        _checkAppraisal(vehicleId, appraisalValue, appraisedAt, 0);

        _vehicles[vehicleId] = Vehicle({
            ownerCommitment: ownerCommitment,
            appraisalValue: appraisalValue,
            appraisedAt: appraisedAt,
            registeredBy: msg.sender,
            registeredAt: uint64(block.timestamp),
            exists: true
        });
        emit VehicleRegistered(vehicleId, msg.sender, ownerCommitment, appraisalValue, appraisedAt);
    }

    /// @inheritdoc IVehicleRegistry
    function reappraise(
        bytes32 vehicleId,
        uint128 appraisalValue,
        uint64 appraisedAt
    ) external onlyRole(ConsortiumKeys.BANK_ROLE) {
        Vehicle storage stored = _existingVehicle(vehicleId);
        Lien storage lien = _liens[vehicleId];
        // Under a lien the appraisal is the lienholder's reference for its value alert: nobody else moves it.
        address appraiser = lien.active ? lien.bank : stored.registeredBy;
        if (appraiser != msg.sender) revert RegistryNotAuthorized(vehicleId, msg.sender);
        _checkAppraisal(vehicleId, appraisalValue, appraisedAt, stored.appraisedAt);
        _setAppraisal(vehicleId, stored, appraisalValue, appraisedAt);
    }

    /// @inheritdoc IVehicleRegistry
    function reappraiseByGovernance(bytes32 vehicleId, uint128 appraisalValue) external onlyGovernance {
        Vehicle storage stored = _existingVehicle(vehicleId);
        uint64 appraisedAt = uint64(block.timestamp);
        _checkAppraisal(vehicleId, appraisalValue, appraisedAt, stored.appraisedAt);
        _setAppraisal(vehicleId, stored, appraisalValue, appraisedAt);
    }

    /// @inheritdoc IVehicleRegistry
    function transferOwnership(
        bytes32 vehicleId,
        bytes32 newOwnerCommitment
    ) external onlyRole(ConsortiumKeys.BANK_ROLE) {
        Vehicle storage stored = _existingVehicle(vehicleId);
        if (stored.registeredBy != msg.sender) revert RegistryNotAuthorized(vehicleId, msg.sender);
        Lien storage lien = _liens[vehicleId];
        if (lien.active) revert RegistryLienActive(vehicleId, lien.loanId, lien.bank);
        if (newOwnerCommitment == bytes32(0)) revert RegistryInvalidOwnerCommitment(vehicleId);

        bytes32 previousOwnerCommitment = stored.ownerCommitment;
        stored.ownerCommitment = newOwnerCommitment;
        emit VehicleOwnershipTransferred(vehicleId, msg.sender, previousOwnerCommitment, newOwnerCommitment);
    }

    /// @inheritdoc IVehicleRegistry
    function vehicle(bytes32 vehicleId) external view returns (Vehicle memory) {
        return _vehicles[vehicleId];
    }

    // ------------------------------------------------------------------ liens

    /// @inheritdoc IVehicleRegistry
    function placeLien(bytes32 vehicleId, address bank, uint256 loanId) external onlyRole(ConsortiumKeys.SYSTEM_ROLE) {
        _existingVehicle(vehicleId);
        if (bank == address(0) || loanId == 0 || loanId > type(uint88).max) {
            revert RegistryInvalidLien(vehicleId, bank, loanId);
        }
        Lien storage lien = _liens[vehicleId];
        if (lien.active) revert RegistryLienExists(vehicleId, lien.loanId, lien.bank);

        // The cast cannot truncate: loanId <= type(uint88).max was checked above.
        _liens[vehicleId] = Lien({bank: bank, loanId: uint88(loanId), active: true, placedAt: uint64(block.timestamp)});
        emit LienPlaced(vehicleId, bank, loanId);
    }

    /// @inheritdoc IVehicleRegistry
    function releaseLien(bytes32 vehicleId, uint256 loanId) external onlyRole(ConsortiumKeys.SYSTEM_ROLE) {
        Lien storage lien = _liens[vehicleId];
        if (!lien.active || lien.loanId != loanId) revert RegistryLienNotFound(vehicleId, loanId);

        lien.active = false;
        emit LienReleased(vehicleId, lien.bank, loanId);
    }

    /// @inheritdoc IVehicleRegistry
    function lienOf(bytes32 vehicleId) external view returns (Lien memory) {
        return _liens[vehicleId];
    }

    /// @inheritdoc IVehicleRegistry
    function collateralOf(
        bytes32 vehicleId
    ) external view returns (uint256 appraisalValue, address lienBank, uint256 loanId) {
        appraisalValue = _vehicles[vehicleId].appraisalValue;
        Lien storage lien = _liens[vehicleId];
        if (lien.active) {
            lienBank = lien.bank;
            loanId = lien.loanId;
        }
    }

    // -------------------------------------------------------------- documents

    /// @inheritdoc IVehicleRegistry
    function anchorDocument(
        bytes32 vehicleId,
        DocumentType docType,
        bytes calldata cid,
        bytes32 contentHash,
        address issuer,
        uint64 issuedAt,
        bytes calldata signature
    ) external onlyEitherRole(ConsortiumKeys.BANK_ROLE, ConsortiumKeys.ISSUER_ROLE) returns (bytes32 documentId) {
        if (!_vehicles[vehicleId].exists) revert RegistryUnknownVehicle(vehicleId);
        if (contentHash == bytes32(0) || cid.length == 0) {
            revert RegistryInvalidDocument(vehicleId, contentHash, cid.length);
        }
        if (issuedAt > block.timestamp) revert RegistryIssuedInFuture(issuedAt, block.timestamp);

        documentId = _documentDigest(vehicleId, docType, cid, contentHash, issuedAt);
        // slither-disable-next-line unused-return (a failed recovery returns address(0), refused below)
        (address recovered, , ) = ECDSA.tryRecover(documentId, signature);
        if (recovered != issuer || recovered == address(0)) revert RegistryInvalidSigner(issuer, recovered);
        _consortium.checkRole(ConsortiumKeys.ISSUER_ROLE, issuer);
        _storeDocument(documentId, vehicleId, docType, cid, contentHash, issuer, issuedAt);
    }

    /// @inheritdoc IVehicleRegistry
    function revokeDocument(bytes32 documentId) external onlyRole(ConsortiumKeys.ISSUER_ROLE) {
        Document storage stored = _documents[documentId];
        if (stored.issuer == address(0)) revert RegistryUnknownDocument(documentId);
        if (stored.issuer != msg.sender) revert RegistryNotIssuer(documentId, msg.sender);
        if (stored.revoked) revert RegistryDocumentAlreadyRevoked(documentId);

        stored.revoked = true;
        emit DocumentRevoked(documentId, stored.vehicleId, msg.sender);
    }

    /// @inheritdoc IVehicleRegistry
    function revokeIssuerDocuments(address issuer, uint64 cutoff) external onlyGovernance {
        // The Consortium checked that cutoff is not in the future; the latest cutoff stays in force.
        uint64 current = _revocationCutoffs[issuer];
        if (cutoff > current) {
            _revocationCutoffs[issuer] = cutoff;
            current = cutoff;
        }
        emit IssuerDocumentsRevoked(issuer, current);
    }

    /// @inheritdoc IVehicleRegistry
    function isDocumentRevoked(bytes32 documentId) external view returns (bool) {
        Document storage stored = _documents[documentId];
        address issuer = stored.issuer;
        if (issuer == address(0)) return false;
        uint64 cutoff = _revocationCutoffs[issuer];
        return stored.revoked || (cutoff != 0 && stored.anchoredAt <= cutoff);
    }

    /// @inheritdoc IVehicleRegistry
    function issuerRevocationCutoff(address issuer) external view returns (uint64) {
        return _revocationCutoffs[issuer];
    }

    /// @inheritdoc IVehicleRegistry
    function document(bytes32 documentId) external view returns (Document memory) {
        return _documents[documentId];
    }

    /// @inheritdoc IVehicleRegistry
    function documentDigest(
        bytes32 vehicleId,
        DocumentType docType,
        bytes calldata cid,
        bytes32 contentHash,
        uint64 issuedAt
    ) external view returns (bytes32) {
        return _documentDigest(vehicleId, docType, cid, contentHash, issuedAt);
    }

    // --------------------------------------------------------------- private

    /// @dev The EIP-712 domain name, a constant rather than OpenZeppelin's stored string (no storage read per digest).
    // solhint-disable-next-line func-name-mixedcase
    function _EIP712Name() internal pure override returns (string memory) {
        return "VehicleRegistry";
    }

    /// @dev The EIP-712 domain version, a constant like the name (both keep OpenZeppelin's names).
    // solhint-disable-next-line func-name-mixedcase
    function _EIP712Version() internal pure override returns (string memory) {
        return "1";
    }

    function _existingVehicle(bytes32 vehicleId) private view returns (Vehicle storage stored) {
        stored = _vehicles[vehicleId];
        if (!stored.exists) revert RegistryUnknownVehicle(vehicleId);
    }

    /// @dev A value of zero, a future timestamp, or one older than `notBefore` is refused.
    function _checkAppraisal(bytes32 vehicleId, uint128 value, uint64 appraisedAt, uint64 notBefore) private view {
        if (value == 0 || appraisedAt > block.timestamp || appraisedAt < notBefore) {
            revert RegistryInvalidAppraisal(vehicleId, value, appraisedAt);
        }
    }

    function _setAppraisal(bytes32 vehicleId, Vehicle storage stored, uint128 value, uint64 appraisedAt) private {
        uint256 oldValue = stored.appraisalValue;
        stored.appraisalValue = value;
        stored.appraisedAt = appraisedAt;
        emit VehicleReappraised(vehicleId, msg.sender, oldValue, value, appraisedAt);
    }

    /// @dev Records a verified document and emits `DocumentAnchored` (split out to keep the stack shallow).
    function _storeDocument(
        bytes32 documentId,
        bytes32 vehicleId,
        DocumentType docType,
        bytes calldata cid,
        bytes32 contentHash,
        address issuer,
        uint64 issuedAt
    ) private {
        Document storage stored = _documents[documentId];
        if (stored.issuer != address(0)) revert RegistryDocumentExists(documentId);

        stored.vehicleId = vehicleId;
        stored.contentHash = contentHash;
        stored.issuer = issuer;
        stored.issuedAt = issuedAt;
        stored.docType = docType;
        stored.anchoredAt = uint64(block.timestamp);
        emit DocumentAnchored(documentId, vehicleId, issuer, docType, cid, contentHash, issuedAt);
    }

    function _documentDigest(
        bytes32 vehicleId,
        DocumentType docType,
        bytes calldata cid,
        bytes32 contentHash,
        uint64 issuedAt
    ) private view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(DOCUMENT_ANCHOR_TYPEHASH, vehicleId, uint8(docType), keccak256(cid), contentHash, issuedAt)
        );
        return _hashTypedDataV4(structHash);
    }
}
