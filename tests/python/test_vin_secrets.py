"""The VIN keyring on its own: which secret is current, which id a VIN registers under, and
the keyring file (tampering, permissions, weak secrets in production, reload)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from vcl.config import KeySource, Mode, Settings
from vcl.errors import ConfigError
from vcl.vin import vehicle_id
from vcl.vin_secrets import (
    KeyringEntry,
    KeyringSource,
    VehicleRegisteredEarlier,
    VinKeyring,
    VinSecretNotHeld,
    add_to_keyring_file,
    fingerprint,
    keyring_of,
    read_keyring_file,
    registered_id,
    registration_id,
    write_keyring_file,
)

VIN = "1HGCM82633A004352"
FOUNDING = b"founding-secret-of-the-test-consortium"
ROTATED = b"rotated-secret-after-a-suspected-leak!!"
STRONG = "q8VhZ2pQxL0bR7tN3mKcW9yF4sJdA6uE1oGiT5nHzXk"  # what `new_secret()` looks like


def registry_of(*ids: bytes) -> object:
    """A registry holding exactly `ids` (the check the node asks the chain)."""

    def check(candidates: Sequence[bytes]) -> list[bool]:
        return [candidate in ids for candidate in candidates]

    return check


def test_a_fingerprint_names_a_secret_without_revealing_it() -> None:
    assert fingerprint(FOUNDING) == fingerprint(FOUNDING)
    assert fingerprint(FOUNDING) != fingerprint(ROTATED)
    assert 0 < fingerprint(FOUNDING) < 2**256
    assert FOUNDING.hex() not in hex(fingerprint(FOUNDING))


def test_the_current_secret_is_the_one_the_chain_names() -> None:
    keyring = VinKeyring((KeyringEntry(FOUNDING, "founding"), KeyringEntry(ROTATED, "later")))
    assert keyring.current(fingerprint(ROTATED)) == ROTATED
    assert keyring.current(fingerprint(FOUNDING)) == FOUNDING
    assert keyring.current(0) == FOUNDING  # a consortium from before the parameter
    with pytest.raises(VinSecretNotHeld, match="vcl vin-secret import"):
        keyring.current(fingerprint(b"a secret this node never received"))


def test_a_vin_registered_under_an_earlier_secret_gets_no_second_record() -> None:
    keyring = VinKeyring((KeyringEntry(FOUNDING, "founding"), KeyringEntry(ROTATED, "later")))
    old_id = vehicle_id(VIN, FOUNDING)
    with pytest.raises(VehicleRegisteredEarlier) as refused:
        registration_id(keyring, VIN, fingerprint(ROTATED), registry_of(old_id))
    assert refused.value.vehicle == old_id
    new_id = registration_id(keyring, VIN, fingerprint(ROTATED), registry_of())
    assert new_id == vehicle_id(VIN, ROTATED)
    # Found under whichever secret registered it; None when no secret did.
    assert registered_id(keyring, VIN, registry_of(old_id)) == old_id
    assert registered_id(keyring, VIN, registry_of(new_id)) == new_id
    assert registered_id(keyring, VIN, registry_of()) is None


def test_one_secret_needs_no_chain_call() -> None:
    keyring = VinKeyring((KeyringEntry(FOUNDING, "founding"),))

    def no_call(_ids: Sequence[bytes]) -> list[bool]:
        raise AssertionError("asked the chain")

    assert registered_id(keyring, VIN, no_call) == vehicle_id(VIN, FOUNDING)
    assert registration_id(keyring, VIN, fingerprint(FOUNDING), no_call) == vehicle_id(
        VIN, FOUNDING
    )


def test_the_keyring_file_is_private_and_refuses_an_altered_secret(tmp_path: Path) -> None:
    path = tmp_path / "vin-secrets.json"
    entry = KeyringEntry(ROTATED, "2026-12-08T00:00:00+00:00")
    assert add_to_keyring_file(path, [entry]) == [entry]
    assert add_to_keyring_file(path, [entry]) == []  # imported twice: kept once
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [e.secret for e in read_keyring_file(path)] == [ROTATED]

    data = json.loads(path.read_text())
    data["secrets"][0]["secret"] = "another-secret-typed-in-by-hand"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="does not match its fingerprint"):
        read_keyring_file(path)
    path.write_text('{"format": "something else"}')
    with pytest.raises(ConfigError, match="not a vcl-vin-secrets/1 file"):
        read_keyring_file(path)


def production(tmp_path: Path, file: Path) -> Settings:
    return Settings(
        mode=Mode.PRODUCTION,
        key_source=KeySource.ENV,
        private_key="0x" + hashlib.sha256(b"a test key, not anvil's").hexdigest(),
        vin_secret=STRONG,
        vin_secrets_file=file,
        deployment_file=tmp_path / "deployments.json",
    )


def test_production_refuses_a_readable_keyring_and_a_weak_secret(tmp_path: Path) -> None:
    path = tmp_path / "vin-secrets.json"
    write_keyring_file(path, [KeyringEntry(STRONG[::-1].encode(), "later")])
    assert len(keyring_of(production(tmp_path, path)).entries) == 2
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        keyring_of(production(tmp_path, path))
    write_keyring_file(path, [KeyringEntry(b"changeme-changeme-changeme-changeme", "later")])
    with pytest.raises(ConfigError, match="generate one"):
        keyring_of(production(tmp_path, path))


def test_a_running_process_sees_an_imported_secret(tmp_path: Path) -> None:
    path = tmp_path / "vin-secrets.json"
    source = KeyringSource(Settings(vin_secret=FOUNDING.decode(), vin_secrets_file=path))
    assert [e.secret for e in source.keyring().entries] == [FOUNDING]
    add_to_keyring_file(path, [KeyringEntry(ROTATED, "later")])
    assert [e.secret for e in source.keyring().entries] == [FOUNDING, ROTATED]
