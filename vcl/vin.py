"""Vehicle identification numbers: validation and the on-chain vehicle id.

The plain VIN never reaches the chain, not even as calldata: VINs are structured
(manufacturer prefix, model year, serial), so a plain hash could be reversed by
enumeration. The vehicle id is an HMAC-SHA256 of the VIN under a consortium secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from functools import lru_cache
from operator import mul

from vcl.errors import VclError

VIN_LENGTH = 17
CHECK_DIGIT_POSITION = 8  # 0-based: the ninth character
# ISO 3779 / GB 16735: I, O and Q are never used (confusable with 1 and 0).
_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
MODEL_YEAR_POSITION = 9  # 0-based: the tenth character
# ISO 3779 / GB 16735 model-year codes, 1980 (A) to 2009 (9), repeating every 30 years
# (A is 2010 again); I, O, Q, U, Z and 0 are never model years.
MODEL_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"
FIRST_MODEL_YEAR = 1980


class InvalidVin(VclError):
    """The VIN is not 17 characters of the ISO 3779 alphabet with a matching check digit."""


def check_digit(vin: str) -> str:
    if len(vin) != VIN_LENGTH:
        raise ValueError(f"a VIN has {VIN_LENGTH} characters, not {len(vin)}")
    # Values times weights, summed in C: a push checks every VIN of the fleet once.
    total = sum(map(mul, map(_VALUES.__getitem__, vin), _WEIGHTS))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


@lru_cache(maxsize=65_536)  # feeds repeat a fleet's VINs on every row: validate each once
def normalize_vin(raw: str) -> str:
    """The VIN in canonical form, or `InvalidVin` naming what is wrong (never the VIN itself
    in full: it identifies a person's vehicle)."""
    vin = raw.strip().upper()
    if len(vin) != VIN_LENGTH:
        raise InvalidVin(f"a VIN has {VIN_LENGTH} characters, this one has {len(vin)}")
    bad = sorted(set(vin).difference(_VALUES))
    if bad:
        raise InvalidVin(f"characters not allowed in a VIN: {''.join(bad)} (I, O, Q never appear)")
    expected = check_digit(vin)
    if vin[CHECK_DIGIT_POSITION] != expected:
        found = vin[CHECK_DIGIT_POSITION]
        raise InvalidVin(f"check digit (9th character) is {found}, the VIN computes {expected}")
    return vin


def model_year_code(year: int) -> str:
    """The tenth character of a VIN of model year `year` (1980 or later)."""
    return MODEL_YEAR_CODES[(year - FIRST_MODEL_YEAR) % len(MODEL_YEAR_CODES)]


def model_year(vin: str, latest: int) -> int | None:
    """The model year a normalized VIN's tenth character names: of the years sharing that
    code, the latest not after `latest` (this year + 1: a model year is sold a year ahead).
    None when the character is no model-year code (some markets' VINs use it otherwise)."""
    index = MODEL_YEAR_CODES.find(vin[MODEL_YEAR_POSITION])
    if index < 0:
        return None
    year = FIRST_MODEL_YEAR + index
    cycle = len(MODEL_YEAR_CODES)
    return year + (latest - year) // cycle * cycle if latest >= year else None


def vehicle_id(raw_vin: str, consortium_secret: bytes) -> bytes:
    """The 32-byte on-chain id of a vehicle: HMAC-SHA256(secret, normalized VIN)."""
    _check_secret(consortium_secret)
    return hmac.new(consortium_secret, normalize_vin(raw_vin).encode(), hashlib.sha256).digest()


def vehicle_ids(raw_vins: Iterable[str], consortium_secret: bytes) -> list[bytes]:
    """`vehicle_id` of each VIN, in order: the same bytes, with the HMAC keyed once for all
    (a copy of the keyed state per VIN instead of hashing the key again)."""
    _check_secret(consortium_secret)
    keyed = hmac.new(consortium_secret, digestmod=hashlib.sha256)
    ids = []
    for raw_vin in raw_vins:
        mac = keyed.copy()
        mac.update(normalize_vin(raw_vin).encode())
        ids.append(mac.digest())
    return ids


def _check_secret(consortium_secret: bytes) -> None:
    if len(consortium_secret) < 16:
        raise VclError("the consortium VIN secret must be at least 16 bytes")
