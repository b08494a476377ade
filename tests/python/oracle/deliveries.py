"""The sample feed directory as a delivery, for the tests of the feed store."""

from __future__ import annotations

import shutil
from pathlib import Path

SAMPLE_DIR = Path(__file__).parents[2] / "data" / "oracle" / "sample"


def sample_delivery(into: Path) -> Path:
    """The sample's feeds copied to `into` (its outcomes and ground truth are not feed data)."""
    shutil.copytree(SAMPLE_DIR, into, ignore=shutil.ignore_patterns("outcomes.csv", "*.json"))
    return into
