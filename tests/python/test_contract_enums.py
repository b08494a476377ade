"""The Python mirrors of the contracts' enums against the compiled interfaces: a member the
contracts append (a new loan state, a new proposal action) and the mirror does not know would
show as a bare number, or be refused, everywhere the node and the CLI read it."""

from __future__ import annotations

import json
import re
from enum import IntEnum
from typing import Any

import pytest

from vcl.contract_enums import (
    ActionType,
    AlertStatus,
    LoanState,
    MemberStatus,
    ReviewDecision,
    solidity_name,
)
from vcl.deploy import MemberKind
from vcl.eip712 import DocumentType
from vcl.localchain import REPO_ROOT

INTERFACES = REPO_ROOT / "build/interfaces"
DASHBOARD_VIEWS = REPO_ROOT / "node_api/dashboard/static/views.js"


def compiled_enums(interface: str) -> dict[str, list[str]]:
    """Every enum the compiled interface declares: name -> member names in order."""
    ast = json.loads((INTERFACES / f"{interface}.json").read_text())["ast"]
    found: dict[str, list[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("nodeType") == "EnumDefinition":
                found[node["name"]] = [member["name"] for member in node["members"]]
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(ast)
    return found


@pytest.mark.parametrize(
    ("interface", "enum", "mirror"),
    [
        ("ILoanManager", "LoanState", LoanState),
        ("IConsortium", "ActionType", ActionType),
        ("IConsortium", "MemberStatus", MemberStatus),
        ("IConsortium", "MemberKind", MemberKind),
        ("IVehicleRegistry", "DocumentType", DocumentType),
        ("IConditionOracle", "ReviewDecision", ReviewDecision),
        ("IConditionOracle", "AlertStatus", AlertStatus),
    ],
)
def test_each_mirror_has_the_contracts_members_in_order(
    interface: str, enum: str, mirror: type[IntEnum]
) -> None:
    compiled = compiled_enums(interface)[enum]
    assert [solidity_name(member.name) for member in mirror] == compiled
    assert [int(member) for member in mirror] == list(range(len(compiled)))


def test_the_new_states_and_actions_read_as_words() -> None:
    assert LoanState.label_of("11") == "Expired"
    assert LoanState.label_of(12) == "Released"
    assert LoanState.label_of(99) == "99"  # a newer contract's state is shown, not hidden
    assert ActionType.label_of(6) == "ReleaseLien"
    assert ActionType.label_of("8") == "RevokeIssuerDocuments"


def test_the_dashboard_lists_every_loan_state() -> None:
    source = DASHBOARD_VIEWS.read_text()
    listed = re.search(r"const LOAN_STATES = \[([^\]]*)\]", source)
    assert listed is not None
    names = re.findall(r'"(\w+)"', listed.group(1))
    assert names == [state.label for state in LoanState if state is not LoanState.NONE]
