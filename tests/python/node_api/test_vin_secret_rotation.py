"""A VIN secret rotation, as the banks run it: `vcl vin-secret rotate` by one bank, the new
secret imported by the other, the vote, then registrations and lookups through real node
processes on both sides of it.

What a bank would notice: after the rotation a new vehicle's id is not the one the leaked
secret computes; every vehicle registered before is still found by its VIN; a VIN registered
before cannot get a second record under the new secret; a node that has not imported the new
secret refuses to register (it would make duplicates), and says how to fix it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from api_server import (
    BANK_INDEX,
    OTHER_BANK_INDEX,
    NodeProcess,
    deployed_consortium,
    random_vin,
    register,
    start_node,
)
from typer.testing import CliRunner

from node_api.api_keys import Role
from oracle.config import OracleSettings
from oracle.operations import OracleNode
from vcl.config import DEV_VIN_SECRET, KeySource, Settings, get_settings
from vcl.localchain import REPO_ROOT, LocalChain
from vcl.vin import vehicle_id
from vcl.vin_secrets import fingerprint, read_keyring_file
from vcl_cli import app

BUILD_DIR = REPO_ROOT / "build/contracts"
FOUNDING = DEV_VIN_SECRET.encode()


class Consortium:
    """The module's consortium: two bank nodes, each with its own VIN keyring file."""

    def __init__(self, anvil: LocalChain, directory: Path) -> None:
        self.anvil = anvil
        self.directory = directory
        self.deployment = deployed_consortium(anvil, directory)
        self.keyring = {
            BANK_INDEX: directory / "bank-a" / "vin-secrets.json",
            OTHER_BANK_INDEX: directory / "bank-b" / "vin-secrets.json",
        }
        self.nodes: dict[int, NodeProcess] = {}
        for index, name in ((BANK_INDEX, "bank-a"), (OTHER_BANK_INDEX, "bank-b")):
            self.nodes[index] = start_node(
                anvil,
                self.deployment,
                directory / name,
                index,
                extra_env={"VCL_VIN_SECRETS_FILE": str(self.keyring[index])},
            )

    def vcl(self, *args: str, account: int) -> tuple[int, str]:
        """`vcl ...` as bank `account`, with that bank's keyring."""
        env = {
            "VCL_RPC_URL": self.anvil.rpc_url,
            "VCL_BUILD_DIR": str(BUILD_DIR),
            "VCL_DEPLOYMENT_FILE": str(self.deployment),
            "VCL_KEY_SOURCE": "dev",
            "VCL_DEV_ACCOUNT_INDEX": str(account),
            "VCL_VIN_SECRETS_FILE": str(self.keyring[account]),
        }
        get_settings.cache_clear()
        result = CliRunner().invoke(app, list(args), env=env)
        get_settings.cache_clear()
        return result.exit_code, result.output + (str(result.exception or ""))

    def settings(self, account: int) -> Settings:
        return Settings(
            rpc_url=self.anvil.rpc_url,
            key_source=KeySource.DEV,
            dev_account_index=account,
            build_dir=BUILD_DIR,
            deployment_file=self.deployment,
            vin_secrets_file=self.keyring[account],
        )

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()


@pytest.fixture(scope="module")
def consortium(anvil: LocalChain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    started = Consortium(anvil, tmp_path_factory.mktemp("rotation"))
    yield started
    started.stop()


def view(node: NodeProcess, vin: str) -> httpx.Response:
    with node.client(Role.AUDITOR) as client:
        return client.get(f"/v1/vehicles/{vin}")


def test_a_rotation_protects_new_vehicles_and_keeps_every_old_one(
    consortium: Consortium,
) -> None:
    bank_a = consortium.nodes[BANK_INDEX]
    bank_b = consortium.nodes[OTHER_BANK_INDEX]
    vcl: Callable[..., tuple[int, str]] = consortium.vcl
    before = random_vin()
    created = register(bank_a, before)
    assert created.status_code == 201, created.text
    assert created.json()["vehicle_id"] == "0x" + vehicle_id(before, FOUNDING).hex()

    # 1. Bank A rotates: a new secret in its keyring and in the export, and a proposal.
    export = consortium.directory / "handover.json"
    code, out = vcl("vin-secret", "rotate", "--export", str(export), account=BANK_INDEX)
    assert code == 0, out
    assert "proposal 1 created" in out
    (new_entry,) = read_keyring_file(export)
    new_secret = new_entry.secret
    assert stat.S_IMODE(os.stat(export).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(consortium.keyring[BANK_INDEX]).st_mode) == 0o600
    code, listing = vcl("governance", "list", account=BANK_INDEX)
    shown = "0x" + fingerprint(new_secret).to_bytes(32, "big")[:8].hex()
    assert f"rotate the VIN secret to fingerprint {shown}" in listing, listing

    # One bank cannot make it current alone.
    code, out = vcl("governance", "vote", "1", "--yes", account=BANK_INDEX)
    assert code == 0, out
    code, out = vcl("governance", "execute", "1", account=BANK_INDEX)
    assert code != 0
    assert "ConsortiumProposalNotPassed" in out

    code, out = vcl("governance", "vote", "1", "--yes", account=OTHER_BANK_INDEX)
    assert code == 0, out
    code, out = vcl("governance", "execute", "1", account=BANK_INDEX)
    assert code == 0, out

    # 2. Bank B has not imported the new secret: it refuses to register, and says why.
    after = random_vin()
    refused = register(bank_b, after)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "VinSecretNotHeld"
    assert "vcl vin-secret import" in refused.json()["message"]
    assert view(bank_b, before).status_code == 200  # reads still work
    code, out = vcl("vin-secret", "show", account=OTHER_BANK_INDEX)
    assert code == 1
    assert f"missing: the chain's current secret {shown}" in out

    # 3. Bank B imports it: its running node uses it from the next request.
    code, out = vcl("vin-secret", "import", str(export), account=OTHER_BANK_INDEX)
    assert code == 0, out
    assert f"imported VIN secret {shown}" in out
    code, out = vcl("vin-secret", "show", account=OTHER_BANK_INDEX)
    assert code == 0, out
    assert f"{shown}  added" in out
    assert out.count("current") == 1

    # A VIN registered under the founding secret gets no second record.
    again = register(bank_b, before)
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "VehicleRegisteredEarlier"

    # A new VIN: its id is the new secret's; the leaked founding secret's id names nothing.
    created = register(bank_b, after)
    assert created.status_code == 201, created.text
    new_id = created.json()["vehicle_id"]
    assert new_id == "0x" + vehicle_id(after, new_secret).hex()
    assert new_id != "0x" + vehicle_id(after, FOUNDING).hex()

    # Both banks find both vehicles by VIN.
    for node in (bank_a, bank_b):
        old_view = view(node, before)
        assert old_view.status_code == 200, old_view.text
        assert old_view.json()["vehicle_id"] == "0x" + vehicle_id(before, FOUNDING).hex()
        new_view = view(node, after)
        assert new_view.status_code == 200, new_view.text
        assert new_view.json()["vehicle_id"] == new_id

    # An oracle operator holding both secrets scores each vehicle under its own id.
    oracle = OracleNode.connect(consortium.settings(BANK_INDEX), OracleSettings(), dev_index=4)
    unregistered = random_vin()
    assert oracle.vehicle_ids([before, after, unregistered]) == [
        vehicle_id(before, FOUNDING),
        vehicle_id(after, new_secret),
        vehicle_id(unregistered, new_secret),
    ]


def test_a_rotation_export_is_never_written_over(consortium: Consortium) -> None:
    existing = consortium.directory / "existing.json"
    existing.write_text("keep me")
    code, out = consortium.vcl(
        "vin-secret", "rotate", "--export", str(existing), account=BANK_INDEX
    )
    assert code != 0
    assert "never overwrites" in out
    assert existing.read_text() == "keep me"
