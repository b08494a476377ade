from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from node_api.documents import crypto
from node_api.documents.embedded import EmbeddedDocumentStore
from node_api.documents.errors import EnvelopeFormatError, EnvelopeTampered
from vcl.cid import cid_string
from vcl.errors import ConfigError

KEY = bytes.fromhex("6b" * 32)
PLAINTEXT = b'{"borrower": "Jane Roe", "vin": "1M8GDM9AXKP042788"}'
ANCHOR = crypto.sha256(PLAINTEXT)


def test_round_trip() -> None:
    envelope = crypto.seal(PLAINTEXT, KEY)
    assert envelope.startswith(b"VCL1")
    assert len(envelope) == len(PLAINTEXT) + crypto.OVERHEAD
    assert crypto.open_envelope(envelope, KEY, ANCHOR) == PLAINTEXT


def test_envelope_hides_the_plaintext_and_never_repeats() -> None:
    first, second = crypto.seal(PLAINTEXT, KEY), crypto.seal(PLAINTEXT, KEY)
    assert b"Jane Roe" not in first
    assert first != second  # fresh random nonce each time


def test_cid_addresses_the_ciphertext_and_the_anchor_the_plaintext(tmp_path: Path) -> None:
    store = EmbeddedDocumentStore(tmp_path)
    envelope = crypto.seal(PLAINTEXT, KEY)
    cid = store.add(envelope)
    assert cid == cid_string(envelope) != cid_string(PLAINTEXT)
    assert hashlib.sha256(PLAINTEXT).digest() == ANCHOR
    assert crypto.open_envelope(store.cat(cid), KEY, ANCHOR) == PLAINTEXT


@pytest.mark.parametrize("position", [4, 10, 20, -1])  # nonce, ciphertext, tag
def test_any_flipped_bit_is_tampering(position: int) -> None:
    envelope = bytearray(crypto.seal(PLAINTEXT, KEY))
    envelope[position] ^= 0x80
    with pytest.raises(EnvelopeTampered):
        crypto.open_envelope(bytes(envelope), KEY, ANCHOR)


def test_wrong_key_or_other_anchor_fails() -> None:
    envelope = crypto.seal(PLAINTEXT, KEY)
    with pytest.raises(EnvelopeTampered):
        crypto.open_envelope(envelope, os.urandom(32), ANCHOR)
    with pytest.raises(EnvelopeTampered):
        crypto.open_envelope(envelope, KEY, crypto.sha256(b"another document"))


def test_a_key_holder_cannot_seal_other_bytes_under_an_anchor() -> None:
    """Any member holds the key, so it could bind forged bytes to a real anchor as
    associated data; opening re-hashes the plaintext and refuses it."""
    nonce = os.urandom(12)
    forged = b"VCL1" + nonce + AESGCM(KEY).encrypt(nonce, b"forged", b"VCL1" + ANCHOR)
    with pytest.raises(EnvelopeTampered, match="another sha256"):
        crypto.open_envelope(forged, KEY, ANCHOR)


@pytest.mark.parametrize(
    ("envelope", "message"),
    [(b"%PDF-1.7 plain", "not a VCL1 envelope"), (b"VCL1" + bytes(20), "truncated")],
)
def test_not_an_envelope(envelope: bytes, message: str) -> None:
    with pytest.raises(EnvelopeFormatError, match=message):
        crypto.open_envelope(envelope, KEY, ANCHOR)


def test_key_must_be_32_bytes() -> None:
    with pytest.raises(ConfigError, match="32 bytes, got 16"):
        crypto.seal(PLAINTEXT, KEY[:16])
