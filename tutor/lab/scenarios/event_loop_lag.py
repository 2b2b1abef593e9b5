"""A blocked event loop: how late does the loop answer while coroutines wait?

A heartbeat coroutine wakes every ``tick_s`` and notes how late it woke: the
event loop's *lag*, which is how long every other task (a web server's next
request, a timer) waits too. Meanwhile ``tasks`` jobs each wait ``block_s``:

- ``blocking``: ``time.sleep(block_s)`` inside a coroutine. Nothing else runs
  meanwhile; the jobs and the heartbeat wait in line.
- ``awaiting``: ``await asyncio.sleep(block_s)``: the loop runs other tasks meanwhile.
- ``to_thread``: ``await asyncio.to_thread(time.sleep, block_s)``: the blocking
  call runs in the loop's default thread pool (``min(32, cores + 4)`` threads),
  the loop stays free.

The loop runs in debug mode with ``slow_callback_duration`` at half a job:
the run counts the "Executing ... took N seconds" warnings asyncio logs, the
way to find a blocking call in a real program.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from typing import Any

from tutor.lab.report import IDLE, WAIT, phase


async def blocking_job(lane: str, task: int, block_s: float) -> None:
    """Blocks the whole event loop: time.sleep never yields to it."""
    phase(WAIT, task, lane, detail="blocks the loop")
    time.sleep(block_s)
    phase(IDLE, task, lane, detail="")


async def awaiting_job(lane: str, task: int, block_s: float) -> None:
    """Waits without blocking: the loop runs other tasks until the timer fires."""
    phase(WAIT, task, lane)
    await asyncio.sleep(block_s)
    phase(IDLE, task, lane)


async def to_thread_job(lane: str, task: int, block_s: float) -> None:
    """The blocking call moved to a worker thread; the loop only awaits its result."""
    phase(WAIT, task, lane, detail="in a thread")
    await asyncio.to_thread(time.sleep, block_s)
    phase(IDLE, task, lane, detail="")


JOBS = {"blocking": blocking_job, "awaiting": awaiting_job, "to_thread": to_thread_job}


async def heartbeat(tick_s: float, stop: asyncio.Event, lateness: list[float]) -> None:
    """Wake every tick_s; record how late each wake-up came (the loop's lag)."""
    loop = asyncio.get_running_loop()
    due = loop.time() + tick_s
    while not stop.is_set():
        await asyncio.sleep(max(0.0, due - loop.time()))
        lateness.append(max(0.0, loop.time() - due))
        due = max(due + tick_s, loop.time())  # a late beat does not make the next ones pile up


class _SlowCallbacks(logging.Handler):
    """Counts asyncio's debug-mode warnings about callbacks that held the loop too long."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Executing"):
            self.count += 1


async def main(ctx: Any) -> dict:
    p = ctx.params
    loop = asyncio.get_running_loop()
    loop.slow_callback_duration = p["block_s"] / 2
    lateness: list[float] = []
    stop = asyncio.Event()
    beat = asyncio.create_task(heartbeat(p["tick_s"], stop, lateness))
    await asyncio.sleep(0)  # the heartbeat starts before the jobs
    job = JOBS[ctx.strategy]
    async with asyncio.timeout(ctx.tasks * p["block_s"] * 4 + 30):  # 3.11+: never wait forever
        await asyncio.gather(*(job(f"a{i + 1}", i, p["block_s"]) for i in range(ctx.tasks)))
    stop.set()
    await beat
    return {"lateness": lateness}


def prepare(ctx: Any) -> None:
    p = ctx.params
    ctx.note(
        f"{ctx.tasks} jobs each wait {p['block_s'] * 1000:g} ms; "
        f"a heartbeat should wake every {p['tick_s'] * 1000:g} ms"
    )


def run(ctx: Any) -> dict:
    counter = _SlowCallbacks()
    log = logging.getLogger("asyncio")
    log.addHandler(counter)
    propagate, log.propagate = (
        log.propagate,
        False,
    )  # counted here; the runner's stderr needs no copy
    try:
        out = asyncio.run(main(ctx), debug=True)
    finally:
        log.removeHandler(counter)
        log.propagate = propagate
    lateness = out["lateness"] or [0.0]
    return {
        "lag_s": round(max(lateness), 6),
        "lag_median_s": round(statistics.median(lateness), 6),
        "beats": len(lateness),
        "slow_callbacks_logged": counter.count,
        "block_s": ctx.params["block_s"],
        "jobs": ctx.tasks,
    }
