"""Condition reports of the ConditionOracle: build them, hash them per EIP-712 and sign them.

The contract tests' own encoding of the oracle's typed data, through eth_account's generic
EIP-712 encoder and deliberately independent of `vcl.eip712` (which is checked against it and
against the contract): it also builds reports the product refuses to build, out-of-bounds
values included, so the contract's own checks can be tested. The typed data (domain
"ConditionOracle", version "1") must stay identical to the contract's type hashes; the
tests check it against the contract's ``reportDigest``. Reports are plain tuples in the ABI order
of ``IConditionOracle.Report`` so they can be passed to brownie directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils import keccak

from vcl import eip712

INDICATOR_COUNT = 12
MAX_SCORE = 10_000
FIELD_SCORE, FIELD_ESTIMATED_VALUE, FIELD_OBSERVED_AT = (
    12,
    13,
    14,
)  # OracleValueOutOfBounds field codes

# The type tables are the product's (vcl.eip712); the encoding below is eth_account's own.
REPORT_TYPES = eip712.REPORT_TYPES


class VehicleScore(NamedTuple):
    """One vehicle of a report (ABI order of ``IConditionOracle.VehicleScore``)."""

    vehicle_id: str
    score: int
    indicators: tuple[int, ...]
    estimated_value: int


class Report(NamedTuple):
    """A report (ABI order of ``IConditionOracle.Report``)."""

    round_id: int
    model_version: str
    observed_at: int
    scores: tuple[VehicleScore, ...]


def vehicle_score(
    vehicle_id: str, score: int, estimated_value: int, indicators: Sequence[int] | None = None
):
    """
    A vehicle entry; indicators default to the score repeated (any 12 values in 0..10000 are valid).
    """
    values = (
        tuple(indicators) if indicators is not None else (min(score, MAX_SCORE),) * INDICATOR_COUNT
    )
    return VehicleScore(vehicle_id, score, values, estimated_value)


def make_report(
    round_id: int, model_version: str, observed_at: int, scores: Iterable[VehicleScore]
) -> Report:
    """A report of ``scores``."""
    return Report(round_id, model_version, observed_at, tuple(scores))


def _bytes32(value: str | bytes) -> bytes:
    return (
        value
        if isinstance(value, bytes)
        else bytes.fromhex(value[2:] if value.startswith("0x") else value)
    )


def report_typed_data(oracle_address: str, chain_id: int, report: Report) -> dict:
    """The EIP-712 typed data (``full_message``) every signing operator signs."""
    return {
        "types": REPORT_TYPES,
        "primaryType": "Report",
        "domain": {
            "name": "ConditionOracle",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": str(oracle_address),
        },
        "message": {
            "roundId": report.round_id,
            "modelVersion": _bytes32(report.model_version),
            "observedAt": report.observed_at,
            "scores": [
                {
                    "vehicleId": _bytes32(entry.vehicle_id),
                    "score": entry.score,
                    "indicators": list(entry.indicators),
                    "estimatedValue": entry.estimated_value,
                }
                for entry in report.scores
            ],
        },
    }


def signable_report(oracle_address: str, chain_id: int, report: Report) -> SignableMessage:
    """The EIP-712 signable message of a report."""
    return encode_typed_data(full_message=report_typed_data(oracle_address, chain_id, report))


def sign_report(
    report: Report, private_keys: Iterable[str], oracle_address: str, chain_id: int
) -> list[bytes]:
    """65-byte signatures of ``report`` by each key, in order (the message is encoded once)."""
    message = signable_report(oracle_address, chain_id, report)
    return [bytes(Account.sign_message(message, key).signature) for key in private_keys]


def report_digest(report: Report, oracle_address: str, chain_id: int) -> str:
    """The EIP-712 digest (0x hex) the contract's ``reportDigest`` returns."""
    message = signable_report(oracle_address, chain_id, report)
    return "0x" + keccak(b"\x19" + message.version + message.header + message.body).hex()
