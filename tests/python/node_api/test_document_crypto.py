"""Envelopes v2: a data key per document, wrapped for each reader's X25519 key; what a
member left out, a recipient turned forger and a tampering store can and cannot do."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from node_api.documents import crypto
from node_api.documents.embedded import EmbeddedDocumentStore
from node_api.documents.errors import (
    EnvelopeFormatError,
    EnvelopeTampered,
    NoRecipients,
    NotARecipient,
)
from node_api.documents.keys import KeyId, Keyring, Recipient, new_keyring, usable_public_key
from vcl.cid import cid_string

PLAINTEXT = b'{"borrower": "Jane Roe", "vin": "1M8GDM9AXKP042788"}'
# Offsets in a v2 envelope (crypto's module docstring).
COUNT_AT = 4
COMMITMENT_AT = 6
ENTRIES_AT = 38
ENTRY_SIZE = 104


def published(member: str, version: int = 1) -> Keyring:
    keyring = new_keyring(member)
    return keyring.with_version(keyring.current.public_key, version)


def recipient(keyring: Keyring) -> Recipient:
    own = keyring.self_recipient()
    assert own is not None
    return own


BANK_A = published("0x" + "a1" * 20)
BANK_B = published("0x" + "b2" * 20, version=3)
AUDITOR = published("0x" + "ad" * 20)
# Not readers: the contract refuses their keys; were they to make one, nobody seals for it.
ISSUER = published("0x" + "15" * 20)
OPERATOR = published("0x" + "0a" * 20)
READERS = [recipient(BANK_A), recipient(BANK_B), recipient(AUDITOR)]


def entry_offset(index: int) -> int:
    return ENTRIES_AT + index * ENTRY_SIZE


def test_a_banks_document_opens_at_the_other_bank_and_the_auditor() -> None:
    sealed = crypto.seal(PLAINTEXT, READERS)

    for reader in (BANK_A, BANK_B, AUDITOR):
        opened = crypto.open_envelope(sealed.envelope, reader, sealed.content_hash)
        assert opened.plaintext == PLAINTEXT
    assert sealed.envelope.startswith(b"VCL2")
    assert len(sealed.envelope) == len(PLAINTEXT) + crypto.overhead(3)
    assert sealed.recipients == (
        KeyId(BANK_A.member, 1),
        KeyId(BANK_B.member, 3),
        KeyId(AUDITOR.member, 1),
    )
    assert crypto.recipients_of(sealed.envelope) == sealed.recipients


@pytest.mark.parametrize("outsider", [ISSUER, OPERATOR], ids=["issuer", "oracle-operator"])
def test_an_issuer_or_an_operator_cannot_open_it(outsider: Keyring) -> None:
    sealed = crypto.seal(PLAINTEXT, READERS)
    with pytest.raises(NotARecipient, match="names no key of it"):
        crypto.open_envelope(sealed.envelope, outsider)


def test_a_member_left_out_at_sealing_gets_no_key() -> None:
    """A bank removed before sealing is not among the readers: its key opens nothing."""
    sealed = crypto.seal(PLAINTEXT, [recipient(BANK_A), recipient(AUDITOR)])
    assert BANK_B.member not in {k.member for k in sealed.recipients}
    with pytest.raises(NotARecipient):
        crypto.open_envelope(sealed.envelope, BANK_B)


def test_the_anchor_is_a_salted_hash_only_a_reader_can_recompute() -> None:
    first = crypto.seal(PLAINTEXT, READERS)
    second = crypto.seal(PLAINTEXT, READERS)

    assert first.content_hash != hashlib.sha256(PLAINTEXT).digest()
    assert first.content_hash != second.content_hash  # a guess of the document confirms nothing
    opened = crypto.open_envelope(first.envelope, BANK_B)
    assert len(opened.salt) == 32
    assert hashlib.sha256(opened.salt + PLAINTEXT).digest() == first.content_hash
    assert opened.salt not in first.envelope  # the salt travels encrypted
    assert b"Jane Roe" not in first.envelope
    assert first.envelope != second.envelope


def test_cid_addresses_the_envelope(tmp_path: Path) -> None:
    store = EmbeddedDocumentStore(tmp_path)
    sealed = crypto.seal(PLAINTEXT, READERS)
    cid = store.add(sealed.envelope)
    assert cid == cid_string(sealed.envelope) != cid_string(PLAINTEXT)
    assert crypto.open_envelope(store.cat(cid), AUDITOR, sealed.content_hash).plaintext == PLAINTEXT


def test_an_envelope_of_another_anchor_is_refused() -> None:
    sealed = crypto.seal(PLAINTEXT, READERS)
    other = crypto.seal(b"another document", READERS)
    with pytest.raises(EnvelopeTampered, match="another content hash"):
        crypto.open_envelope(sealed.envelope, BANK_A, other.content_hash)


@pytest.mark.parametrize(
    ("position", "where"),
    [
        (COMMITMENT_AT, "commitment"),
        (entry_offset(0) + 30, "the ephemeral key of the reader's entry"),
        (entry_offset(0) + 70, "the reader's wrapped key"),
        (entry_offset(1) + 30, "another reader's entry"),
        (entry_offset(3), "the body nonce"),
        (entry_offset(3) + 20, "the body"),
        (-1, "the body's tag"),
    ],
)
def test_any_flipped_bit_is_tampering(position: int, where: str) -> None:
    envelope = bytearray(crypto.seal(PLAINTEXT, READERS).envelope)
    envelope[position] ^= 0x80
    with pytest.raises(EnvelopeTampered):
        crypto.open_envelope(bytes(envelope), BANK_A)


def test_a_changed_key_version_in_the_header_is_tampering() -> None:
    """Bank B's entry renamed to a version it also holds: the wrap is bound to its key id."""
    rotated = BANK_B.rotated()
    rotated = rotated.with_version(rotated.current.public_key, 4)
    envelope = bytearray(crypto.seal(PLAINTEXT, READERS).envelope)
    envelope[entry_offset(1) + 20 : entry_offset(1) + 24] = struct.pack(">I", 4)
    with pytest.raises(EnvelopeTampered):
        crypto.open_envelope(bytes(envelope), rotated)


def test_a_swapped_recipient_entry_fails() -> None:
    envelope = crypto.seal(PLAINTEXT, READERS).envelope
    a, b = entry_offset(0), entry_offset(1)
    # Bank A's and bank B's key ids exchanged: each now points at the other's wrapped key.
    renamed = bytearray(envelope)
    renamed[a : a + 24], renamed[b : b + 24] = envelope[b : b + 24], envelope[a : a + 24]
    with pytest.raises(EnvelopeTampered):
        crypto.open_envelope(bytes(renamed), BANK_A)
    # Whole entries exchanged: each unwraps, but the header is not the one sealed.
    reordered = (
        envelope[:a] + envelope[b : b + ENTRY_SIZE] + envelope[a:b] + envelope[b + ENTRY_SIZE :]
    )
    with pytest.raises(EnvelopeTampered, match="fails authentication"):
        crypto.open_envelope(reordered, BANK_A)


def test_a_reader_cannot_add_an_outsider_to_an_envelope() -> None:
    """Bank A knows the data key once it opens the envelope; an entry it adds for the
    issuer changes the header, so no reader's copy authenticates any more."""
    sealed = crypto.seal(PLAINTEXT, READERS)
    for_issuer = crypto.seal(PLAINTEXT, [recipient(ISSUER)]).envelope
    extra_entry = for_issuer[ENTRIES_AT : ENTRIES_AT + ENTRY_SIZE]
    envelope = sealed.envelope
    grown = (
        envelope[:COUNT_AT]
        + struct.pack(">H", 4)
        + envelope[COMMITMENT_AT : entry_offset(3)]
        + extra_entry
        + envelope[entry_offset(3) :]
    )
    with pytest.raises(EnvelopeTampered):
        crypto.open_envelope(grown, BANK_B)


def test_an_issuer_cannot_show_two_readers_two_documents() -> None:
    """Wrapping another data key for one reader is caught by the header's commitment."""
    for_a = crypto.seal(PLAINTEXT, [recipient(BANK_A), recipient(BANK_B)]).envelope
    for_b_only = crypto.seal(b"a different report", [recipient(BANK_B)]).envelope
    b_entry = for_b_only[ENTRIES_AT : ENTRIES_AT + ENTRY_SIZE]
    spliced = for_a[: entry_offset(1)] + b_entry + for_a[entry_offset(2) :]
    with pytest.raises(EnvelopeTampered, match="commits to"):
        crypto.open_envelope(spliced, BANK_B)


def test_after_rotation_old_and_new_documents_open() -> None:
    old = crypto.seal(b"sealed for v3", [recipient(BANK_B)])
    rotated = BANK_B.rotated()
    rotated = rotated.with_version(rotated.current.public_key, 4)
    new = crypto.seal(b"sealed for v4", [recipient(rotated)])

    assert crypto.open_envelope(old.envelope, rotated).plaintext == b"sealed for v3"
    assert crypto.open_envelope(new.envelope, rotated).plaintext == b"sealed for v4"
    assert new.recipients == (KeyId(BANK_B.member, 4),)
    # The old keyring never had v4; a keyring that lost v3 no longer opens the old one.
    with pytest.raises(NotARecipient, match="names v4"):
        crypto.open_envelope(new.envelope, BANK_B)
    lost = Keyring(rotated.member, rotated.pairs[1:])
    with pytest.raises(NotARecipient, match="holds v4"):
        crypto.open_envelope(old.envelope, lost)


@pytest.mark.parametrize(
    ("envelope", "message"),
    [
        (b"%PDF-1.7 plain", "not a VCL2 envelope"),
        (b"VCL1" + bytes(60), "not a VCL2 envelope"),  # the shared-key format is gone
        (b"VCL2" + bytes(20), "truncated"),
        (b"VCL2" + struct.pack(">H", 0) + bytes(100), "1 to 512 recipients"),
        (b"VCL2" + struct.pack(">H", 2) + bytes(150), "truncated for 2 recipients"),
    ],
)
def test_not_an_envelope(envelope: bytes, message: str) -> None:
    with pytest.raises(EnvelopeFormatError, match=message):
        crypto.open_envelope(envelope, BANK_A)


def test_sealing_needs_distinct_usable_recipients() -> None:
    with pytest.raises(NoRecipients):
        crypto.seal(PLAINTEXT, [])
    with pytest.raises(ValueError, match="named twice"):
        crypto.seal(PLAINTEXT, [recipient(BANK_A), recipient(BANK_A)])
    # A member publishing a low-order point: X25519 refuses it, readers leave it out.
    low_order = Recipient(KeyId(BANK_A.member, 9), bytes(32))
    assert not usable_public_key(bytes(32))
    assert usable_public_key(recipient(BANK_A).public_key)
    with pytest.raises(ValueError, match="not usable"):
        crypto.seal(PLAINTEXT, [low_order])
