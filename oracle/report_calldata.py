"""The calldata of `ConditionOracle.submitReport(Report, bytes[])`, written word by word.

eth_abi's generic encoder validates and encodes every value through several layers of
Python: about 14 ms for a 250-vehicle report, paid for every round. The report's layout is
fixed (a vehicle is 15 static words), so it is packed here with `struct` in well under a
millisecond. The values were range-checked when the `Report` was built (vcl.eip712), and the
tests hold the bytes equal to eth_abi's for the same arguments. The encoder refuses an ABI
whose `submitReport` takes other types, so a changed contract cannot get stale calldata.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types

from oracle.errors import TransmissionError
from vcl.eip712 import INDICATOR_COUNT, Report

SUBMIT_REPORT_TYPES = [
    "(uint64,bytes32,uint64,(bytes32,uint16,uint16[12],uint128)[])",
    "bytes[]",
]
_WORD = 32
# Words of the report tuple before its vehicles: roundId, modelVersion, observedAt, the
# offset of the scores array, and the array's length.
_REPORT_HEAD_WORDS = 5
_VEHICLE_WORDS = 3 + INDICATOR_COUNT
# score and the indicators: uint16s, each right-aligned in its word.
_SCORE_AND_INDICATORS = struct.Struct(">" + "30xH" * (1 + INDICATOR_COUNT))
_UINT128_PAD = bytes(16)


class SubmitReportEncoder:
    """`submitReport` calldata for the ConditionOracle whose ABI is given."""

    def __init__(self, abi: Sequence[Any]) -> None:
        functions = [
            item
            for item in abi
            if item.get("type") == "function" and item.get("name") == "submitReport"
        ]
        if len(functions) != 1 or get_abi_input_types(functions[0]) != SUBMIT_REPORT_TYPES:
            raise TransmissionError(
                "the ConditionOracle ABI has no submitReport"
                f"({', '.join(SUBMIT_REPORT_TYPES)}): rebuild the contracts or this encoder"
            )
        self.selector = function_abi_to_4byte_selector(functions[0])

    def calldata(self, report: Report, signatures: Sequence[bytes]) -> bytes:
        scores = report.scores
        report_size = _WORD * (_REPORT_HEAD_WORDS + _VEHICLE_WORDS * len(scores))
        pack = _SCORE_AND_INDICATORS.pack
        parts = [
            self.selector,
            _word(2 * _WORD),  # where the report starts, after the two offsets
            _word(2 * _WORD + report_size),  # where the signatures start
            _word(report.round_id),
            report.model_version,
            _word(report.observed_at),
            _word(4 * _WORD),  # the scores array, after the report's four head words
            _word(len(scores)),
        ]
        for entry in scores:
            parts.append(entry.vehicle_id)
            parts.append(pack(entry.score, *entry.indicators))
            parts.append(_UINT128_PAD + entry.estimated_value.to_bytes(16, "big"))
        parts.append(_word(len(signatures)))
        offset = _WORD * len(signatures)  # each element's offset, from after the length
        padded = [signature + bytes(-len(signature) % _WORD) for signature in signatures]
        for element in padded:
            parts.append(_word(offset))
            offset += _WORD + len(element)
        for signature, element in zip(signatures, padded, strict=True):
            parts.append(_word(len(signature)))
            parts.append(element)
        return b"".join(parts)


def _word(value: int) -> bytes:
    return value.to_bytes(_WORD, "big")
