"""Open-loop load generation and its figures, shared by the node API benchmark
(`benchmarks.api`) and the local consortium's load benchmark (`benchmarks.load`).

Open loop: request `i` is due at `start + i / rate` and is sent at that time whether or not
earlier ones were answered; its latency counts from the due time, not from when it was sent,
so a saturated server (or a saturated client) shows its queue instead of a flattering figure
(no coordinated omission).
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

# A request that raised (refused connection, timeout) is recorded with this status.
NO_ANSWER = 0


@dataclass(frozen=True)
class Answer:
    index: int
    latency_s: float  # from the due time
    status: int  # HTTP status, or NO_ANSWER


async def open_loop(
    send: Callable[[int], Awaitable[int]],
    rate: float,
    seconds: float,
) -> tuple[list[Answer], float]:
    """Call `send(i)` `rate` times a second for `seconds`, each at its due time; returns the
    answers and the seconds the sending took (longer than `seconds` when the client itself
    could not keep up). `send` returns the status; an exception counts as NO_ANSWER."""
    loop = asyncio.get_running_loop()

    async def one(i: int, due: float) -> Answer:
        try:
            status = await send(i)
        except Exception:  # noqa: BLE001 - any failure of one request is that request's answer
            status = NO_ANSWER
        return Answer(i, loop.time() - due, status)

    count = int(rate * seconds)
    start = loop.time() + 0.05
    tasks = []
    for i in range(count):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    sent_s = loop.time() - start
    return list(await asyncio.gather(*tasks)), sent_s


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def machine(
    before: tuple[float, float, float], after: tuple[float, float, float]
) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_before": [round(x, 2) for x in before],
        "load_average_after": [round(x, 2) for x in after],
        "note": "shared machine: other work ran during the measurement",
    }
