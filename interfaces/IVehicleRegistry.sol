// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title IVehicleRegistry
 * @notice Vehicles pledged as collateral: identity, owner commitment, appraisal, the single active lien, and
 * anchors of documents signed by consortium document issuers.
 * @dev A vehicle id is HMAC-SHA256(consortium secret, normalized VIN), computed off-chain: the VIN never reaches the
 * chain. The owner is only a commitment. A document id is the EIP-712 digest of the issuer's signed
 * `DocumentAnchor`, so a signed document can be anchored once, on this chain and this registry only.
 */
interface IVehicleRegistry {
    /// @notice Kind of an anchored document.
    enum DocumentType {
        Maintenance,
        Insurance,
        Claim,
        Inspection,
        Registration
    }

    /**
     * @notice A registered vehicle.
     * @param ownerCommitment Commitment to the owner's identity (no personal data in clear).
     * @param appraisalValue Latest appraisal, in the currency's smallest unit; never 0 for a registered vehicle.
     * @param appraisedAt Timestamp of the appraisal.
     * @param registeredBy Bank that registered it.
     * @param registeredAt Timestamp of registration.
     * @param exists Whether the vehicle is registered.
     */
    struct Vehicle {
        bytes32 ownerCommitment;
        uint128 appraisalValue;
        uint64 appraisedAt;
        address registeredBy;
        uint64 registeredAt;
        bool exists;
    }

    /**
     * @notice The latest lien on a vehicle.
     * @dev `bank`, `loanId` and `active` share one storage slot: the oracle reads them for every
     * scored vehicle, so one slot read instead of three keeps a report within its gas budget.
     * @param bank Lending bank.
     * @param loanId Loan id in the LoanManager (at most 2^88 - 1).
     * @param active Whether it is still in force.
     * @param placedAt Timestamp of placement.
     */
    struct Lien {
        address bank;
        uint88 loanId;
        bool active;
        uint64 placedAt;
    }

    /**
     * @notice An anchored document (its CID is only in the `DocumentAnchored` event).
     * @param vehicleId Vehicle it concerns.
     * @param contentHash Hash of the document's bytes.
     * @param issuer Issuer that signed it.
     * @param issuedAt Issue timestamp signed by the issuer.
     * @param docType Kind of document.
     * @param revoked Whether the issuer revoked it (a governance revocation shows in `isDocumentRevoked` only).
     * @param anchoredAt Block time of anchoring, compared with the issuer's governance revocation cutoff.
     */
    struct Document {
        bytes32 vehicleId;
        bytes32 contentHash;
        address issuer;
        uint64 issuedAt;
        DocumentType docType;
        bool revoked;
        uint64 anchoredAt;
    }

    /**
     * @notice The vehicle id is zero.
     * @param vehicleId The refused id.
     */
    error RegistryInvalidVehicleId(bytes32 vehicleId);

    /**
     * @notice The vehicle is already registered.
     * @param vehicleId The vehicle.
     * @param registeredBy Bank that registered it.
     */
    error RegistryVehicleExists(bytes32 vehicleId, address registeredBy);

    /**
     * @notice The vehicle is not registered.
     * @param vehicleId The vehicle.
     */
    error RegistryUnknownVehicle(bytes32 vehicleId);

    /**
     * @notice The owner commitment is zero.
     * @param vehicleId The vehicle.
     */
    error RegistryInvalidOwnerCommitment(bytes32 vehicleId);

    /**
     * @notice Appraisal value is zero, its timestamp is in the future, or older than the current appraisal.
     * @param vehicleId The vehicle.
     * @param value The refused value.
     * @param appraisedAt The refused timestamp.
     */
    error RegistryInvalidAppraisal(bytes32 vehicleId, uint256 value, uint64 appraisedAt);

    /**
     * @notice `account` may not act on the vehicle: not its registering bank, or, while a lien is active, not
     * the lien holder.
     * @param vehicleId The vehicle.
     * @param account The caller.
     */
    error RegistryNotAuthorized(bytes32 vehicleId, address account);

    /**
     * @notice The vehicle has an active lien, which blocks the action.
     * @param vehicleId The vehicle.
     * @param loanId Loan of the active lien.
     * @param bank Bank holding the lien.
     */
    error RegistryLienActive(bytes32 vehicleId, uint256 loanId, address bank);

    /**
     * @notice The vehicle is already pledged: at most one active lien per vehicle across all banks.
     * @param vehicleId The vehicle.
     * @param existingLoanId Loan of the existing lien.
     * @param existingBank Bank holding the existing lien.
     */
    error RegistryLienExists(bytes32 vehicleId, uint256 existingLoanId, address existingBank);

    /**
     * @notice Lien with a zero bank or a zero loan id.
     * @param vehicleId The vehicle.
     * @param bank The bank given.
     * @param loanId The loan id given.
     */
    error RegistryInvalidLien(bytes32 vehicleId, address bank, uint256 loanId);

    /**
     * @notice The vehicle has no active lien for this loan.
     * @param vehicleId The vehicle.
     * @param loanId The loan given.
     */
    error RegistryLienNotFound(bytes32 vehicleId, uint256 loanId);

    /**
     * @notice Empty CID or zero content hash.
     * @param vehicleId The vehicle.
     * @param contentHash The content hash given.
     * @param cidLength Length of the CID given.
     */
    error RegistryInvalidDocument(bytes32 vehicleId, bytes32 contentHash, uint256 cidLength);

    /**
     * @notice The document's issue timestamp is in the future.
     * @param issuedAt The signed timestamp.
     * @param currentTime The block timestamp.
     */
    error RegistryIssuedInFuture(uint64 issuedAt, uint256 currentTime);

    /**
     * @notice The signature does not recover to `issuer` (wrong signer, altered fields, other chain or registry).
     * @param issuer The claimed issuer.
     * @param recovered The address recovered from the signature (zero for a malformed signature).
     */
    error RegistryInvalidSigner(address issuer, address recovered);

    /**
     * @notice This signed document is already anchored.
     * @param documentId The document.
     */
    error RegistryDocumentExists(bytes32 documentId);

    /**
     * @notice No document has this id.
     * @param documentId The id.
     */
    error RegistryUnknownDocument(bytes32 documentId);

    /**
     * @notice Only the document's issuer may revoke it.
     * @param documentId The document.
     * @param account The caller.
     */
    error RegistryNotIssuer(bytes32 documentId, address account);

    /**
     * @notice The document is already revoked.
     * @param documentId The document.
     */
    error RegistryDocumentAlreadyRevoked(bytes32 documentId);

    /**
     * @notice A vehicle was registered.
     * @param vehicleId The vehicle.
     * @param bank Registering bank.
     * @param ownerCommitment Owner commitment.
     * @param appraisalValue Appraisal.
     * @param appraisedAt Appraisal timestamp.
     */
    event VehicleRegistered(
        bytes32 indexed vehicleId,
        address indexed bank,
        bytes32 ownerCommitment,
        uint256 appraisalValue,
        uint64 appraisedAt
    );

    /**
     * @notice A vehicle was appraised again.
     * @param vehicleId The vehicle.
     * @param bank Appraising bank.
     * @param oldValue Previous appraisal.
     * @param newValue New appraisal.
     * @param appraisedAt New appraisal timestamp.
     */
    event VehicleReappraised(
        bytes32 indexed vehicleId,
        address indexed bank,
        uint256 oldValue,
        uint256 newValue,
        uint64 appraisedAt
    );

    /**
     * @notice A vehicle changed owner.
     * @param vehicleId The vehicle.
     * @param bank Registering bank that recorded the transfer.
     * @param previousOwnerCommitment Previous owner commitment.
     * @param newOwnerCommitment New owner commitment.
     */
    event VehicleOwnershipTransferred(
        bytes32 indexed vehicleId,
        address indexed bank,
        bytes32 previousOwnerCommitment,
        bytes32 newOwnerCommitment
    );

    /**
     * @notice A lien was placed.
     * @param vehicleId The vehicle.
     * @param bank Lending bank.
     * @param loanId The loan.
     */
    event LienPlaced(bytes32 indexed vehicleId, address indexed bank, uint256 indexed loanId);

    /**
     * @notice A lien was released.
     * @param vehicleId The vehicle.
     * @param bank Lending bank.
     * @param loanId The loan.
     */
    event LienReleased(bytes32 indexed vehicleId, address indexed bank, uint256 indexed loanId);

    /**
     * @notice A signed document was anchored.
     * @param documentId EIP-712 digest of the signed `DocumentAnchor`.
     * @param vehicleId The vehicle.
     * @param issuer Signing issuer.
     * @param docType Kind of document.
     * @param cid Content identifier (IPFS CID bytes) of the stored document.
     * @param contentHash Hash of the document's bytes.
     * @param issuedAt Signed issue timestamp.
     */
    event DocumentAnchored(
        bytes32 indexed documentId,
        bytes32 indexed vehicleId,
        address indexed issuer,
        DocumentType docType,
        bytes cid,
        bytes32 contentHash,
        uint64 issuedAt
    );

    /**
     * @notice Governance revoked every document of `issuer` anchored at or before `cutoff`, for good.
     * @param issuer The document issuer.
     * @param cutoff The revocation cutoff in force now (unix time; the latest of all such revocations).
     */
    event IssuerDocumentsRevoked(address indexed issuer, uint64 cutoff);

    /**
     * @notice A document was revoked by its issuer.
     * @param documentId The document.
     * @param vehicleId The vehicle.
     * @param issuer The issuer.
     */
    event DocumentRevoked(bytes32 indexed documentId, bytes32 indexed vehicleId, address indexed issuer);

    /**
     * @notice Registers a vehicle; only an active bank.
     * @param vehicleId HMAC of the normalized VIN, computed off-chain; not zero, not registered.
     * @param ownerCommitment Commitment to the owner; not zero.
     * @param appraisalValue Appraisal; not zero.
     * @param appraisedAt Appraisal timestamp; not in the future.
     */
    function registerVehicle(
        bytes32 vehicleId,
        bytes32 ownerCommitment,
        uint128 appraisalValue,
        uint64 appraisedAt
    ) external;

    /**
     * @notice Records a new appraisal, while an active bank: the lien holder while a lien is active, otherwise
     * the registering bank.
     * @param vehicleId The vehicle.
     * @param appraisalValue New appraisal; not zero.
     * @param appraisedAt Its timestamp; not in the future, not before the current appraisal.
     */
    function reappraise(bytes32 vehicleId, uint128 appraisalValue, uint64 appraisedAt) external;

    /**
     * @notice Records an appraisal decided by vote (a `Reappraise` proposal), appraised now; only the Consortium.
     * `VehicleReappraised` names the Consortium as the bank.
     * @param vehicleId The vehicle.
     * @param appraisalValue New appraisal; not zero.
     */
    function reappraiseByGovernance(bytes32 vehicleId, uint128 appraisalValue) external;

    /**
     * @notice Records a change of owner; only the registering bank, while an active bank, and never under a lien.
     * @param vehicleId The vehicle.
     * @param newOwnerCommitment Commitment to the new owner; not zero.
     */
    function transferOwnership(bytes32 vehicleId, bytes32 newOwnerCommitment) external;

    /**
     * @notice Places the vehicle's lien for a loan; only a system contract (the LoanManager).
     * @param vehicleId The vehicle.
     * @param bank Lending bank.
     * @param loanId The loan.
     */
    function placeLien(bytes32 vehicleId, address bank, uint256 loanId) external;

    /**
     * @notice Releases the vehicle's active lien of `loanId`; only a system contract (the LoanManager).
     * @param vehicleId The vehicle.
     * @param loanId The loan of the active lien.
     */
    function releaseLien(bytes32 vehicleId, uint256 loanId) external;

    /**
     * @notice Anchors a document signed by an active issuer; callable by an active bank or issuer.
     * @param vehicleId The vehicle (registered).
     * @param docType Kind of document.
     * @param cid Content identifier of the stored document (kept in the event only).
     * @param contentHash Hash of the document's bytes.
     * @param issuer The issuer, who must have signed and hold ISSUER_ROLE.
     * @param issuedAt Signed issue timestamp; not in the future.
     * @param signature Issuer's EIP-712 signature of `DocumentAnchor(vehicleId,docType,cid,contentHash,issuedAt)`.
     * @return documentId The EIP-712 digest, which identifies the document.
     */
    function anchorDocument(
        bytes32 vehicleId,
        DocumentType docType,
        bytes calldata cid,
        bytes32 contentHash,
        address issuer,
        uint64 issuedAt,
        bytes calldata signature
    ) external returns (bytes32 documentId);

    /**
     * @notice Revokes a document; only its issuer, while active.
     * @param documentId The document.
     */
    function revokeDocument(bytes32 documentId) external;

    /**
     * @notice Revokes every document of `issuer` anchored at or before `cutoff`, even after the issuer is
     * reinstated; only the Consortium (a `RevokeIssuerDocuments` proposal). A lower cutoff than the one in force
     * changes nothing.
     * @param issuer The document issuer.
     * @param cutoff Unix time, not in the future.
     */
    function revokeIssuerDocuments(address issuer, uint64 cutoff) external;

    /**
     * @notice A vehicle (all zero, `exists` false, when not registered).
     * @param vehicleId The vehicle.
     * @return The vehicle record.
     */
    function vehicle(bytes32 vehicleId) external view returns (Vehicle memory);

    /**
     * @notice The latest lien of a vehicle (all zero when never pledged; `active` false once released).
     * @param vehicleId The vehicle.
     * @return The lien record.
     */
    function lienOf(bytes32 vehicleId) external view returns (Lien memory);

    /**
     * @notice What the oracle needs in one call.
     * @param vehicleId The vehicle.
     * @return appraisalValue Current appraisal (0 means the vehicle is not registered).
     * @return lienBank Bank of the active lien, zero when none.
     * @return loanId Loan of the active lien, zero when none.
     */
    function collateralOf(
        bytes32 vehicleId
    ) external view returns (uint256 appraisalValue, address lienBank, uint256 loanId);

    /**
     * @notice An anchored document (all zero when unknown).
     * @param documentId The document.
     * @return The document record.
     */
    function document(bytes32 documentId) external view returns (Document memory);

    /**
     * @notice Whether a document is revoked: by its issuer, or by a governance cutoff covering its anchoring time.
     * @param documentId The document.
     * @return True when revoked (false for an unknown id).
     */
    function isDocumentRevoked(bytes32 documentId) external view returns (bool);

    /**
     * @notice The governance revocation cutoff of an issuer's documents.
     * @param issuer The issuer.
     * @return Unix time; documents anchored at or before it are revoked (0 when never revoked).
     */
    function issuerRevocationCutoff(address issuer) external view returns (uint64);

    /**
     * @notice The EIP-712 digest an issuer signs for a document, which becomes its id once anchored.
     * @param vehicleId The vehicle.
     * @param docType Kind of document.
     * @param cid Content identifier.
     * @param contentHash Hash of the document's bytes.
     * @param issuedAt Issue timestamp.
     * @return The digest.
     */
    function documentDigest(
        bytes32 vehicleId,
        DocumentType docType,
        bytes calldata cid,
        bytes32 contentHash,
        uint64 issuedAt
    ) external view returns (bytes32);
}
