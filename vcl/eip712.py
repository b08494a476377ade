"""The project's EIP-712 typed data, defined once: the oracle's `Report`, the registry's
`DocumentAnchor` and the loan manager's `LienConsent`.

The struct hashes are computed here directly (ABI words and keccak), not through
eth_account's generic encoder: a report of hundreds of vehicles is hashed by every operator
and the transmitter, and the generic encoder is an order of magnitude slower. For the same
reason a vehicle's words are packed with `struct`, keccak is safe-pysha3's C one (eth_hash
would pick pycryptodome's, four times slower a call), and an entry keeps its hash once
computed (a push hashes each entry for its input key and again for its report's digest).
The tests hold both encodings and the contracts' own digest views (`reportDigest`,
`documentDigest`, `lienConsentDigest`) equal. The messages returned are eth_account
`SignableMessage`s, exactly what `encode_typed_data` would return, so
`Account.sign_message` and `Account.recover_message` take them as they are.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage
from eth_hash.backends.pysha3 import keccak256
from eth_keys.datatypes import PrivateKey, Signature
from eth_keys.exceptions import BadSignature
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from vcl.errors import VclError

DOMAIN_VERSION = "1"
ORACLE_DOMAIN_NAME = "ConditionOracle"
REGISTRY_DOMAIN_NAME = "VehicleRegistry"
LOAN_MANAGER_DOMAIN_NAME = "LoanManager"

INDICATOR_COUNT = 12
MAX_SCORE = 10_000
_UINT64 = 2**64
_UINT128 = 2**128
SIGNATURE_LENGTH = 65

DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
VEHICLE_SCORE_TYPE = (
    "VehicleScore(bytes32 vehicleId,uint16 score,uint16[12] indicators,uint128 estimatedValue)"
)
# EIP-712: referenced struct types are appended to the primary type, sorted by name.
REPORT_TYPE = (
    "Report(uint64 roundId,bytes32 modelVersion,uint64 observedAt,VehicleScore[] scores)"
    + VEHICLE_SCORE_TYPE
)
DOCUMENT_ANCHOR_TYPE = (
    "DocumentAnchor(bytes32 vehicleId,uint8 docType,bytes cid,bytes32 contentHash,uint64 issuedAt)"
)
LIEN_CONSENT_TYPE = (
    "LienConsent(bytes32 vehicleId,address lender,bytes32 borrowerCommitment,uint128 principal,"
    "uint64 deadline,bytes32 nonce)"
)
DOMAIN_TYPEHASH = keccak(text=DOMAIN_TYPE)
VEHICLE_SCORE_TYPEHASH = keccak(text=VEHICLE_SCORE_TYPE)
REPORT_TYPEHASH = keccak(text=REPORT_TYPE)
DOCUMENT_ANCHOR_TYPEHASH = keccak(text=DOCUMENT_ANCHOR_TYPE)
LIEN_CONSENT_TYPEHASH = keccak(text=LIEN_CONSENT_TYPE)
# ABI words of a uint16 (30 zero bytes, then big-endian), and of the twelve indicators.
_UINT16_WORD = struct.Struct(">30xH")
_INDICATOR_WORDS = struct.Struct(">" + "30xH" * INDICATOR_COUNT)
_UINT128_PAD = bytes(16)

# The same types in the JSON form of `eth_signTypedData_v4` (wallets, other languages).
EIP712_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
REPORT_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": EIP712_DOMAIN_FIELDS,
    "Report": [
        {"name": "roundId", "type": "uint64"},
        {"name": "modelVersion", "type": "bytes32"},
        {"name": "observedAt", "type": "uint64"},
        {"name": "scores", "type": "VehicleScore[]"},
    ],
    "VehicleScore": [
        {"name": "vehicleId", "type": "bytes32"},
        {"name": "score", "type": "uint16"},
        {"name": "indicators", "type": "uint16[12]"},
        {"name": "estimatedValue", "type": "uint128"},
    ],
}
DOCUMENT_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": EIP712_DOMAIN_FIELDS,
    "DocumentAnchor": [
        {"name": "vehicleId", "type": "bytes32"},
        {"name": "docType", "type": "uint8"},
        {"name": "cid", "type": "bytes"},
        {"name": "contentHash", "type": "bytes32"},
        {"name": "issuedAt", "type": "uint64"},
    ],
}

LIEN_CONSENT_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": EIP712_DOMAIN_FIELDS,
    "LienConsent": [
        {"name": "vehicleId", "type": "bytes32"},
        {"name": "lender", "type": "address"},
        {"name": "borrowerCommitment", "type": "bytes32"},
        {"name": "principal", "type": "uint128"},
        {"name": "deadline", "type": "uint64"},
        {"name": "nonce", "type": "bytes32"},
    ],
}


class TypedDataError(VclError):
    """A value does not fit its EIP-712 field, or a signature is malformed."""


class DocumentType(IntEnum):
    """Mirrors `IVehicleRegistry.DocumentType`."""

    MAINTENANCE = 0
    INSURANCE = 1
    CLAIM = 2
    INSPECTION = 3
    REGISTRATION = 4


@dataclass(frozen=True)
class Domain:
    """An EIP-712 domain: which contract, on which chain, a signature is good for."""

    name: str
    chain_id: int
    verifying_contract: ChecksumAddress
    version: str = DOMAIN_VERSION

    @classmethod
    def oracle(cls, chain_id: int, oracle_address: str) -> Domain:
        return cls(ORACLE_DOMAIN_NAME, chain_id, to_checksum_address(oracle_address))

    @classmethod
    def registry(cls, chain_id: int, registry_address: str) -> Domain:
        return cls(REGISTRY_DOMAIN_NAME, chain_id, to_checksum_address(registry_address))

    @classmethod
    def loan_manager(cls, chain_id: int, loan_manager_address: str) -> Domain:
        return cls(LOAN_MANAGER_DOMAIN_NAME, chain_id, to_checksum_address(loan_manager_address))

    @property
    def separator(self) -> bytes:
        return keccak(
            DOMAIN_TYPEHASH
            + keccak(text=self.name)
            + keccak(text=self.version)
            + _word(self.chain_id)
            + bytes(12)
            + bytes.fromhex(self.verifying_contract[2:])
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


@dataclass(frozen=True)
class ReportEntry:
    """One vehicle of a report (`IConditionOracle.VehicleScore`)."""

    vehicle_id: bytes
    score: int
    indicators: tuple[int, ...]
    estimated_value: int

    def __post_init__(self) -> None:
        _check_bytes32("vehicleId", self.vehicle_id)
        if not 0 <= self.score <= MAX_SCORE:
            raise TypedDataError(f"score {self.score} is outside 0..{MAX_SCORE}")
        if len(self.indicators) != INDICATOR_COUNT:
            raise TypedDataError(f"{len(self.indicators)} indicators, a report carries 12")
        for index, value in enumerate(self.indicators):
            if not 0 <= value <= MAX_SCORE:
                raise TypedDataError(f"indicator {index} = {value} is outside 0..{MAX_SCORE}")
        if not 0 < self.estimated_value < _UINT128:
            raise TypedDataError(f"estimated value {self.estimated_value} is not in 1..2**128-1")

    def struct_hash(self) -> bytes:
        # Kept beside the fields (a frozen dataclass has no setter; equality ignores it).
        cached: bytes | None = self.__dict__.get("_struct_hash")
        if cached is None:
            # __post_init__ holds score and indicators to uint16, the value to uint128.
            cached = keccak256(
                VEHICLE_SCORE_TYPEHASH
                + self.vehicle_id
                + _UINT16_WORD.pack(self.score)
                + keccak256(_INDICATOR_WORDS.pack(*self.indicators))
                + _UINT128_PAD
                + self.estimated_value.to_bytes(16, "big")
            )
            self.__dict__["_struct_hash"] = cached
        return cached

    def as_abi(self) -> tuple[bytes, int, list[int], int]:
        return (self.vehicle_id, self.score, list(self.indicators), self.estimated_value)


@dataclass(frozen=True)
class Report:
    """A batch of vehicle scores (`IConditionOracle.Report`)."""

    round_id: int
    model_version: bytes
    observed_at: int
    scores: tuple[ReportEntry, ...]

    def __post_init__(self) -> None:
        if not 0 < self.round_id < _UINT64:
            raise TypedDataError(f"round id {self.round_id} is not a positive uint64")
        _check_bytes32("modelVersion", self.model_version)
        if not 0 <= self.observed_at < _UINT64:
            raise TypedDataError(f"observedAt {self.observed_at} is not a uint64")
        if not self.scores:
            raise TypedDataError("a report carries at least one vehicle")

    def struct_hash(self) -> bytes:
        entries = b"".join([entry.struct_hash() for entry in self.scores])
        return keccak256(
            REPORT_TYPEHASH
            + _word(self.round_id)
            + self.model_version
            + _word(self.observed_at)
            + keccak256(entries)
        )

    def as_abi(self) -> tuple[int, bytes, int, list[tuple[bytes, int, list[int], int]]]:
        """The argument web3 encodes for `submitReport(Report, bytes[])`."""
        return (
            self.round_id,
            self.model_version,
            self.observed_at,
            [entry.as_abi() for entry in self.scores],
        )


@dataclass(frozen=True)
class DocumentAnchor:
    """What an issuer signs to anchor a document (`VehicleRegistry.DOCUMENT_ANCHOR_TYPEHASH`)."""

    vehicle_id: bytes
    doc_type: DocumentType
    cid: bytes
    content_hash: bytes
    issued_at: int

    def __post_init__(self) -> None:
        _check_bytes32("vehicleId", self.vehicle_id)
        _check_bytes32("contentHash", self.content_hash)
        if not 0 <= self.issued_at < _UINT64:
            raise TypedDataError(f"issuedAt {self.issued_at} is not a uint64")

    def struct_hash(self) -> bytes:
        return keccak(
            DOCUMENT_ANCHOR_TYPEHASH
            + self.vehicle_id
            + _word(int(self.doc_type))
            + keccak(self.cid)
            + self.content_hash
            + _word(self.issued_at)
        )


@dataclass(frozen=True)
class LienConsent:
    """What a vehicle's registering bank signs so that another bank may apply for a loan on
    it (`LoanManager.LIEN_CONSENT_TYPEHASH`): this lender, this borrower commitment, this
    principal, until the deadline, once (the nonce makes each consent distinct)."""

    vehicle_id: bytes
    lender: str
    borrower_commitment: bytes
    principal: int
    deadline: int
    nonce: bytes

    def __post_init__(self) -> None:
        _check_bytes32("vehicleId", self.vehicle_id)
        _check_bytes32("borrowerCommitment", self.borrower_commitment)
        _check_bytes32("nonce", self.nonce)
        try:
            to_checksum_address(self.lender)
        except (ValueError, TypeError) as exc:
            raise TypedDataError(f"lender {self.lender!r} is not an address") from exc
        if not 0 < self.principal < _UINT128:
            raise TypedDataError(f"principal {self.principal} is not in 1..2**128-1")
        if not 0 <= self.deadline < _UINT64:
            raise TypedDataError(f"deadline {self.deadline} is not a uint64")

    def struct_hash(self) -> bytes:
        return keccak(
            LIEN_CONSENT_TYPEHASH
            + self.vehicle_id
            + bytes(12)
            + bytes.fromhex(to_checksum_address(self.lender)[2:])
            + self.borrower_commitment
            + _word(self.principal)
            + _word(self.deadline)
            + self.nonce
        )


def report_message(report: Report, chain_id: int, oracle_address: str) -> SignableMessage:
    """What every operator signs for `report` (domain "ConditionOracle" v1)."""
    return _message(Domain.oracle(chain_id, oracle_address), report.struct_hash())


def report_digest(report: Report, chain_id: int, oracle_address: str) -> bytes:
    """The 32-byte digest `ConditionOracle.reportDigest(report)` returns."""
    return digest_of(report_message(report, chain_id, oracle_address))


def document_message(
    anchor: DocumentAnchor, chain_id: int, registry_address: str
) -> SignableMessage:
    """What an issuer signs for a document (domain "VehicleRegistry" v1)."""
    return _message(Domain.registry(chain_id, registry_address), anchor.struct_hash())


def document_digest(anchor: DocumentAnchor, chain_id: int, registry_address: str) -> bytes:
    """The digest `VehicleRegistry.documentDigest(...)` returns: the document's id once anchored."""
    return digest_of(document_message(anchor, chain_id, registry_address))


def lien_consent_message(
    consent: LienConsent, chain_id: int, loan_manager_address: str
) -> SignableMessage:
    """What the registering bank signs for a lien consent (domain "LoanManager" v1)."""
    return _message(Domain.loan_manager(chain_id, loan_manager_address), consent.struct_hash())


def lien_consent_digest(consent: LienConsent, chain_id: int, loan_manager_address: str) -> bytes:
    """The digest `LoanManager.lienConsentDigest(...)` returns (each is usable once)."""
    return digest_of(lien_consent_message(consent, chain_id, loan_manager_address))


def digest_of(message: SignableMessage) -> bytes:
    """`keccak256("\\x19\\x01" || domainSeparator || structHash)`."""
    return keccak(b"\x19" + message.version + message.header + message.body)


def recover_signer(message: SignableMessage, signature: bytes) -> ChecksumAddress:
    """The address whose key produced `signature` over `message`."""
    if len(signature) != SIGNATURE_LENGTH:
        raise TypedDataError(f"a signature is {SIGNATURE_LENGTH} bytes, got {len(signature)}")
    try:
        if signature[64] in (27, 28):  # as every signer here makes them: straight from the digest
            vrs = signature[:64] + bytes([signature[64] - 27])
            public = Signature(vrs).recover_public_key_from_msg_hash(digest_of(message))
            return to_checksum_address(public.to_canonical_address())
        address: str = Account.recover_message(message, signature=signature)
    except (ValueError, TypeError, BadSignature) as exc:  # eth_keys: bad v, r or s
        raise TypedDataError(f"malformed signature: {exc}") from exc
    return to_checksum_address(address)


def sign_digest(message: SignableMessage, key: PrivateKey) -> bytes:
    """`key`'s signature of `message` as `Account.sign_message` makes it (r, s, v = 27 or 28),
    from the digest, without eth_account's generic path: a push signs a report per operator."""
    signature = key.sign_msg_hash(digest_of(message))
    return signature.to_bytes()[:64] + bytes([signature.v + 27])


def report_typed_data(report: Report, chain_id: int, oracle_address: str) -> dict[str, Any]:
    """The report as `eth_signTypedData_v4` JSON (for wallets and for cross-checking)."""
    return {
        "types": REPORT_TYPES,
        "primaryType": "Report",
        "domain": Domain.oracle(chain_id, oracle_address).as_json(),
        "message": {
            "roundId": report.round_id,
            "modelVersion": report.model_version,
            "observedAt": report.observed_at,
            "scores": [
                {
                    "vehicleId": entry.vehicle_id,
                    "score": entry.score,
                    "indicators": list(entry.indicators),
                    "estimatedValue": entry.estimated_value,
                }
                for entry in report.scores
            ],
        },
    }


def document_typed_data(
    anchor: DocumentAnchor, chain_id: int, registry_address: str
) -> dict[str, Any]:
    """The document anchor as `eth_signTypedData_v4` JSON."""
    return {
        "types": DOCUMENT_TYPES,
        "primaryType": "DocumentAnchor",
        "domain": Domain.registry(chain_id, registry_address).as_json(),
        "message": {
            "vehicleId": anchor.vehicle_id,
            "docType": int(anchor.doc_type),
            "cid": anchor.cid,
            "contentHash": anchor.content_hash,
            "issuedAt": anchor.issued_at,
        },
    }


def lien_consent_typed_data(
    consent: LienConsent, chain_id: int, loan_manager_address: str
) -> dict[str, Any]:
    """The lien consent as `eth_signTypedData_v4` JSON (a bank signing with a wallet)."""
    return {
        "types": LIEN_CONSENT_TYPES,
        "primaryType": "LienConsent",
        "domain": Domain.loan_manager(chain_id, loan_manager_address).as_json(),
        "message": {
            "vehicleId": consent.vehicle_id,
            "lender": to_checksum_address(consent.lender),
            "borrowerCommitment": consent.borrower_commitment,
            "principal": consent.principal,
            "deadline": consent.deadline,
            "nonce": consent.nonce,
        },
    }


def _message(domain: Domain, struct_hash: bytes) -> SignableMessage:
    return SignableMessage(version=b"\x01", header=domain.separator, body=struct_hash)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _check_bytes32(name: str, value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) != 32:
        raise TypedDataError(f"{name} must be 32 bytes")
