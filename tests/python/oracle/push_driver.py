"""`vcl oracle push ...` in a subprocess that stops dead at a chosen step, for the crash tests.

`ORACLE_TEST_STOP_AT=<event>:<round>` (events of `oracle.transmission.Event`): when the push
reaches that step it prints `STOPPED` and sleeps, and the test kills it with SIGKILL there.
`ORACLE_TEST_STOP_AT=writing:0` stops `push --store DELIVERY`'s planner just before it writes
the delivery (the transmitter goes on sending what was planned). Everything else is the real
command line, settings from the environment.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from oracle import feed_store, operations
from oracle.cli import app
from oracle.transmission import Event, EventHook


def stopped() -> None:
    print("STOPPED", flush=True)
    time.sleep(3600)


def stop_before_writing() -> None:
    original = feed_store.PendingIngest.commit

    def patched(self: feed_store.PendingIngest) -> feed_store.Ingested:
        if self.delivery_id is None and not self.outcome.already:
            stopped()
        return original(self)

    feed_store.PendingIngest.commit = patched  # type: ignore[method-assign]


def stop_at(event_name: str, round_id: int) -> None:
    if event_name == "writing":
        stop_before_writing()
        return
    original = operations.PushSession.__init__

    def patched(self: Any, node: Any, *, on_event: EventHook | None = None) -> None:
        def hook(event: Event, round_: int) -> None:
            if on_event is not None:
                on_event(event, round_)
            if event.value == event_name and round_ == round_id:
                stopped()

        original(self, node, on_event=hook)

    operations.PushSession.__init__ = patched  # type: ignore[method-assign]


if __name__ == "__main__":
    point = os.environ.get("ORACLE_TEST_STOP_AT")
    if point:
        name, number = point.split(":")
        stop_at(name, int(number))
    app(sys.argv[1:])
