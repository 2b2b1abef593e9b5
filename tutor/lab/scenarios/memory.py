"""The memory of idle workers: keep many alive, measure the whole process tree.

Measured as PSS (proportional set size) on Linux: pages shared after fork are
split between the processes that share them, so the total is honest. Summed
RSS would count shared pages once per process; USS would not count them at all.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from typing import Any

from tutor.lab.report import WAIT, phase
from tutor.lab.sampler import MEMORY_KIND


def idle_worker(ready: Any, release: Any) -> None:
    """Say "ready", then wait (idle) until released."""
    phase(WAIT)
    ready.put(1)
    release.wait()


def _settle_and_measure(ctx: Any) -> int:
    # Memory changes for a moment after the last worker starts (stacks touched,
    # copy-on-write faults); take the highest of a few quick readings.
    best = 0
    for _ in range(3):
        best = max(best, ctx.measure_memory())
        time.sleep(0.05)
    return best


def prepare(ctx: Any) -> None:
    ctx.state["baseline"] = _settle_and_measure(ctx)
    ctx.note(
        f"before: {ctx.state['baseline'] / 2**20:.1f} MiB ({MEMORY_KIND.upper()} of the run's processes)"
    )


def run(ctx: Any) -> dict:
    n = ctx.tasks
    if ctx.strategy == "asyncio":
        loaded = asyncio.run(_run_async(ctx, n))
    elif ctx.strategy == "threads":
        ready: queue.SimpleQueue[int] = queue.SimpleQueue()
        release = threading.Event()
        workers: list[Any] = [
            threading.Thread(target=idle_worker, args=(ready, release)) for _ in range(n)
        ]
        loaded = _hold(ctx, workers, ready, release, n)
    else:
        mp = ctx.mp()
        ready = mp.SimpleQueue()
        release = mp.Event()
        workers = [
            mp.Process(target=_idle_process, args=(ctx.report_queue, ready, release))
            for _ in range(n)
        ]
        loaded = _hold(ctx, workers, ready, release, n)
    extra = max(0, loaded - ctx.state["baseline"])
    return {
        "memory_kind": MEMORY_KIND,
        "baseline_bytes": ctx.state["baseline"],
        "loaded_bytes": loaded,
        "extra_bytes": extra,
        "per_worker_bytes": extra // n,
        "peak_mem_bytes": loaded,
    }


def _idle_process(report_queue: Any, ready: Any, release: Any) -> None:
    from tutor.lab import report

    report.install(report_queue)
    idle_worker(ready, release)


def _hold(ctx: Any, workers: list[Any], ready: Any, release: Any, n: int) -> int:
    for w in workers:
        w.start()
    for _ in range(n):
        ready.get()
    loaded = _settle_and_measure(ctx)
    release.set()
    for w in workers:
        w.join()
    return loaded


async def _run_async(ctx: Any, n: int) -> int:
    release = asyncio.Event()
    ready = 0

    async def idle(lane: str) -> None:
        nonlocal ready
        phase(WAIT, None, lane)
        ready += 1
        await release.wait()

    tasks = [asyncio.create_task(idle(f"a{i + 1}")) for i in range(n)]
    while ready < n:
        await asyncio.sleep(0.01)
    loaded = _settle_and_measure(ctx)
    release.set()
    await asyncio.gather(*tasks)
    return loaded
