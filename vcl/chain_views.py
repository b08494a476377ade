"""Contract view calls for the read endpoints, in one JSON-RPC batch, without web3's per-call
machinery; and the calldata of the write endpoints' transactions, encoded the same way.

`contract.functions.f(x).call()` spends about 1.5 ms of CPU per view in web3's argument
binding, formatters and validators (docs/api-benchmark.md), more than the round trip
itself. Here each view's selector and ABI types are worked out once; a call is an
`eth_abi` encoding, one `eth_call` per view in one batch straight through the provider,
and an `eth_abi` decoding with addresses checksummed as web3 returns them.

Anything but a plain answer for every view (a revert, an error, an undecodable result)
gives None, and the caller reads through web3 as before, which raises its usual typed
errors: this path only ever answers what web3 would have answered.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_typing import HexStr
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint, TxParams

from vcl.artifacts import canonical_type

Normalize = Callable[[Any], Any]


@dataclass(frozen=True)
class View:
    """One function of one deployed contract, ready to encode and decode: a view to call,
    or a transaction's calldata (`transaction`)."""

    name: str
    address: str
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    normalize: tuple[Normalize, ...]

    def calldata(self, args: Sequence[Any]) -> str:
        return "0x" + (self.selector + encode(self.inputs, list(args))).hex()

    def transaction(self, *args: Any) -> TxParams:
        """The transaction calling this function with `args`, for `TransactionSender.send`."""
        return {"to": self.address, "data": HexStr(self.calldata(args))}

    def shaped(self, value: Any) -> Any:
        """A value as web3's `call()` returned it, shaped as `result` shapes a raw answer
        (structs as named tuples), so both paths answer alike."""
        if len(self.normalize) == 1:
            return self.normalize[0](value)
        return [fix(v) for fix, v in zip(self.normalize, value, strict=True)]

    def result(self, raw: str) -> Any:
        """As web3's `call()` returns it: the value of a single output, else a list."""
        data = bytes.fromhex(raw.removeprefix("0x"))
        values = decode(self.outputs, data)
        shown = [fix(v) for fix, v in zip(self.normalize, values, strict=True)]
        return shown[0] if len(shown) == 1 else shown


def view(contract: Contract, name: str) -> View:
    """The view `name` of `contract` (one overload of that name in its ABI)."""
    found = [e for e in contract.abi if e.get("type") == "function" and e.get("name") == name]
    if len(found) != 1:
        raise ValueError(f"{name}: {len(found)} functions of that name in the ABI")
    entry: dict[str, Any] = dict(found[0])
    inputs = tuple(canonical_type(i) for i in entry["inputs"])
    signature = f"{name}({','.join(inputs)})"
    return View(
        name=name,
        address=contract.address,
        selector=keccak(text=signature)[:4],
        inputs=inputs,
        outputs=tuple(canonical_type(o) for o in entry["outputs"]),
        normalize=tuple(_normalizer(o) for o in entry["outputs"]),
    )


def _normalizer(param: dict[str, Any]) -> Normalize:
    """Addresses checksummed, structs as named tuples (by the ABI's field names: `vehicle.exists`,
    and positional unpacking still works), everything else as `eth_abi` decodes it."""
    kind: str = param["type"]
    if kind.endswith("]"):
        element = _normalizer({**param, "type": kind[: kind.rindex("[")]})
        return lambda values: [element(v) for v in values]
    if kind == "address":
        return to_checksum_address
    if kind == "tuple":
        parts = [_normalizer(c) for c in param["components"]]
        names = [c.get("name") or "" for c in param["components"]]
        if all(name.isidentifier() for name in names):
            struct = _struct_type(param.get("internalType", ""), tuple(names))
            return lambda values: struct(*(fix(v) for fix, v in zip(parts, values, strict=True)))
        return lambda values: tuple(fix(v) for fix, v in zip(parts, values, strict=True))
    return lambda value: value


@functools.cache
def _struct_type(internal_type: str, names: tuple[str, ...]) -> Any:
    """One named-tuple type per ABI struct ("struct IVehicleRegistry.Vehicle" -> Vehicle)."""
    name = internal_type.rsplit(".", 1)[-1].removeprefix("struct ").strip() or "Struct"
    return collections.namedtuple(name if name.isidentifier() else "Struct", names)


class ChainViews:
    """Batched view calls through `w3`'s provider (its transport, not its middleware: the
    views need neither formatting nor the transaction checks)."""

    def __init__(self, w3: Web3, contracts: Mapping[str, Contract]) -> None:
        self.w3 = w3
        self._contracts = contracts
        self._views: dict[tuple[str, str], View] = {}

    def view(self, contract: str, name: str) -> View:
        """The view `name` of the node's contract `contract`, worked out once."""
        key = (contract, name)
        found = self._views.get(key)
        if found is None:
            found = self._views[key] = view(self._contracts[contract], name)
        return found

    def read(self, contract: str, name: str, *args: Any) -> Any:
        """One view's answer: the batched path, else through web3 (its typed errors)."""
        found = self.call((self.view(contract, name), args))
        if found is not None:
            return found[0]
        view = self.view(contract, name)
        return view.shaped(getattr(self._contracts[contract].functions, name)(*args).call())

    def latest_timestamp(self) -> int:
        """The latest block's timestamp, straight through the provider (no block formatting:
        one field is wanted). Through web3 if the provider does not answer plainly."""
        answer = self.w3.provider.make_request(
            RPCEndpoint("eth_getBlockByNumber"), ["latest", False]
        )
        block = answer.get("result")
        if isinstance(block, dict) and isinstance(block.get("timestamp"), str):
            return int(block["timestamp"], 16)
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def call(
        self, *calls: tuple[View, Sequence[Any]], block: int | str = "latest"
    ) -> list[Any] | None:
        """Every view's answer at `block`, or None if any of them did not plainly answer.
        A transport failure raises as web3's would (`OSError`)."""
        at = block if isinstance(block, str) else hex(block)
        batch = [
            (RPCEndpoint("eth_call"), [{"to": v.address, "data": v.calldata(args)}, at])
            for v, args in calls
        ]
        provider = self.w3.provider
        if not isinstance(provider, JSONBaseProvider):
            return None
        try:
            answers = provider.make_batch_request(batch)
        except NotImplementedError:  # a provider without batches
            return None
        if not isinstance(answers, list) or len(answers) != len(calls):
            return None
        results = []
        for (v, _args), answer in zip(calls, answers, strict=True):
            raw = answer.get("result")
            if "error" in answer or not isinstance(raw, str) or raw in ("0x", ""):
                return None
            try:
                results.append(v.result(raw))
            except (DecodingError, ValueError):
                return None
        return results
