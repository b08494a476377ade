"""A member's document keys: X25519 key pairs, the keyring file that holds them, and the
key id (member address, on-chain key version) that names one in an envelope.

Each bank and auditor node holds its own private keys; only the public key leaves the
node, published on-chain with `Consortium.setDocumentKey`, which numbers it (the version).
Rotating adds a pair and keeps the old ones, so envelopes sealed for an older version
still open. The file is JSON, created with mode 0600 and refused when group or others can
read it (like ssh's private keys); private keys never appear in a repr, a log or an error.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from eth_typing import ChecksumAddress
from eth_utils.address import is_address, to_checksum_address

from vcl.durable_files import write_atomically
from vcl.errors import VclError

FORMAT = "vcl-document-keyring/1"
PUBLIC_KEY_BYTES = 32
_PRIVATE_MODE = 0o600


class DocumentKeyError(VclError):
    """A keyring file is missing, malformed, readable by others, or of another member."""


@dataclass(frozen=True)
class KeyId:
    """Names a recipient's key in an envelope: the member and the on-chain key version."""

    member: ChecksumAddress
    version: int

    def __str__(self) -> str:
        return f"{self.member} key v{self.version}"


@dataclass(frozen=True)
class Recipient:
    """A reader's published key, as sealing uses it."""

    key_id: KeyId
    public_key: bytes

    def __post_init__(self) -> None:
        if len(self.public_key) != PUBLIC_KEY_BYTES:
            raise ValueError(f"an X25519 public key is 32 bytes, got {len(self.public_key)}")


@dataclass(frozen=True)
class KeyPair:
    """One pair of the keyring; `version` is None until the public key is published."""

    public_key: bytes
    private_key: bytes = field(repr=False)
    created_at: str
    version: int | None = None

    @classmethod
    def generate(cls) -> KeyPair:
        private = X25519PrivateKey.generate()
        return cls(
            public_key=private.public_key().public_bytes_raw(),
            private_key=private.private_bytes_raw(),
            created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        )

    def private(self) -> X25519PrivateKey:
        return X25519PrivateKey.from_private_bytes(self.private_key)


@dataclass(frozen=True)
class Keyring:
    """Every document key pair of one member, oldest first; the last is the current one."""

    member: ChecksumAddress
    pairs: tuple[KeyPair, ...]

    @property
    def current(self) -> KeyPair:
        return self.pairs[-1]

    def pair(self, version: int) -> KeyPair | None:
        """The pair published as `version`, if this keyring holds it."""
        return next((p for p in self.pairs if p.version == version), None)

    @property
    def published(self) -> KeyPair | None:
        """The newest pair with a version: the one other members seal for."""
        return next((p for p in reversed(self.pairs) if p.version is not None), None)

    def self_recipient(self) -> Recipient | None:
        """This member as a recipient of its own uploads, from its newest published pair."""
        pair = self.published
        if pair is None or pair.version is None:
            return None
        return Recipient(KeyId(self.member, pair.version), pair.public_key)

    def versions(self) -> list[int]:
        return [p.version for p in self.pairs if p.version is not None]

    def rotated(self) -> Keyring:
        """This keyring with a new current pair (unpublished); the old pairs are kept."""
        return replace(self, pairs=(*self.pairs, KeyPair.generate()))

    def with_version(self, public_key: bytes, version: int) -> Keyring:
        """This keyring with the pair of `public_key` recorded as published as `version`."""
        if not any(p.public_key == public_key for p in self.pairs):
            raise DocumentKeyError("the published key is not in this keyring")
        pairs = []
        for pair in self.pairs:
            if pair.public_key == public_key:
                pairs.append(replace(pair, version=version))
            elif pair.version == version:
                # A version names one key: this pair had it on another chain (a redeployed
                # development consortium), where it names nothing any more.
                pairs.append(replace(pair, version=None))
            else:
                pairs.append(pair)
        return replace(self, pairs=tuple(pairs))


def new_keyring(member: str) -> Keyring:
    return Keyring(to_checksum_address(member), (KeyPair.generate(),))


def load_keyring(path: Path) -> Keyring:
    """The keyring in `path`; refused if group or others may read it or it is malformed."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise DocumentKeyError(
            f"no document key file {path}: create one with `vcl node document-key create`"
        ) from None
    except OSError as exc:
        raise DocumentKeyError(f"cannot read the document key file {path}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise DocumentKeyError(
            f"the document key file {path} is accessible to group or others "
            f"(mode {stat.S_IMODE(mode):o}): run `chmod 600 {path}`"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        # Only the error's type: a JSON error quotes the document, which holds private keys.
        raise DocumentKeyError(
            f"the document key file {path} is not readable JSON ({type(exc).__name__})"
        ) from None
    return _parse(data, path)


def save_keyring(keyring: Keyring, path: Path, *, create: bool = False) -> None:
    """Write `keyring` to `path` with mode 0600, atomically. With `create`, refuse to
    replace an existing file: overwriting private keys would lose every envelope they open."""
    if create and path.exists():
        raise DocumentKeyError(f"{path} exists already: rotate with `vcl node document-key rotate`")
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(_as_json(keyring), indent=1).encode()
    try:
        # With `create`, a link that fails if another process created the file meanwhile.
        # The rename is fsynced too: a key published but lost opens nothing.
        write_atomically(path, body, prefix=".keyring-", mode=_PRIVATE_MODE, exclusive=create)
    except FileExistsError:
        raise DocumentKeyError(f"{path} exists already") from None


def public_key_of(raw: bytes) -> X25519PublicKey:
    if len(raw) != PUBLIC_KEY_BYTES:
        raise ValueError(f"an X25519 public key is 32 bytes, got {len(raw)}")
    return X25519PublicKey.from_public_bytes(raw)


def usable_public_key(raw: bytes) -> bool:
    """Whether X25519 accepts `raw` for a key agreement: a member could publish a
    low-order point, for which every shared secret is zero."""
    try:
        X25519PrivateKey.generate().exchange(public_key_of(raw))
    except ValueError:
        return False
    return True


def _as_json(keyring: Keyring) -> dict[str, object]:
    return {
        "format": FORMAT,
        "member": keyring.member,
        "keys": [
            {
                "version": p.version,
                "public_key": p.public_key.hex(),
                "private_key": p.private_key.hex(),
                "created_at": p.created_at,
            }
            for p in keyring.pairs
        ],
    }


def _parse(data: object, path: Path) -> Keyring:
    def bad(what: str) -> DocumentKeyError:
        return DocumentKeyError(f"the document key file {path}: {what}")

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise bad(f"not a {FORMAT} file")
    member = data.get("member")
    if not isinstance(member, str) or not is_address(member):
        raise bad("member is not an address")
    entries = data.get("keys")
    if not isinstance(entries, list) or not entries:
        raise bad("no keys")
    pairs: list[KeyPair] = []
    for index, entry in enumerate(entries):
        try:
            pairs.append(_parse_pair(entry))
        except ValueError as exc:
            raise bad(f"key {index}: {exc}") from None
    versions = [p.version for p in pairs if p.version is not None]
    if len(set(versions)) != len(versions):
        raise bad("two keys with the same version")
    return Keyring(to_checksum_address(member), tuple(pairs))


def _parse_pair(entry: object) -> KeyPair:
    """One pair; `ValueError` saying what is wrong, never quoting a key."""
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    version = entry.get("version")
    if version is not None and (type(version) is not int or version < 1):
        raise ValueError("version must be a positive integer or null")
    try:
        private = bytes.fromhex(str(entry.get("private_key", "")))
        public = bytes.fromhex(str(entry.get("public_key", "")))
    except ValueError:
        raise ValueError("keys must be hex") from None
    if len(private) != PUBLIC_KEY_BYTES or len(public) != PUBLIC_KEY_BYTES:
        raise ValueError("keys must be 32 bytes")
    derived = X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()
    if derived != public:
        raise ValueError("the public key is not the private key's")
    return KeyPair(public, private, str(entry.get("created_at", "")), version)


def recipients_with(readers: Sequence[Recipient], own: Recipient | None) -> tuple[Recipient, ...]:
    """`readers` plus `own` (the sealing node's key) when its member is not among them."""
    if own is None or any(r.key_id.member == own.key_id.member for r in readers):
        return tuple(readers)
    return (*readers, own)
