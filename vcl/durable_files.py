"""Durable file writes: a crash or power cut leaves the old file or the whole new one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(
    path: Path, data: bytes, *, prefix: str, mode: int | None = None, exclusive: bool = False
) -> None:
    """Write `data` to a temporary file (named `prefix`…) in `path`'s directory, which must
    exist, fsync it, move it to `path` and fsync the directory: readers see the old state or
    the whole new file, never a part, and the rename itself survives a crash.

    `mode` sets the file's permissions before any byte is written (mkstemp's are 0600).
    With `exclusive`, an existing `path` is never replaced: `FileExistsError`, also when
    another process creates it meanwhile. The temporary file is removed on any failure.
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=prefix)
    renamed = False
    try:
        with os.fdopen(fd, "wb") as file:
            if mode is not None:
                os.fchmod(file.fileno(), mode)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if exclusive:
            os.link(temporary, path)
            os.unlink(temporary)
        else:
            os.replace(temporary, path)
        renamed = True
    finally:
        if not renamed:
            Path(temporary).unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
