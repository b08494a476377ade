"""What production mode refuses as a key or a secret.

Refused: anvil's well-known development accounts (their private keys are printed by every
anvil and in its documentation), the placeholders of the example files
(`deploy/member/secrets.env.example`), and values too short or too regular to have come from a
random generator. The rules are deliberately simple: they catch the copy-pasted and the
typed-in, not a weak random generator.

Pure functions: the caller passes the well-known keys (`vcl.config.DEV_PRIVATE_KEYS`), so that
this module imports nothing of the settings it checks.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from eth_account import Account

# How a refusal says to make a good secret.
GENERATE_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'

# Shortest acceptable secret, in bytes of its UTF-8 form.
MIN_VIN_SECRET_BYTES = 32  # an HMAC key: as long as its SHA-256 output
MIN_PASSWORD_CHARS = 16  # keystore and database passwords: a passphrase, not a word
# A random string of that length has far more distinct characters (32 random hex digits have
# 8 or more with probability 1 - 4e-8); fewer means typed or patterned.
MIN_DISTINCT_CHARS = 8
# A random 32-byte key has about 30 distinct bytes; 16 or fewer is a pattern.
MIN_DISTINCT_KEY_BYTES = 17

# Words the example files and habit put where a secret belongs, compared after lowering
# and dropping everything but letters and digits: contained anywhere ...
_PLACEHOLDER_MARKERS = (
    "changeme",
    "replaceme",
    "placeholder",
    "example",
    "fillmein",
    "yoursecret",
    "yourpassword",
    "secrethere",
    "passwordhere",
    "todo",
    "fixme",
)
# ... or the whole value.
_PLACEHOLDER_WORDS = frozenset(
    {"password", "secret", "default", "admin", "test", "dummy", "development", "insecure"}
)


def placeholder_reason(value: str) -> str | None:
    """Why `value` looks like a placeholder left in place, or None."""
    folded = re.sub(r"[^a-z0-9]", "", value.lower())
    for marker in _PLACEHOLDER_MARKERS:
        if marker in folded:
            return f"contains the placeholder '{marker}'"
    if folded in _PLACEHOLDER_WORDS:
        return f"is the placeholder word '{folded}'"
    return None


def weak_secret_reason(value: str, *, min_length: int) -> str | None:
    """Why `value` is unfit as a production secret (placeholder, short, patterned), or None.

    The reason never quotes the value.
    """
    placeholder = placeholder_reason(value)
    if placeholder is not None:
        return placeholder
    size = len(value.encode())
    if size < min_length:
        return f"is {size} bytes long, at least {min_length} are needed"
    distinct = len(set(value))
    if distinct < MIN_DISTINCT_CHARS:
        return f"has only {distinct} distinct characters, at least {MIN_DISTINCT_CHARS} are needed"
    if _periodic(value):
        return "repeats a shorter pattern"
    return None


def weak_private_key_reason(key: str, well_known: Sequence[str]) -> str | None:
    """Why hex private key `key` is unfit for production (with or without 0x, any case), or
    None: one of the `well_known` development keys, not 32 bytes of hex, or patterned."""
    digits = key.strip().lower().removeprefix("0x")
    known = well_known_key_index(digits, well_known)
    if known is not None:
        return f"is anvil's well-known development key #{known}: anyone can sign with it"
    if not re.fullmatch(r"[0-9a-f]{64}", digits):
        return "is not a 32-byte private key in hex (64 hex digits)"
    raw = bytes.fromhex(digits)
    distinct = len(set(raw))
    if distinct < MIN_DISTINCT_KEY_BYTES:
        return (
            f"has only {distinct} distinct bytes (a random key has about 30): "
            "a typed or patterned key, not a generated one"
        )
    if _periodic(digits):
        return "repeats a shorter pattern"
    return None


def well_known_key_index(key: str, well_known: Sequence[str]) -> int | None:
    """The index of `key` among the `well_known` keys (compared as hex digits, any case)."""
    digits = key.strip().lower().removeprefix("0x")
    for index, candidate in enumerate(well_known):
        if candidate.lower().removeprefix("0x") == digits:
            return index
    return None


def well_known_address_index(address: str, well_known: Sequence[str]) -> int | None:
    """The index of the `well_known` key whose account is `address` (any case), or None."""
    addresses = _addresses(tuple(well_known))
    try:
        return addresses.index(address.lower())
    except ValueError:
        return None


@functools.cache
def _addresses(keys: tuple[str, ...]) -> tuple[str, ...]:
    # Derived once per process: a derivation is a scalar multiplication.
    return tuple(Account.from_key(key).address.lower() for key in keys)


def _periodic(value: str) -> bool:
    """Whether `value` is a shorter string repeated (`abcabc`): found in its doubled self
    somewhere other than at the start and the middle."""
    return len(value) > 1 and value in (value + value)[1:-1]
