"""Who founds the consortium at deployment: a file in production, anvil's accounts in development.

The founders file is a JSON list of the institutions admitted by the Consortium constructor:

    [{"name": "bank-a", "kind": "bank", "address": "0x..."}, ...]

`kind` is one of bank, auditor, oracle_operator, document_issuer. Names are public (only
their hash goes on-chain); no personal data belongs in this file.
"""

from __future__ import annotations

import json
from pathlib import Path

from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address

from vcl.config import DEV_PRIVATE_KEYS, Mode, Settings
from vcl.deploy import Founder, MemberKind, dev_founders
from vcl.errors import ConfigError
from vcl.secrets_policy import MIN_DISTINCT_CHARS, well_known_address_index


def founders_for(settings: Settings) -> list[Founder]:
    """The founders of a deployment with these settings.

    Production never falls back to the development founders, and refuses a file naming any
    of anvil's accounts: their keys are public.
    """
    if settings.founders_file is not None:
        founders = load_founders(settings.founders_file)
        if settings.mode is Mode.PRODUCTION:
            _refuse_well_known(settings.founders_file, founders)
        return founders
    if settings.mode is Mode.PRODUCTION:
        raise ConfigError(
            "set VCL_FOUNDERS_FILE: production deployments never use the development founders"
        )
    return dev_founders()


def load_founders(path: Path) -> list[Founder]:
    """Read and check a founders file; every problem is one `ConfigError` naming the file."""
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read founders file {path}: {exc}") from exc
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"founders file {path}: expected a non-empty JSON list")
    founders = [_founder(path, i, entry) for i, entry in enumerate(entries)]
    for what, values in (
        ("address", [f.address for f in founders]),
        ("name", [f.name for f in founders]),
    ):
        if len(set(values)) != len(values):
            raise ConfigError(f"founders file {path}: the same {what} appears twice")
    if MemberKind.BANK not in {f.kind for f in founders}:
        raise ConfigError(f"founders file {path}: a consortium needs at least one bank")
    return founders


def _refuse_well_known(path: Path, founders: list[Founder]) -> None:
    """Anvil's accounts in a production founders file (a development file copied over: anyone
    can use their keys), or the example file's patterned addresses (nobody holds their keys)."""
    for index, founder in enumerate(founders):
        where = f"founders file {path}, entry {index} ({founder.name}): {founder.address}"
        known = well_known_address_index(founder.address, DEV_PRIVATE_KEYS)
        if known is not None:
            raise ConfigError(
                f"{where} is anvil's well-known development account #{known}, refused in "
                "production mode"
            )
        if len(set(founder.address[2:].lower())) < MIN_DISTINCT_CHARS:
            raise ConfigError(
                f"{where} is a placeholder (a real address has many distinct hex digits): "
                "put the member's own address"
            )


def _founder(path: Path, index: int, entry: object) -> Founder:
    where = f"founders file {path}, entry {index}"
    if not isinstance(entry, dict) or set(entry) != {"name", "kind", "address"}:
        raise ConfigError(f"{where}: expected exactly the keys name, kind, address")
    name, kind, address = entry["name"], entry["kind"], entry["address"]
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: name must be a non-empty string")
    kinds = {k.name.lower(): k for k in MemberKind if k is not MemberKind.NONE}
    if kind not in kinds:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(kinds)}")
    if not isinstance(address, str) or not is_hex_address(address):
        raise ConfigError(f"{where}: {address!r} is not an address")
    digits = address.removeprefix("0x")
    if digits not in (digits.lower(), digits.upper()) and not is_checksum_address(address):
        raise ConfigError(f"{where}: {address} fails its checksum (a mistyped address?)")
    return Founder(to_checksum_address(address), kinds[kind], name)
