"""The storage of the four upgradeable contracts only grows: an upgrade that reorders, removes,
retypes or inserts a state variable would make the new code misread the proxies' state.

The compiler's storage layout of each contract (solc standard JSON, `storageLayout`) is
compared with the committed snapshot `tests/contracts/storage_layout.json`: every committed
variable must keep its slot, offset and type; new variables may only follow; a struct held in a
mapping may only gain fields at its end. After an intended, compatible change, regenerate the
snapshot with `VCL_UPDATE_STORAGE_LAYOUT=1 .venv/bin/pytest -c tests/python/pytest.ini
tests/python/test_storage_layout.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from vcl.localchain import REPO_ROOT

CONTRACTS = ("Consortium", "VehicleRegistry", "ConditionOracle", "LoanManager")
SNAPSHOT = REPO_ROOT / "tests/contracts/storage_layout.json"
SOLC = REPO_ROOT / ".solcx/solc-v0.8.28"

Layout = list[dict[str, Any]]


def _describe(type_id: str, types: dict[str, Any]) -> dict[str, Any]:
    """A type as a self-contained tree (no compiler-generated ids, which change between builds)."""
    entry = types[type_id]
    described: dict[str, Any] = {"label": entry["label"], "bytes": entry["numberOfBytes"]}
    if "members" in entry:
        described["members"] = [
            {
                "label": member["label"],
                "slot": member["slot"],
                "offset": member["offset"],
                "type": _describe(member["type"], types),
            }
            for member in entry["members"]
        ]
    if "key" in entry:
        described["key"] = _describe(entry["key"], types)
        described["value"] = _describe(entry["value"], types)
    if "base" in entry:
        described["base"] = _describe(entry["base"], types)
    return described


def compiled_layouts() -> dict[str, Layout]:
    """Each contract's storage layout as the pinned solc computes it from the sources now."""
    sources = {
        f"contracts/{name}.sol": {"content": (REPO_ROOT / f"contracts/{name}.sol").read_text()}
        for name in CONTRACTS
    }
    request = {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "evmVersion": "cancun",
            "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
            "outputSelection": {
                f"contracts/{name}.sol": {name: ["storageLayout"]} for name in CONTRACTS
            },
        },
    }
    done = subprocess.run(
        [str(SOLC), "--standard-json", "--allow-paths", str(REPO_ROOT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
        check=True,
    )
    output = json.loads(done.stdout)
    errors = [e["formattedMessage"] for e in output.get("errors", []) if e["severity"] == "error"]
    assert not errors, "\n".join(errors)
    layouts = {}
    for name in CONTRACTS:
        layout = output["contracts"][f"contracts/{name}.sol"][name]["storageLayout"]
        types = layout["types"] or {}
        layouts[name] = [
            {
                "label": variable["label"],
                "slot": variable["slot"],
                "offset": variable["offset"],
                "type": _describe(variable["type"], types),
            }
            for variable in layout["storage"]
        ]
    return layouts


def _incompatible(old: dict[str, Any], new: dict[str, Any], in_mapping: bool, where: str) -> str:
    """Why `new` cannot read what `old` wrote ('' if it can)."""
    if old["label"] != new["label"]:
        return f"{where}: type {old['label']} became {new['label']}"
    if "members" in old:
        members_old, members_new = old["members"], new.get("members", [])
        grows = len(members_new) > len(members_old)
        if grows and not in_mapping:
            return f"{where}: struct {old['label']} grew where it is not a mapping value"
        if len(members_new) < len(members_old):
            return f"{where}: struct {old['label']} lost fields"
        for before, after in zip(members_old, members_new, strict=False):
            here = f"{where}.{before['label']}"
            if (before["label"], before["slot"], before["offset"]) != (
                after["label"],
                after["slot"],
                after["offset"],
            ):
                return f"{here}: field moved or renamed (now {after['label']})"
            reason = _incompatible(before["type"], after["type"], False, here)
            if reason:
                return reason
        return ""
    if "key" in old:
        return _incompatible(old["key"], new["key"], False, f"{where}[key]") or _incompatible(
            old["value"], new["value"], True, f"{where}[value]"
        )
    if "base" in old:
        return _incompatible(old["base"], new["base"], False, f"{where}[]")
    if old["bytes"] != new["bytes"]:
        return f"{where}: size changed"
    return ""


def layout_violations(committed: dict[str, Layout], current: dict[str, Layout]) -> list[str]:
    """Every way `current` breaks the append-only rule against `committed`."""
    found = []
    for name, old_layout in committed.items():
        new_layout = current.get(name, [])
        if len(new_layout) < len(old_layout):
            found.append(f"{name}: {len(old_layout) - len(new_layout)} variable(s) removed")
        for old, new in zip(old_layout, new_layout, strict=False):
            where = f"{name}.{old['label']}"
            if (old["label"], old["slot"], old["offset"]) != (
                new["label"],
                new["slot"],
                new["offset"],
            ):
                found.append(
                    f"{where} at slot {old['slot']}+{old['offset']} is now {new['label']} "
                    f"at slot {new['slot']}+{new['offset']}"
                )
                continue
            reason = _incompatible(old["type"], new["type"], False, where)
            if reason:
                found.append(reason)
    return found


@pytest.fixture(scope="module")
def current() -> dict[str, Layout]:
    layouts = compiled_layouts()
    if os.environ.get("VCL_UPDATE_STORAGE_LAYOUT") == "1":
        SNAPSHOT.write_text(json.dumps(layouts, indent=1, sort_keys=True) + "\n")
    return layouts


def test_storage_only_grows_at_the_end(current: dict[str, Layout]) -> None:
    committed = json.loads(SNAPSHOT.read_text())
    assert set(committed) == set(CONTRACTS)
    assert layout_violations(committed, current) == []


def test_the_consortium_reference_is_slot_0_of_every_gated_contract(
    current: dict[str, Layout],
) -> None:
    for name in CONTRACTS[1:]:
        first = current[name][0]
        assert (first["label"], first["slot"], first["offset"]) == ("_consortium", "0", 0)


def test_a_reordered_appended_removed_or_retyped_layout_is_refused(
    current: dict[str, Layout],
) -> None:
    """The check itself: each kind of breaking change is reported, appending is not."""
    loans = current["LoanManager"]
    appended = [*loans, {**loans[-1], "label": "_new", "slot": str(int(loans[-1]["slot"]) + 1)}]
    assert layout_violations(current, {**current, "LoanManager": appended}) == []
    swapped = [loans[0], loans[2], loans[1], *loans[3:]]
    assert layout_violations(current, {**current, "LoanManager": swapped})
    assert layout_violations(current, {**current, "LoanManager": loans[:-1]})
    retyped = json.loads(json.dumps(loans))
    retyped[-1]["type"]["label"] = "uint128"
    assert layout_violations(current, {**current, "LoanManager": retyped})
    # a struct in a mapping may gain a field at its end, never lose or reorder one
    record = json.loads(json.dumps(loans))
    struct = next(v for v in record if v["label"] == "_loans")["type"]["value"]
    struct["members"].append({**struct["members"][-1], "label": "extra", "slot": "99"})
    assert layout_violations(current, {**current, "LoanManager": record}) == []
    struct["members"] = struct["members"][1:]
    assert layout_violations(current, {**current, "LoanManager": record})
