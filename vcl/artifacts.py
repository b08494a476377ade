"""Compiled contracts (ABI and bytecode) as Brownie's build writes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from vcl.errors import ArtifactError


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str = ""

    @property
    def deployable(self) -> bool:
        return bool(self.bytecode)


def load_artifact(build_dir: Path, name: str) -> Artifact:
    """The compiled contract `name`, or a typed error that says how to build it."""
    return _load(build_dir.resolve(), name)


@lru_cache(maxsize=64)
def _load(build_dir: Path, name: str) -> Artifact:
    for folder in ("", "interfaces"):
        path = build_dir / folder / f"{name}.json"
        if path.is_file():
            try:
                data = json.loads(path.read_text())
                bytecode = data.get("bytecode", "")
                deployed = data.get("deployedBytecode", "")
                return Artifact(
                    name=name, abi=data["abi"], bytecode=bytecode, deployed_bytecode=deployed
                )
            except (OSError, ValueError, KeyError) as exc:
                raise ArtifactError(f"unreadable artifact {path}: {exc}") from exc
    raise ArtifactError(f"no compiled contract {name!r} in {build_dir}: run `make compile`")


def all_error_abis(build_dir: Path) -> list[dict[str, Any]]:
    """Every custom error declared by any compiled contract or interface."""
    errors: dict[str, dict[str, Any]] = {}
    for path in sorted(build_dir.resolve().rglob("*.json")):
        try:
            abi = json.loads(path.read_text()).get("abi", [])
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"unreadable artifact {path}: {exc}") from exc
        for entry in abi:
            if entry.get("type") == "error":
                signature = _signature(entry)
                errors.setdefault(signature, entry)
    return list(errors.values())


def _signature(entry: dict[str, Any]) -> str:
    return f"{entry['name']}({','.join(canonical_type(i) for i in entry.get('inputs', []))})"


def canonical_type(param: dict[str, Any]) -> str:
    kind: str = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind
