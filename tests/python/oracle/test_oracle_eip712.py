"""The one Python definition of the EIP-712 types agrees with the contracts' own digests, with
eth_account's generic encoder, and with the contract tests' reference encoding."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys.datatypes import PrivateKey
from oracle_chain import System

from vcl.config import DEV_PRIVATE_KEYS
from vcl.eip712 import (
    DocumentAnchor,
    DocumentType,
    Report,
    ReportEntry,
    TypedDataError,
    document_digest,
    document_message,
    document_typed_data,
    recover_signer,
    report_digest,
    report_message,
    report_typed_data,
    sign_digest,
)

CONTRACT_TESTS = Path(__file__).parents[2] / "contracts"


def reference_encoding() -> ModuleType:
    """tests/contracts/oracle_reports.py: the encoding the contract tests sign with."""
    spec = importlib.util.spec_from_file_location(
        "oracle_reports", CONTRACT_TESTS / "oracle_reports.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def a_report(vehicles: int = 3, round_id: int = 7) -> Report:
    entries = tuple(
        ReportEntry(
            os.urandom(32),
            9_999 - i,
            tuple((i * 37 + j * 811) % 10_001 for j in range(12)),
            2**127 + i,
        )
        for i in range(vehicles)
    )
    return Report(round_id, os.urandom(32), 1_767_225_600, entries)


def test_report_digest_matches_the_contract_and_both_python_encodings(system: System) -> None:
    oracle = system.oracle
    chain_id = oracle.w3.eth.chain_id
    report = a_report(vehicles=5)
    ours = report_digest(report, chain_id, oracle.address)
    assert ours == oracle.functions.reportDigest(report.as_abi()).call()
    generic = encode_typed_data(full_message=report_typed_data(report, chain_id, oracle.address))
    assert generic == report_message(report, chain_id, oracle.address)
    reference = reference_encoding()
    entries = [
        reference.vehicle_score(e.vehicle_id, e.score, e.estimated_value, e.indicators)
        for e in report.scores
    ]
    theirs = reference.make_report(
        report.round_id, report.model_version, report.observed_at, entries
    )
    assert reference.report_digest(theirs, oracle.address, chain_id) == "0x" + ours.hex()
    assert report_typed_data(report, chain_id, oracle.address)["types"] == reference.REPORT_TYPES


def test_document_digest_matches_the_registry(system: System) -> None:
    registry = system.contracts["VehicleRegistry"]
    chain_id = registry.w3.eth.chain_id
    anchor = DocumentAnchor(
        os.urandom(32),
        DocumentType.INSPECTION,
        b"\x01\x55\x12\x20" + os.urandom(32),
        os.urandom(32),
        1_767_225_600,
    )
    ours = document_digest(anchor, chain_id, registry.address)
    onchain = registry.functions.documentDigest(
        anchor.vehicle_id, int(anchor.doc_type), anchor.cid, anchor.content_hash, anchor.issued_at
    ).call()
    assert ours == onchain
    generic = encode_typed_data(
        full_message=document_typed_data(anchor, chain_id, registry.address)
    )
    assert generic == document_message(anchor, chain_id, registry.address)


def test_a_signature_recovers_its_signer_and_only_for_its_domain() -> None:
    account = Account.from_key(DEV_PRIVATE_KEYS[4])
    report = a_report()
    oracle = "0x" + "11" * 20
    signature = bytes(account.sign_message(report_message(report, 1337, oracle)).signature)
    assert recover_signer(report_message(report, 1337, oracle), signature) == account.address
    assert recover_signer(report_message(report, 1338, oracle), signature) != account.address
    with pytest.raises(TypedDataError, match="65 bytes"):
        recover_signer(report_message(report, 1337, oracle), signature[:64])


def test_signatures_from_the_digest_are_eth_accounts_and_recover_alike() -> None:
    account = Account.from_key(DEV_PRIVATE_KEYS[4])
    message = report_message(a_report(), 1337, "0x" + "11" * 20)
    signature = sign_digest(message, PrivateKey(bytes(account.key)))
    assert signature == bytes(account.sign_message(message).signature)
    # v as 27/28 (recovered from the digest) or 0/1 (through eth_account): the same signer.
    raw_v = signature[:64] + bytes([signature[64] - 27])
    assert recover_signer(message, signature) == recover_signer(message, raw_v)
    assert recover_signer(message, signature) == account.address
    for malformed in (bytes(64) + b"\x1b", signature[:64] + b"\x1d"):
        with pytest.raises(TypedDataError, match="malformed signature"):
            recover_signer(message, malformed)


@pytest.mark.parametrize(
    ("score", "indicators", "value", "message"),
    [
        (10_001, (0,) * 12, 1, "score 10001"),
        (0, (0,) * 11, 1, "11 indicators"),
        (0, (0,) * 11 + (10_001,), 1, "indicator 11"),
        (0, (0,) * 12, 0, "estimated value 0"),
        (0, (0,) * 12, 2**128, "estimated value"),
    ],
)
def test_values_the_contract_would_refuse_are_refused_here(
    score: int, indicators: tuple[int, ...], value: int, message: str
) -> None:
    with pytest.raises(TypedDataError, match=message):
        ReportEntry(b"\x01" * 32, score, indicators, value)
