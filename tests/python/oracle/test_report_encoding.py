"""The hand-packed encodings of a report (its EIP-712 struct hash in vcl.eip712, its
`submitReport` calldata in oracle.report_calldata) are byte for byte the generic encoders'
(eth_account's typed data, eth_abi), for any values a report may hold. The contracts' own
digest and a real submission are checked on anvil by test_oracle_eip712 and the push tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from eth_abi.abi import encode
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle.errors import TransmissionError
from oracle.report_calldata import SUBMIT_REPORT_TYPES, SubmitReportEncoder
from vcl.artifacts import load_artifact
from vcl.eip712 import MAX_SCORE, Report, ReportEntry, report_message, report_typed_data

ORACLE_ABI = load_artifact(Path(__file__).parents[3] / "build/contracts", "ConditionOracle").abi
ORACLE = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, derandomize=True)

# Values at and near the bounds the contract and __post_init__ allow, and any in between.
uint16s = st.one_of(st.sampled_from([0, 1, 255, 256, MAX_SCORE]), st.integers(0, MAX_SCORE))
values = st.one_of(st.sampled_from([1, 2**64, 2**128 - 1]), st.integers(1, 2**128 - 1))
uint64s = st.one_of(st.sampled_from([1, 2**64 - 1]), st.integers(1, 2**64 - 1))
entries = st.builds(
    ReportEntry,
    st.binary(min_size=32, max_size=32),
    uint16s,
    st.tuples(*[uint16s] * 12),
    values,
)
reports = st.builds(
    Report,
    uint64s,
    st.binary(min_size=32, max_size=32),
    uint64s.map(lambda value: value - 1),
    st.lists(entries, min_size=1, max_size=6).map(tuple),
)
# Signatures are 65 bytes; bytes[] takes any length, and lengths off the word size matter.
signature_lists = st.lists(st.binary(min_size=0, max_size=100), max_size=4)


@PROPERTY_SETTINGS
@given(reports, signature_lists)
def test_calldata_is_eth_abis_encoding(report: Report, signatures: list[bytes]) -> None:
    encoder = SubmitReportEncoder(ORACLE_ABI)
    expected = encoder.selector + encode(SUBMIT_REPORT_TYPES, [report.as_abi(), signatures])
    assert encoder.calldata(report, signatures) == expected


@PROPERTY_SETTINGS
@given(reports, st.integers(1, 2**32))
def test_struct_hash_is_the_generic_typed_data_encoding(report: Report, chain_id: int) -> None:
    generic = encode_typed_data(full_message=report_typed_data(report, chain_id, ORACLE))
    assert report_message(report, chain_id, ORACLE) == generic


def test_an_entry_hashed_once_is_still_equal_to_its_copy_and_hashes_the_same() -> None:
    entry = ReportEntry(bytes(range(32)), 7, (MAX_SCORE,) * 12, 2**128 - 1)
    first = entry.struct_hash()
    copy = dataclasses.replace(entry)
    assert copy == entry
    assert copy.struct_hash() == first == entry.struct_hash()
    changed = dataclasses.replace(entry, score=8)
    assert changed.struct_hash() != first


def test_an_abi_whose_submit_report_differs_is_refused() -> None:
    changed = [
        {**item, "inputs": item["inputs"][:1]} if item.get("name") == "submitReport" else item
        for item in ORACLE_ABI
    ]
    with pytest.raises(TransmissionError, match="no submitReport"):
        SubmitReportEncoder(changed)
    without = [item for item in ORACLE_ABI if item.get("name") != "submitReport"]
    with pytest.raises(TransmissionError, match="no submitReport"):
        SubmitReportEncoder(without)
