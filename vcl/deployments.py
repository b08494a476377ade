"""Where the contracts live, per chain id, in one JSON file: `{chain_id: {name: address}}`."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from eth_typing import ChecksumAddress
from web3 import Web3

from vcl.errors import DeploymentError


class DeploymentRecord:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        try:
            data: dict[str, dict[str, str]] = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise DeploymentError(f"unreadable deployment record {self.path}: {exc}") from exc
        return data

    def addresses(self, chain_id: int) -> dict[str, ChecksumAddress]:
        return {
            name: Web3.to_checksum_address(address)
            for name, address in self._read().get(str(chain_id), {}).items()
        }

    def address(self, chain_id: int, name: str) -> ChecksumAddress:
        try:
            return self.addresses(chain_id)[name]
        except KeyError:
            raise DeploymentError(
                f"{name} is not deployed on chain {chain_id} (record {self.path}): "
                "run `vcl deploy` first"
            ) from None

    def save(self, chain_id: int, addresses: dict[str, ChecksumAddress]) -> None:
        """Replace this chain's entry; written atomically so a crash leaves the old file."""
        data = self._read()
        data[str(chain_id)] = dict(addresses)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".deployments.")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(self.path)
