"""Turn revert data into the custom error's name and arguments, using the compiled ABIs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address

from vcl.artifacts import canonical_type

_BUILTIN: dict[bytes, tuple[str, list[str]]] = {
    bytes.fromhex("08c379a0"): ("Error", ["string"]),
    bytes.fromhex("4e487b71"): ("Panic", ["uint256"]),
}


class ErrorDecoder:
    """Knows every custom error of the project by its 4-byte selector."""

    def __init__(
        self, error_abis: Iterable[dict[str, Any]] | Callable[[], Iterable[dict[str, Any]]]
    ) -> None:
        """`error_abis`, or a function that reads them: called at the first revert to decode,
        so that a process that meets none (most pushes) does not read every artifact."""
        self._source = error_abis
        self._known: dict[bytes, tuple[str, list[str]]] | None = None

    @property
    def _errors(self) -> dict[bytes, tuple[str, list[str]]]:
        if self._known is None:
            source = self._source
            known = dict(_BUILTIN)
            for entry in source() if callable(source) else source:
                types = [canonical_type(i) for i in entry.get("inputs", [])]
                signature = f"{entry['name']}({','.join(types)})"
                known[function_signature_to_4byte_selector(signature)] = (entry["name"], types)
            self._known = known
        return self._known

    def decode(self, data: bytes | str | None) -> tuple[str, tuple[Any, ...]]:
        """(name, args); ("", ()) when the data matches no known error."""
        raw = to_bytes(data)
        errors = self._errors
        if len(raw) < 4 or raw[:4] not in errors:
            return "", ()
        name, types = errors[raw[:4]]
        try:
            values = abi_decode(types, raw[4:])
        except DecodingError:
            return "", ()
        # Addresses shown as users see them elsewhere: checksummed.
        return name, tuple(
            to_checksum_address(v) if t == "address" else v
            for t, v in zip(types, values, strict=True)
        )


def to_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, bytes):
        return data
    text = data[2:] if data.startswith("0x") else data
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""
