"""Every custom error a contract can revert with has a sentence a person understands
(`vcl.error_messages`): a Solidity error added without one fails here, each sentence is made
from arguments of its ABI types without raising, and never shows a raw 32-byte value."""

from __future__ import annotations

import inspect
import itertools
import json
import re
from collections.abc import Iterator
from enum import IntEnum
from typing import Any

import pytest
from eth_utils.crypto import keccak

from node_api.api.errors import answer_for
from vcl.contract_enums import ActionType, LoanState, MemberStatus
from vcl.deploy import GOVERNED_PARAMETERS, MemberKind, parameter_key
from vcl.error_messages import (
    ACTIONS,
    LIBRARY_ERRORS,
    MAX_DURATION,
    MAX_ORACLE_QUORUM,
    MAX_ROUND_GAP_BOUND,
    MESSAGES,
    MIN_APPROVAL_TTL,
    PARAMETER_RULES,
    ROLES,
    explain,
)
from vcl.errors import TransactionReverted
from vcl.localchain import REPO_ROOT

BUILD = REPO_ROOT / "build"
SOURCES = [
    *sorted((REPO_ROOT / "interfaces").glob("*.sol")),
    *sorted((REPO_ROOT / "contracts").rglob("*.sol")),
]
BANK = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ZERO = "0x" + "00" * 20
VEHICLE = bytes.fromhex("1234" + "ab" * 28 + "abcd")
ENUMS: dict[str, type[IntEnum]] = {
    "enum ILoanManager.LoanState": LoanState,
    "enum IConsortium.MemberStatus": MemberStatus,
    "enum IConsortium.MemberKind": MemberKind,
    "enum IConsortium.ActionType": ActionType,
}
RAW_WORD = re.compile(r"0x[0-9a-fA-F]{41,}")  # longer than an address: a 32-byte value


def compiled_errors() -> dict[str, dict[str, Any]]:
    """Every custom error of the compiled contracts and interfaces (OpenZeppelin's included)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(BUILD.glob("*/*.json")):
        for entry in json.loads(path.read_text()).get("abi", []):
            if entry.get("type") == "error":
                found.setdefault(entry["name"], entry)
    return found


ERRORS = compiled_errors()


def test_the_build_is_there() -> None:
    assert len(ERRORS) > 50, "no compiled ABIs under build/: run `make compile`"


def test_every_compiled_error_has_a_message() -> None:
    assert sorted(set(ERRORS) - set(MESSAGES)) == []


def test_every_error_declared_in_the_sources_has_a_message() -> None:
    """Also before a build: a new `error` in a .sol file needs its sentence."""
    declared = {
        name
        for path in SOURCES
        for name in re.findall(r"^\s*error\s+(\w+)\s*\(", path.read_text(), re.MULTILINE)
    }
    assert len(declared) > 50
    assert sorted(declared - set(MESSAGES)) == []


def test_library_errors_read_as_sentences_even_when_not_built() -> None:
    shown = [
        MESSAGES["SafeCastOverflowedUintDowncast"](64, 2**70),
        MESSAGES["SafeCastOverflowedIntToUint"](-5),
        MESSAGES["StringsInsufficientHexLength"](2**40, 4),
        MESSAGES["StringsInvalidChar"](),
    ]
    assert shown[0] == f"The number {2**70} does not fit in 64 bits."
    assert all(message.endswith(".") for message in shown)


def test_the_catalogue_holds_no_error_the_contracts_lost() -> None:
    # A fresh build also writes OpenZeppelin's SafeCast and Strings artifacts, an incremental
    # one may not: their errors are in the catalogue either way.
    assert sorted(set(MESSAGES) - set(ERRORS) - LIBRARY_ERRORS) == []


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_each_message_takes_the_errors_arguments(name: str) -> None:
    parameters = inspect.signature(MESSAGES[name]).parameters
    assert len(parameters) == len(ERRORS[name]["inputs"])


def samples(param: dict[str, Any]) -> list[Any]:
    """Values of one ABI input as the decoder gives them."""
    kind, internal = param["type"], param.get("internalType", "")
    if internal in ENUMS:
        return [*ENUMS[internal], 200]  # every member, and one a newer contract might add
    if kind.startswith("uint"):
        bits = int(kind[4:] or 256)
        return [0, 1, 7000, 1799264158, 2**bits - 1]
    if kind.startswith("int"):
        bits = int(kind[3:] or 256)
        return [0, -1, 7000, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1]
    if kind == "address":
        return [BANK, ZERO]
    if kind == "bytes32":
        known = [bytes(parameter_key(n)) for n in GOVERNED_PARAMETERS]
        return [VEHICLE, b"\x00" * 32, *known, *(keccak(text=r) for r in ROLES)]
    raise AssertionError(f"no sample values for ABI type {kind}: add them here")


def argument_lists(entry: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    yield from itertools.product(*(samples(p) for p in entry["inputs"]))


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_each_message_reads_as_a_sentence_for_any_arguments(name: str) -> None:
    for args in argument_lists(ERRORS[name]):
        message = MESSAGES[name](*args)  # not through `explain`: it would hide a failure
        shown = f"{name}{args}: {message}"
        assert isinstance(message, str), shown
        assert message.endswith("."), shown
        assert "None" not in message, shown
        assert "b'" not in message, shown
        assert not RAW_WORD.search(message), shown
        assert explain(name, args) == message


def test_every_proposal_action_has_words() -> None:
    assert set(ACTIONS) == set(ActionType)


def test_a_vehicle_is_shown_shortened() -> None:
    message = explain("RegistryUnknownVehicle", (VEHICLE,))
    assert message == "Vehicle 0x1234…abcd is not registered."


# The examples (#19) and a few more, word for word.
EXAMPLES = [
    (
        "LoanNotYetDue",
        (30, 1799264158),
        "Loan 30 is not due yet: this step is possible only after 2027-01-06T19:35:58Z (the "
        "first unpaid instalment's due date; for a default, that date plus the grace period).",
    ),
    (
        "ConsortiumProposalNotPassed",
        (2, 1, 2),
        "Proposal 2 has not passed: 1 counted yes-vote of 2 active banks; more than half must "
        "vote yes.",
    ),
    (
        "ConsortiumInvalidParameter",
        (bytes(parameter_key("ALERT_THRESHOLD_BPS")), 20000),
        "20000 (200.00%) is out of bounds for ALERT_THRESHOLD_BPS: it must be more than 0 and, "
        "with ALERT_HYSTERESIS_BPS added, at most 100.00%.",
    ),
    (
        "ConsortiumInvalidParameter",
        (bytes(parameter_key("APPROVAL_TTL")), 60),
        "60 (1 minute) is out of bounds for APPROVAL_TTL: it must be from 1 hour to 365 days.",
    ),
    (
        "ConsortiumUnauthorizedAccount",
        (BANK, keccak(text="BANK_ROLE")),
        f"{BANK} may not do this: only an active bank may.",
    ),
    (
        "LoanStaleScore",
        (VEHICLE, 0, 604800),
        "Vehicle 0x1234…abcd has never been scored: a loan needs a condition score younger than "
        "7 days (HEARTBEAT).",
    ),
    (
        "LoanRepaymentExceedsOutstanding",
        (4, 2_600_000, 2_500_050),
        "A repayment of 26,000.00 CNY is more than the 25,000.50 CNY outstanding on loan 4.",
    ),
    (
        "LoanInvalidState",
        (7, LoanState.DEFAULTED),
        "Loan 7 is Defaulted: this action is not allowed in that state.",
    ),
    (
        "ConsortiumMemberExists",
        (BANK, MemberStatus.REMOVED),
        f"{BANK} cannot be admitted: it is removed already (a removed member cannot be admitted "
        "again).",
    ),
    (
        "RegistryVehicleExists",
        (VEHICLE, BANK),
        f"Vehicle 0x1234…abcd is already registered, by bank {BANK}.",
    ),
    (
        "OracleQuorumNotMet",
        (1, 3),
        "The report carries 1 valid operator signature; the quorum is 3.",
    ),
    ("Error", ("closed",), "The contract refused the request: closed."),
    ("Panic", (0x11,), "A contract failed an internal check (a calculation overflowed)."),
    ("SomethingNew", (1,), "The contract refused the request (SomethingNew)."),
    ("LoanUnknown", (1, 2, 3), "The contract refused the request (LoanUnknown)."),
    ("", (), "The contract refused the request without a reason this node can read."),
]


@pytest.mark.parametrize(("name", "args", "sentence"), EXAMPLES)
def test_examples_read_as_written(name: str, args: tuple[Any, ...], sentence: str) -> None:
    assert explain(name, args) == sentence


def test_the_stated_bounds_are_the_contracts() -> None:
    """`_validateParameter`'s limits, as the catalogue states them."""
    source = (REPO_ROOT / "contracts/Consortium.sol").read_text()
    constants = dict(re.findall(r"constant (_[A-Z_]+) = ([\w ]+);", source))
    seconds = {"days": 86_400, "hours": 3_600}

    def value(text: str) -> int:
        number, *unit = text.replace("_", "").split()
        return int(number) * (seconds[unit[0]] if unit else 1)

    assert value(constants["_MAX_DURATION"]) == MAX_DURATION
    assert value(constants["_MAX_ORACLE_QUORUM"]) == MAX_ORACLE_QUORUM
    assert value(constants["_MAX_ROUND_GAP_BOUND"]) == MAX_ROUND_GAP_BOUND
    assert value(constants["_MIN_APPROVAL_TTL"]) == MIN_APPROVAL_TTL
    assert set(PARAMETER_RULES) == set(GOVERNED_PARAMETERS)


def test_a_revert_reads_as_the_sentence_then_the_raw_error() -> None:
    exc = TransactionReverted("LoanNotYetDue", (30, 1799264158), tx_hash="0xab")
    assert exc.raw == "LoanNotYetDue(30, 1799264158)"
    assert exc.explanation == explain("LoanNotYetDue", (30, 1799264158))
    assert str(exc) == f"{exc.explanation} (reverted in transaction 0xab: {exc.raw})"
    undecoded = TransactionReverted("", (), data="0xdeadbeef")
    assert undecoded.raw == "undecoded revert 0xdeadbeef"


def test_the_api_answer_keeps_the_name_and_the_raw_error_beside_the_sentence() -> None:
    exc = TransactionReverted("RegistryVehicleExists", (VEHICLE, BANK))
    status, body = answer_for(exc)
    assert status == 409
    assert body == {
        "error": "RegistryVehicleExists",
        "message": f"Vehicle 0x1234…abcd is already registered, by bank {BANK}.",
        "details": {
            "args": ["0x" + VEHICLE.hex(), BANK],
            "raw": f"RegistryVehicleExists(0x{VEHICLE.hex()}, '{BANK}')",
            "transaction_hash": None,
        },
    }
