"""Decoded event arguments as JSON that keeps every value exact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Event arguments copied into indexed columns of `chain_events`.
LOOKUP_ARGUMENTS = {
    "vehicleId": "vehicle_id",
    "loanId": "loan_id",
    "alertId": "alert_id",
    "documentId": "document_id",
}


def json_value(value: Any) -> Any:
    """ints become decimal strings (uint256 exceeds every JSON number type), bytes 0x hex."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    raise TypeError(f"an ABI decoder returned an unexpected {type(value).__name__}")


def json_arguments(args: Mapping[str, Any]) -> dict[str, Any]:
    return {name: json_value(value) for name, value in args.items()}


def lookup_columns(args: Mapping[str, Any]) -> dict[str, str | None]:
    """The indexed columns of one event: a scalar id argument it carries, else None."""
    columns: dict[str, str | None] = dict.fromkeys(LOOKUP_ARGUMENTS.values())
    for argument, column in LOOKUP_ARGUMENTS.items():
        value = args.get(argument)
        if isinstance(value, str):
            columns[column] = value
    return columns
