"""Envelopes: each document encrypted under its own data key, wrapped for each reader.

Documents can hold personal data and IPFS content is readable by anyone who has the CID,
so only envelopes are stored. No key is shared between members: a fresh 32-byte data key
encrypts the document (AES-256-GCM), and the data key is wrapped for each recipient's
X25519 public key (an ephemeral key pair per recipient, ECDH, HKDF-SHA256, AES-256-GCM).
Only a recipient's private key opens it, so a member who leaves, or whose key leaks,
exposes no document sealed for others, and a member left out at sealing gets nothing.

Envelope (version 2), every integer big-endian:

    b"VCL2" | count (u16) | commitment (32) | count x entry | nonce (12) | body
    entry = member (20) | key version (u32) | ephemeral public key (32) | wrapped key (48)
    body  = AES-256-GCM(data key, nonce, salt (32) | plaintext, associated data = header)

The header (everything before the body) is the body's associated data, so a changed
recipient list, key id or commitment fails authentication. Each wrap's key is derived from
its member and key version as well, so an entry moved to another member does not unwrap.
`commitment` is sha256 of the data key: AES-GCM is not key-committing, and without it an
issuer could wrap different data keys for different readers so that one ciphertext shows
each of them another document.

The anchor is the salted content hash sha256(salt | plaintext). The salt travels inside
the encrypted body, so only a reader can recompute the anchor from a document it holds;
sha256(plaintext) alone would let anyone confirm a guess of a well-known document.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_utils.address import to_canonical_address, to_checksum_address

from node_api.documents.errors import (
    EnvelopeFormatError,
    EnvelopeTampered,
    NoRecipients,
    NotARecipient,
)
from node_api.documents.keys import KeyId, Keyring, Recipient, public_key_of

MAGIC = b"VCL2"
KEY_BYTES = 32
SALT_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_COUNT = struct.Struct(">H")
_ENTRY = struct.Struct(">20sI32s48s")
_FIXED_HEADER = len(MAGIC) + _COUNT.size + 32 + NONCE_BYTES
# The most recipients a header may name: a consortium has tens of banks and auditors,
# and this bounds what a node reads for an envelope (`MAX_OVERHEAD`).
MAX_RECIPIENTS = 512
# A wrap's key is used once (fresh ephemeral key), so a constant nonce is safe.
_WRAP_NONCE = bytes(NONCE_BYTES)
_WRAP_INFO = MAGIC + b" data key wrap"
_COMMITMENT_LABEL = MAGIC + b" data key commitment"


def overhead(recipients: int) -> int:
    """Bytes an envelope adds to its plaintext for `recipients` wrapped keys."""
    return _FIXED_HEADER + recipients * _ENTRY.size + SALT_BYTES + TAG_BYTES


MAX_OVERHEAD = overhead(MAX_RECIPIENTS)


def salted_hash(salt: bytes, plaintext: bytes) -> bytes:
    """The 32-byte hash anchored on-chain: sha256(salt | plaintext)."""
    return hashlib.sha256(salt + plaintext).digest()


@dataclass(frozen=True)
class Sealed:
    envelope: bytes
    content_hash: bytes  # salted: the value to sign and anchor
    recipients: tuple[KeyId, ...]


@dataclass(frozen=True)
class Opened:
    plaintext: bytes
    salt: bytes
    recipients: tuple[KeyId, ...]

    @property
    def content_hash(self) -> bytes:
        return salted_hash(self.salt, self.plaintext)


@dataclass(frozen=True)
class _Entry:
    key_id: KeyId
    ephemeral_public: bytes
    wrapped: bytes


def seal(plaintext: bytes, recipients: Sequence[Recipient]) -> Sealed:
    """The envelope of `plaintext` for `recipients` (one key each), and its salted hash.

    Raises `NoRecipients` for an empty list (nobody could ever open it) and `ValueError`
    for a member named twice or a public key X25519 refuses (a low-order point)."""
    if not recipients:
        raise NoRecipients("no recipient to seal the document for: nobody could open it")
    if len(recipients) > MAX_RECIPIENTS:
        raise ValueError(f"at most {MAX_RECIPIENTS} recipients, got {len(recipients)}")
    members = [r.key_id.member for r in recipients]
    if len(set(members)) != len(members):
        raise ValueError("a member is named twice among the recipients")
    data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    entries = [_wrap(data_key, r) for r in recipients]
    nonce = os.urandom(NONCE_BYTES)
    header = _header(_commitment(data_key), entries, nonce)
    salt = os.urandom(SALT_BYTES)
    body = AESGCM(data_key).encrypt(nonce, salt + plaintext, header)
    return Sealed(
        envelope=header + body,
        content_hash=salted_hash(salt, plaintext),
        recipients=tuple(r.key_id for r in recipients),
    )


def recipients_of(envelope: bytes) -> tuple[KeyId, ...]:
    """The key ids an envelope names (unauthenticated until it is opened)."""
    return tuple(e.key_id for e in _parse(envelope)[1])


def open_envelope(envelope: bytes, keyring: Keyring, expected_hash: bytes | None = None) -> Opened:
    """The plaintext and salt of `envelope`, opened with this member's `keyring`.

    With `expected_hash` (the anchor), the salted hash of the plaintext must equal it.
    Raises `EnvelopeFormatError` (not a v2 envelope), `NotARecipient` (no entry for a key
    of this keyring: not sealed for this member, or for a key it no longer holds) and
    `EnvelopeTampered` (authentication fails, or another hash than the anchor's)."""
    if expected_hash is not None and len(expected_hash) != hashlib.sha256().digest_size:
        raise ValueError("expected_hash must be a 32-byte sha256 digest")
    commitment, entries, header = _parse(envelope)
    data_key = _unwrap_own(entries, keyring)
    if not hmac.compare_digest(_commitment(data_key), commitment):
        raise EnvelopeTampered("the wrapped data key is not the one the header commits to")
    nonce = header[-NONCE_BYTES:]
    try:
        body = AESGCM(data_key).decrypt(nonce, envelope[len(header) :], header)
    except InvalidTag:
        raise EnvelopeTampered(
            "envelope fails authentication: its header or body was altered"
        ) from None
    if len(body) < SALT_BYTES:
        raise EnvelopeTampered("the authenticated body is shorter than its salt")
    opened = Opened(body[SALT_BYTES:], body[:SALT_BYTES], tuple(e.key_id for e in entries))
    if expected_hash is not None and not hmac.compare_digest(opened.content_hash, expected_hash):
        raise EnvelopeTampered("the envelope opens to a document of another content hash")
    return opened


def _commitment(data_key: bytes) -> bytes:
    return hashlib.sha256(_COMMITMENT_LABEL + data_key).digest()


def _wrap_key(shared: bytes, key_id: KeyId, ephemeral: bytes, recipient: bytes) -> bytes:
    info = _WRAP_INFO + _key_id_bytes(key_id) + ephemeral + recipient
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(shared)


def _key_id_bytes(key_id: KeyId) -> bytes:
    return to_canonical_address(key_id.member) + struct.pack(">I", key_id.version)


def _wrap(data_key: bytes, recipient: Recipient) -> _Entry:
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    try:
        shared = ephemeral.exchange(public_key_of(recipient.public_key))
    except ValueError:  # OpenSSL refuses a low-order point (an all-zero shared secret)
        raise ValueError(f"the published key of {recipient.key_id} is not usable") from None
    kek = _wrap_key(shared, recipient.key_id, ephemeral_public, recipient.public_key)
    wrapped = AESGCM(kek).encrypt(_WRAP_NONCE, data_key, MAGIC + _key_id_bytes(recipient.key_id))
    return _Entry(recipient.key_id, ephemeral_public, wrapped)


def _unwrap_own(entries: Sequence[_Entry], keyring: Keyring) -> bytes:
    own = [e for e in entries if e.key_id.member == keyring.member]
    for entry in own:
        pair = keyring.pair(entry.key_id.version)
        if pair is None:
            continue
        try:
            shared = pair.private().exchange(public_key_of(entry.ephemeral_public))
        except ValueError:
            raise EnvelopeTampered(f"the ephemeral key of {entry.key_id} is unusable") from None
        kek = _wrap_key(shared, entry.key_id, entry.ephemeral_public, pair.public_key)
        try:
            return AESGCM(kek).decrypt(
                _WRAP_NONCE, entry.wrapped, MAGIC + _key_id_bytes(entry.key_id)
            )
        except InvalidTag:
            raise EnvelopeTampered(
                f"the data key wrapped for {entry.key_id} fails authentication"
            ) from None
    named = ", ".join(f"v{e.key_id.version}" for e in own) or "no key"
    held = ", ".join(f"v{v}" for v in keyring.versions()) or "none published"
    raise NotARecipient(
        f"not sealed for this member ({keyring.member}): the envelope names {named} of it, "
        f"this node holds {held}"
    )


def _header(commitment: bytes, entries: Sequence[_Entry], nonce: bytes) -> bytes:
    parts = [MAGIC, _COUNT.pack(len(entries)), commitment]
    parts += [
        _ENTRY.pack(
            to_canonical_address(e.key_id.member),
            e.key_id.version,
            e.ephemeral_public,
            e.wrapped,
        )
        for e in entries
    ]
    parts.append(nonce)
    return b"".join(parts)


def _parse(envelope: bytes) -> tuple[bytes, list[_Entry], bytes]:
    """(commitment, entries, header bytes) of an envelope, its lengths checked."""
    if not envelope.startswith(MAGIC):
        raise EnvelopeFormatError(f"not a {MAGIC.decode()} envelope (magic {envelope[:4]!r})")
    if len(envelope) < _FIXED_HEADER:
        raise EnvelopeFormatError(f"envelope of {len(envelope)} bytes is truncated")
    (count,) = _COUNT.unpack_from(envelope, len(MAGIC))
    header_size = _FIXED_HEADER + count * _ENTRY.size
    if not 0 < count <= MAX_RECIPIENTS:
        raise EnvelopeFormatError(
            f"an envelope names 1 to {MAX_RECIPIENTS} recipients, not {count}"
        )
    if len(envelope) < header_size + SALT_BYTES + TAG_BYTES:
        raise EnvelopeFormatError(
            f"envelope of {len(envelope)} bytes is truncated for {count} recipients"
        )
    offset = len(MAGIC) + _COUNT.size
    commitment = envelope[offset : offset + 32]
    offset += 32
    entries = []
    for _ in range(count):
        member, version, ephemeral, wrapped = _ENTRY.unpack_from(envelope, offset)
        entries.append(_Entry(KeyId(to_checksum_address(member), version), ephemeral, wrapped))
        offset += _ENTRY.size
    return commitment, entries, envelope[:header_size]
