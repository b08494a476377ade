"""Cut a feeds directory into deliveries by date, as an operator would have received them.

The benchmark and the tests use it to build a feed store from a generated year and keep the
last day as the day's delivery: `split_feeds(year, day, history, today)` writes every vehicle
and the rows dated before `day` to `history`, and the rows dated on or after it to `today`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from oracle.feed_files import read_feed, write_feed
from oracle.feed_formats import DATE_FIELDS, ROW_MODELS, FeedKind
from oracle.fleet_feeds import feed_file


def split_feeds(source: Path, day: date, before: Path, on_or_after: Path) -> None:
    """Write the feeds of `source` as two deliveries (see the module docstring); files keep
    their names and formats, a delivery gets only the files it has rows for."""
    for directory in (before, on_or_after):
        directory.mkdir(parents=True, exist_ok=True)
    for kind in (FeedKind.VEHICLES, *DATE_FIELDS):
        path = feed_file(source, kind)
        if path is None:
            continue
        model = ROW_MODELS[kind]
        rows = [sourced.row for sourced in read_feed(path, model).rows]
        if kind not in DATE_FIELDS:
            write_feed(before / path.name, model, rows)
            continue
        field = DATE_FIELDS[kind]
        early = [row for row in rows if getattr(row, field) < day]
        late = [row for row in rows if getattr(row, field) >= day]
        for directory, part in ((before, early), (on_or_after, late)):
            if part:
                write_feed(directory / path.name, model, part)
