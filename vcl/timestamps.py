"""How a person sees a chain time: ISO 8601 in UTC, never unix seconds."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(timestamp: int) -> str:
    """A unix time as ISO 8601 UTC (`2026-11-29T21:34:19Z`)."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def as_utc(moment: datetime) -> datetime:
    """`moment` with its zone; one that names none is read as UTC (the chain's clock)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_iso(text: str) -> int | None:
    """The unix time of an ISO 8601 text (UTC unless it names its zone), or None if it is none."""
    try:
        return int(as_utc(datetime.fromisoformat(text.strip())).timestamp())
    except ValueError:
        return None
