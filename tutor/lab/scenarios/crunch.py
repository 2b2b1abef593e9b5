"""Pure-Python number crunching: every step needs the interpreter, and so the GIL.

The task size is calibrated on this machine once per comparison (by its first
run), so one task takes about ``task_s`` seconds whatever the machine's speed,
and every strategy of the comparison does exactly the same steps.
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


def calibrate(target_s: float, probe_s: float = 0.02, probes: int = 5) -> int:
    """Steps of :func:`crunch` that take ``target_s`` here.

    The fastest of several short probes: other programs only ever slow a probe
    down, so one unlucky probe (the old single 50 ms one) no longer shrinks or
    stretches the work by a factor of five.
    """
    n = 20_000
    while True:
        took = _timed_crunch(n)
        if took >= probe_s:
            break
        n = int(n * min(8.0, max(1.5, 1.2 * probe_s / max(took, 1e-6))))
    fastest = min([took, *(_timed_crunch(n) for _ in range(probes - 1))])
    return max(1, int(n * target_s / fastest))


def _timed_crunch(n: int) -> float:
    t0 = time.perf_counter()
    crunch(n)
    return time.perf_counter() - t0


def probe_work(n: int, gate: Any) -> None:
    """The parallel-capacity probe's job (module level: picklable for every start method)."""
    gate.wait()
    crunch(n)


def prepare(ctx: Any) -> None:
    given = "steps_per_task" in ctx.work
    n = ctx.sized("steps_per_task", lambda: calibrate(ctx.params["task_s"]))
    how = "the same work as the other runs" if given else f"about {ctx.params['task_s']:g} s here"
    ctx.note(f"one task = {n:,} loop steps ({how})")


def run(ctx: Any) -> dict:
    n = ctx.work["steps_per_task"]
    ctx.run_tasks(crunch_task, [(i, n) for i in range(ctx.tasks)], crunch_task_async)
    return {"steps_per_task": n, "task_s_target": ctx.params["task_s"]}
