"""The keyring file: private keys kept 0600, never shown, never silently replaced; rotation
keeps the old pairs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from node_api.documents import crypto
from node_api.documents.keys import (
    DocumentKeyError,
    load_keyring,
    new_keyring,
    recipients_with,
    save_keyring,
)

MEMBER = "0x" + "a1" * 20


def test_a_new_keyring_is_private_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "document-keys.json"
    keyring = new_keyring(MEMBER)
    save_keyring(keyring, path, create=True)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(path) == keyring
    assert keyring.current.private_key.hex() not in repr(keyring)
    assert keyring.published is None  # nobody seals for it before it is published


def test_create_never_replaces_existing_keys(tmp_path: Path) -> None:
    path = tmp_path / "document-keys.json"
    first = new_keyring(MEMBER)
    save_keyring(first, path, create=True)
    with pytest.raises(DocumentKeyError, match="exists already"):
        save_keyring(new_keyring(MEMBER), path, create=True)
    assert load_keyring(path) == first


def test_a_keyring_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "document-keys.json"
    save_keyring(new_keyring(MEMBER), path, create=True)
    path.chmod(0o644)
    with pytest.raises(DocumentKeyError, match="chmod 600"):
        load_keyring(path)


def test_a_malformed_keyring_is_refused_without_quoting_a_key(tmp_path: Path) -> None:
    path = tmp_path / "document-keys.json"
    keyring = new_keyring(MEMBER)
    save_keyring(keyring, path, create=True)
    data = json.loads(path.read_text())
    secret = data["keys"][0]["private_key"]
    data["keys"][0]["public_key"] = "00" * 32  # not the private key's public key
    path.write_text(json.dumps(data))
    with pytest.raises(DocumentKeyError, match="not the private key's") as refused:
        load_keyring(path)
    assert secret not in str(refused.value)

    path.write_text('{"format": "vcl-document-keyring/1", "keys": [' + secret)
    with pytest.raises(DocumentKeyError, match="not readable JSON") as refused:
        load_keyring(path)
    assert secret not in str(refused.value)
    path.unlink()
    with pytest.raises(DocumentKeyError, match="document-key create"):
        load_keyring(path)


def test_rotation_keeps_old_pairs_and_versions(tmp_path: Path) -> None:
    path = tmp_path / "document-keys.json"
    keyring = new_keyring(MEMBER)
    keyring = keyring.with_version(keyring.current.public_key, 1)
    old = crypto.seal(b"before rotation", [recipients_with([], keyring.self_recipient())[0]])
    rotated = keyring.rotated()
    save_keyring(rotated, path)

    reloaded = load_keyring(path)
    assert len(reloaded.pairs) == 2
    assert reloaded.current.version is None  # until `publish` records the chain's number
    assert reloaded.published == keyring.current  # others still seal for v1 meanwhile
    assert crypto.open_envelope(old.envelope, reloaded).plaintext == b"before rotation"
    with pytest.raises(DocumentKeyError, match="not in this keyring"):
        reloaded.with_version(new_keyring(MEMBER).current.public_key, 2)


def test_the_uploading_member_is_added_once() -> None:
    keyring = new_keyring(MEMBER)
    keyring = keyring.with_version(keyring.current.public_key, 2)
    own = keyring.self_recipient()
    assert own is not None
    other = new_keyring("0x" + "b2" * 20)
    other = other.with_version(other.current.public_key, 1)
    reader = other.self_recipient()
    assert reader is not None
    assert recipients_with([reader], own) == (reader, own)
    assert recipients_with([reader, own], own) == (reader, own)
    assert recipients_with([reader], None) == (reader,)  # an issuer's node adds nobody


def test_a_version_names_one_key(tmp_path: Path) -> None:
    """A keyring that outlived its chain (a redeployed development consortium): its new key
    gets version 1 again, and the old pair stops claiming it, so the file still loads."""
    path = tmp_path / "document-keys.json"
    keyring = new_keyring(MEMBER)
    keyring = keyring.with_version(keyring.current.public_key, 1).rotated()
    keyring = keyring.with_version(keyring.current.public_key, 1)
    save_keyring(keyring, path)

    reloaded = load_keyring(path)
    assert [p.version for p in reloaded.pairs] == [None, 1]
    assert reloaded.pair(1) == reloaded.current
