"""How a person sees a chain time: ISO 8601 in UTC, never unix seconds."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(timestamp: int) -> str:
    """A unix time as ISO 8601 UTC (`2026-11-29T21:34:19Z`)."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")
