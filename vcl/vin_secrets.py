"""The consortium's VIN secrets: the founding one and every one a vote rotated to since.

A vehicle id is HMAC(secret, VIN) (`vcl.vin`). A leaked secret links any VIN to its vehicle's
record, so the banks can rotate it: a new secret is handed to every member out of band, then
the banks vote its fingerprint into the governed parameter `VIN_SECRET_FINGERPRINT`. From that
block every bank derives new ids with the new secret. Ids already on-chain keep the secret
they were made with: re-keying them would publish the old-to-new mapping, which the leaked
secret then follows, so a rotation protects what is registered after it, never before.

Hence a node keeps every secret (its keyring) and:
- finds a VIN's vehicle under whichever secret registered it (`registered_id`);
- registers a VIN only under the chain's current secret, and only if no earlier secret's id
  of that VIN is registered (`registration_id`): one vehicle, one record, across rotations.

The keyring is `VCL_VIN_SECRET` (the founding secret) followed by the secrets in
`VCL_VIN_SECRETS_FILE` (JSON, mode 0600), in the order they were added. Fingerprints are
public: HMAC-SHA256(secret, a fixed label) reveals nothing of the secret.
"""

from __future__ import annotations

import hmac
import json
import secrets as random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from vcl.chain_views import view
from vcl.config import Mode, Settings
from vcl.durable_files import write_atomically
from vcl.errors import ConfigError, VclError
from vcl.secrets_policy import GENERATE_HINT, MIN_VIN_SECRET_BYTES, weak_secret_reason
from vcl.vin import normalize_vin, vehicle_id

FINGERPRINT_LABEL = b"vcl vin-secret fingerprint v1"
FILE_FORMAT = "vcl-vin-secrets/1"
NEW_SECRET_BYTES = 32
# A keyring file readable by anyone but its owner is refused: it opens every VIN's record.
PRIVATE_MODE_MASK = 0o077

# Answers, for each vehicle id, whether the registry holds a vehicle under it.
RegisteredCheck = Callable[[Sequence[bytes]], Sequence[bool]]


class VinSecretNotHeld(VclError):
    """The chain names a current VIN secret this node does not hold: registering with another
    secret would give an already registered vehicle a second record."""


class VehicleRegisteredEarlier(VclError):
    """The VIN is registered under an earlier VIN secret: it keeps that record."""

    def __init__(self, vehicle: bytes) -> None:
        super().__init__(
            "this VIN is already registered under an earlier VIN secret, "
            f"as vehicle 0x{vehicle.hex()}"
        )
        self.vehicle = vehicle


def fingerprint(secret: bytes) -> int:
    """The public fingerprint of a VIN secret, as the chain's uint256 parameter holds it."""
    return int.from_bytes(hmac.new(secret, FINGERPRINT_LABEL, sha256).digest(), "big")


def shown_fingerprint(value: int) -> str:
    """How people see a fingerprint: 0x and its first 8 bytes (enough to tell secrets apart)."""
    return "0x" + value.to_bytes(32, "big")[:8].hex()


def new_secret() -> str:
    """A fresh VIN secret: 32 random bytes, URL-safe text (as the settings hold it)."""
    return random.token_urlsafe(NEW_SECRET_BYTES)


@dataclass(frozen=True)
class KeyringEntry:
    secret: bytes
    added_at: str  # ISO 8601; "founding" for VCL_VIN_SECRET

    @property
    def fingerprint(self) -> int:
        return fingerprint(self.secret)


@dataclass(frozen=True)
class VinKeyring:
    """Every VIN secret this node holds, the founding one first."""

    entries: tuple[KeyringEntry, ...]

    @classmethod
    def of(cls, founding: bytes, file: Path | None = None) -> VinKeyring:
        entries = [KeyringEntry(founding, "founding")]
        if file is not None and file.exists():
            known = {fingerprint(founding)}
            for entry in read_keyring_file(file):
                if entry.fingerprint not in known:
                    known.add(entry.fingerprint)
                    entries.append(entry)
        return cls(tuple(entries))

    @property
    def founding(self) -> bytes:
        return self.entries[0].secret

    def current(self, chain_fingerprint: int) -> bytes:
        """The secret new ids are made with: the one whose fingerprint the chain holds (0, a
        consortium deployed before the parameter existed, means the founding secret)."""
        if chain_fingerprint == 0:
            return self.founding
        for entry in self.entries:
            if entry.fingerprint == chain_fingerprint:
                return entry.secret
        shown = shown_fingerprint(chain_fingerprint)
        raise VinSecretNotHeld(
            f"the consortium's current VIN secret (fingerprint {shown}) "
            "is not in this node's keyring: import it with `vcl vin-secret import FILE` "
            "(the file its proposer handed over) before registering vehicles"
        )

    def candidate_ids(self, vin: str) -> list[bytes]:
        """The VIN's id under each secret, in keyring order."""
        normalized = normalize_vin(vin)
        return [vehicle_id(normalized, entry.secret) for entry in self.entries]


def registered_id(keyring: VinKeyring, vin: str, registered: RegisteredCheck) -> bytes | None:
    """The id the VIN is registered under, or None. One secret: its id without asking (the
    caller reads that vehicle anyway)."""
    candidates = keyring.candidate_ids(vin)
    if len(candidates) == 1:
        return candidates[0]
    for candidate, found in zip(candidates, registered(candidates), strict=True):
        if found:
            return candidate
    return None


def registration_id(
    keyring: VinKeyring, vin: str, chain_fingerprint: int, registered: RegisteredCheck
) -> bytes:
    """The id to register the VIN under: its id under the chain's current secret.
    `VehicleRegisteredEarlier` if an earlier secret's id of it is registered;
    `VinSecretNotHeld` if this node lacks the current secret."""
    current = vehicle_id(vin, keyring.current(chain_fingerprint))
    others = [c for c in keyring.candidate_ids(vin) if c != current]
    if others:
        for candidate, found in zip(others, registered(others), strict=True):
            if found:
                raise VehicleRegisteredEarlier(candidate)
    return current


def keyring_of(settings: Settings) -> VinKeyring:
    """This process's keyring. Production: the file must be private and every secret in it as
    strong as `VCL_VIN_SECRET` must be."""
    founding = settings.vin_secret.get_secret_value().encode()
    file = settings.vin_secrets_file
    keyring = VinKeyring.of(founding, file)
    if settings.mode is Mode.PRODUCTION and file is not None and file.exists():
        check_private(file)
        for entry in keyring.entries[1:]:
            reason = weak_secret_reason(entry.secret.decode(), min_length=MIN_VIN_SECRET_BYTES)
            if reason is not None:
                raise ConfigError(
                    f"a secret in {file} {reason}: generate one, e.g. {GENERATE_HINT}"
                )
    return keyring


class KeyringSource:
    """A long-running process's keyring, read again when its file changes: a secret imported
    with `vcl vin-secret import` counts from the next request, without a restart."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = self._file_stamp()
        self._keyring = keyring_of(settings)

    def _file_stamp(self) -> tuple[int, int] | None:
        file = self._settings.vin_secrets_file
        try:
            found = file.stat() if file is not None else None
        except FileNotFoundError:
            found = None
        return None if found is None else (found.st_mtime_ns, found.st_size)

    def keyring(self) -> VinKeyring:
        stamp = self._file_stamp()
        if stamp != self._stamp:
            with self._lock:
                # A file being replaced is read once it is whole (written atomically).
                self._keyring = keyring_of(self._settings)
                self._stamp = stamp
        return self._keyring


def registered_in(registry: Any) -> RegisteredCheck:
    """A `RegisteredCheck` asking the chain's VehicleRegistry (a web3 contract), one call each."""

    vehicle = view(registry, "vehicle")

    def check(ids: Sequence[bytes]) -> list[bool]:
        return [bool(vehicle.shaped(registry.functions.vehicle(vid).call()).exists) for vid in ids]

    return check


def chain_fingerprint(consortium: Any) -> int:
    """The fingerprint of the current VIN secret, as the Consortium (a web3 contract) holds it."""
    key = consortium.functions.VIN_SECRET_FINGERPRINT().call()
    return int(consortium.functions.parameter(key).call())


# ------------------------------------------------------------------ the keyring file


def read_keyring_file(path: Path) -> list[KeyringEntry]:
    """The entries of a keyring (or hand-over) file; `ConfigError` says what is wrong."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"VIN secrets file {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
        raise ConfigError(f"VIN secrets file {path}: not a {FILE_FORMAT} file")
    entries = []
    for item in data.get("secrets", []):
        secret = str(item.get("secret", "")).encode()
        if len(secret) < 16:
            raise ConfigError(f"VIN secrets file {path}: a secret shorter than 16 bytes")
        entry = KeyringEntry(secret, str(item.get("added_at", "")))
        stated = item.get("fingerprint")
        if stated is not None and stated != hex(entry.fingerprint):
            raise ConfigError(
                f"VIN secrets file {path}: a secret does not match its fingerprint "
                f"{stated[:18]}…: the file was altered or mistyped"
            )
        entries.append(entry)
    return entries


def check_private(path: Path) -> None:
    """Refuse a keyring file others may read."""
    mode = path.stat().st_mode
    if mode & PRIVATE_MODE_MASK:
        raise ConfigError(
            f"VIN secrets file {path} has mode {mode & 0o777:o}: others could read it; "
            f"chmod 600 {path}"
        )


def write_keyring_file(path: Path, entries: Sequence[KeyringEntry]) -> None:
    """Write `entries` to `path` atomically, mode 0600."""
    items: list[dict[str, Any]] = [
        {
            "fingerprint": hex(entry.fingerprint),
            "added_at": entry.added_at,
            "secret": entry.secret.decode(),
        }
        for entry in entries
    ]
    body = json.dumps({"format": FILE_FORMAT, "secrets": items}, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, body.encode(), prefix=f".{path.name}.", mode=0o600)


def add_to_keyring_file(path: Path, added: Sequence[KeyringEntry]) -> list[KeyringEntry]:
    """Append the entries the file does not hold yet; returns those appended."""
    held = read_keyring_file(path) if path.exists() else []
    known = {entry.fingerprint for entry in held}
    new = []
    for entry in added:
        if entry.fingerprint not in known:
            known.add(entry.fingerprint)
            new.append(entry)
    if new:
        write_keyring_file(path, [*held, *new])
    return new


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
