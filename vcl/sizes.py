"""Sizes as a person reads them: 20 MiB, not 20971520 bytes."""

from __future__ import annotations

UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB")


def human_bytes(count: int) -> str:
    """`count` bytes in the largest binary unit it reaches, one decimal unless whole:
    512 -> "512 bytes", 1536 -> "1.5 KiB", 20971520 -> "20 MiB"."""
    value = float(count)
    unit = 0
    while value >= 1024 and unit < len(UNITS) - 1:
        value /= 1024
        unit += 1
    if unit == 0:
        return f"{count} {'byte' if count == 1 else 'bytes'}"
    shown = f"{value:.1f}".removesuffix(".0")
    return f"{shown} {UNITS[unit]}"
