"""The one logging set-up of every process: human lines by default, JSON lines with
`--log-json` or `VCL_LOG_JSON=1`.

A filter masks anything shaped like a VIN in every record as a last line of defence: code
logs vehicle ids (keyed hashes), never VINs, borrower references or document contents.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

# 17 characters of the VIN alphabet (no I, O, Q) containing at least one digit and one letter.
_VIN = re.compile(r"\b(?=[A-HJ-NPR-Z0-9]*\d)(?=[A-HJ-NPR-Z0-9]*[A-HJ-NPR-Z])[A-HJ-NPR-Z0-9]{17}\b")
VIN_MASK = "[VIN]"
_STANDARD_FIELDS = frozenset(vars(logging.makeLogRecord({})))


def json_requested() -> bool:
    return os.environ.get("VCL_LOG_JSON", "").strip().lower() in ("1", "true", "yes")


class VinMaskFilter(logging.Filter):
    """Replaces VIN-shaped tokens in the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _VIN.sub(VIN_MASK, message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class JsonLineFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_FIELDS and key not in line and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def setup_logging(*, json_lines: bool | None = None, level: int = logging.INFO) -> None:
    """Configure the root logger once for this process (calling again replaces it)."""
    use_json = json_requested() if json_lines is None else json_lines
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(VinMaskFilter())
    if use_json:
        handler.setFormatter(JsonLineFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request's URL, and node API paths carry VINs; alembic each migration.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # uvicorn's loggers carry their own handlers unless told otherwise: route them here.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
