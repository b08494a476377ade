"""AES-256-GCM envelopes: documents are encrypted before they leave the node.

Documents can hold personal data and IPFS content is readable by anyone who has the
CID, so only envelopes are stored. In this version every consortium member holds the
same 32-byte document key (a setting), which lets any member open any document.

Envelope (version 1): b"VCL1" | nonce (12 random bytes) | ciphertext | GCM tag (16).
The associated data is b"VCL1" | sha256(plaintext), the hash anchored on-chain, so an
envelope only opens against the anchor it was sealed for. Because any key holder could
seal other bytes under a claimed hash, `open_envelope` also re-hashes the plaintext.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from node_api.documents.errors import EnvelopeFormatError, EnvelopeTampered
from vcl.errors import ConfigError

MAGIC = b"VCL1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
OVERHEAD = len(MAGIC) + NONCE_BYTES + TAG_BYTES


def sha256(plaintext: bytes) -> bytes:
    """The 32-byte hash that goes on-chain: it commits to the plaintext, not the envelope."""
    return hashlib.sha256(plaintext).digest()


def seal(plaintext: bytes, key: bytes) -> bytes:
    """The envelope of `plaintext` under the consortium document key."""
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = _cipher(key).encrypt(nonce, plaintext, _associated_data(sha256(plaintext)))
    return MAGIC + nonce + ciphertext


def open_envelope(envelope: bytes, key: bytes, plaintext_sha256: bytes) -> bytes:
    """The plaintext of `envelope`, which must have been sealed for `plaintext_sha256`."""
    if len(plaintext_sha256) != hashlib.sha256().digest_size:
        raise ValueError("plaintext_sha256 must be a 32-byte sha256 digest")
    if not envelope.startswith(MAGIC):
        raise EnvelopeFormatError(f"not a {MAGIC.decode()} envelope (magic {envelope[:4]!r})")
    if len(envelope) < OVERHEAD:
        raise EnvelopeFormatError(f"envelope of {len(envelope)} bytes is truncated")
    nonce = envelope[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
    ciphertext = envelope[len(MAGIC) + NONCE_BYTES :]
    try:
        plaintext = _cipher(key).decrypt(nonce, ciphertext, _associated_data(plaintext_sha256))
    except InvalidTag:
        raise EnvelopeTampered(
            "envelope fails authentication: altered, sealed under another key, "
            "or sealed for another document hash"
        ) from None
    if not hmac.compare_digest(sha256(plaintext), plaintext_sha256):
        raise EnvelopeTampered("envelope authenticates but its plaintext has another sha256")
    return plaintext


def _cipher(key: bytes) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise ConfigError(f"the document key must be {KEY_BYTES} bytes, got {len(key)}")
    return AESGCM(key)


def _associated_data(plaintext_sha256: bytes) -> bytes:
    return MAGIC + plaintext_sha256
