"""Cyclic garbage collection held off while a fleet is loaded or scored.

Loading a year of feeds creates about a million objects that all stay alive, and none of them
forms a reference cycle; the collector would still walk them all again and again as they pile
up, which measured as half the loading time. Reference counting still frees everything as
usual; only the search for cycles waits until the bulk step is over.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cycle collection inside the block; the previous state is restored after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
