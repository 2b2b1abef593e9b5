"""Pure-Python number crunching: every step needs the interpreter, and so the GIL.

The task size is calibrated on this machine at the start of each run, so one
task takes about ``task_s`` seconds whatever the machine's speed.
"""

from __future__ import annotations

import time
from typing import Any

from tutor.lab.report import COMPUTE, IDLE, phase


def crunch(n: int) -> int:
    """The arithmetic itself: n loop steps of pure Python."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def crunch_task(task: int, n: int) -> int:
    """One number-crunching job: pure Python, so only one thread at a time runs it."""
    phase(COMPUTE, task)
    result = crunch(n)
    phase(IDLE, task)
    return result


async def crunch_task_async(lane: str, task: int, n: int) -> int:
    # A coroutine that never awaits: the event loop cannot run anything else meanwhile.
    phase(COMPUTE, task, lane)
    result = crunch(n)
    phase(IDLE, task, lane)
    return result


def calibrate(target_s: float, probe_s: float = 0.05) -> int:
    """Steps of :func:`crunch` that take ``target_s`` here, from a probe of at least ``probe_s``."""
    n = 20_000
    while True:
        t0 = time.perf_counter()
        crunch(n)
        took = time.perf_counter() - t0
        if took >= probe_s:
            return max(1, int(n * target_s / took))
        n = int(n * min(8.0, max(1.5, 1.2 * probe_s / max(took, 1e-6))))


def probe_work(n: int, gate: Any) -> None:
    """The parallel-capacity probe's job (module level: picklable for every start method)."""
    gate.wait()
    crunch(n)


def prepare(ctx: Any) -> None:
    n = calibrate(ctx.params["task_s"])
    ctx.state["n"] = n
    ctx.note(f"calibrated: one task = {n:,} loop steps (about {ctx.params['task_s']:g} s here)")


def run(ctx: Any) -> dict:
    n = ctx.state["n"]
    ctx.run_tasks(crunch_task, [(i, n) for i in range(ctx.tasks)], crunch_task_async)
    return {"steps_per_task": n, "task_s_target": ctx.params["task_s"]}
