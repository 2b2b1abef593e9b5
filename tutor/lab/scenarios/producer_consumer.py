"""Producer and consumers: one bounded queue, sentinels, ``task_done`` and ``join``.

The producer (the runner's main thread) makes ``tasks`` items, each costing
``produce_s`` of CPU (the serial part), and puts them in a queue of
``maxsize`` places; ``workers`` consumers take them and spend ``item_s`` of
CPU on each. A full queue blocks the producer (back-pressure: memory stays
bounded); an empty one idles the consumers. When every item is made the
producer calls ``join()``, which returns once each item got its
``task_done()``, then puts one sentinel (``None``) per consumer so each
leaves its loop.

- ``sequential``: no queue, one thread makes and uses each item in turn.
- ``threads``: ``queue.Queue`` and consumer threads (they share the GIL).
- ``processes``: ``multiprocessing.JoinableQueue`` and consumer processes:
  every item is pickled through a pipe, and the consumers compute in parallel.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from tutor.lab import report
from tutor.lab.report import COMPUTE, IDLE, WAIT, phase
from tutor.lab.scenarios.crunch import calibrate, crunch

SENTINEL = None


def consume(items: Any, steps: int) -> tuple[int, float]:
    """A consumer's loop: take an item, work on it, mark it done; leave at the sentinel.

    Returns (items handled, seconds spent waiting for an empty queue).
    """
    handled, idle = 0, 0.0
    while True:
        try:
            item = items.get_nowait()
        except queue.Empty:
            phase(WAIT, detail="queue empty")
            t0 = time.perf_counter()
            item = items.get()
            idle += time.perf_counter() - t0
            phase(COMPUTE, detail="")
        if item is SENTINEL:
            items.task_done()
            return handled, idle
        crunch(steps)
        handled += 1
        items.task_done()  # join() in the producer returns once every item got one


def produce(items: Any, count: int, steps: int, consumers: int) -> float:
    """Make `count` items, then wait for all to be handled, then send one sentinel per consumer.

    Returns the seconds put() was blocked on a full queue (the back-pressure).
    """
    blocked = 0.0
    phase(COMPUTE, detail="producing")
    for i in range(count):
        crunch(steps)
        try:
            items.put_nowait(i)
        except queue.Full:
            phase(WAIT, detail="queue full")
            t0 = time.perf_counter()
            items.put(i)
            blocked += time.perf_counter() - t0
            phase(COMPUTE, detail="producing")
    phase(WAIT, detail="join()")
    items.join()  # every item handled: task_done() was called as often as put()
    for _ in range(consumers):
        items.put(SENTINEL)
    phase(IDLE, detail="")
    return blocked


def _consumer_thread(items: Any, steps: int, out: list[tuple[int, float]]) -> None:
    phase(COMPUTE)
    out.append(consume(items, steps))
    phase(IDLE, detail="")


def _consumer_process(report_queue: Any, items: Any, steps: int, results: Any) -> None:
    report.install(report_queue)  # also: die with the runner
    phase(COMPUTE)
    results.put(consume(items, steps))
    phase(IDLE, detail="")


def prepare(ctx: Any) -> None:
    p = ctx.params
    # Calibrated on a longer probe and scaled down: a millisecond is too short to time well.
    item = ctx.sized("item_steps", lambda: max(1, int(calibrate(0.05) * p["item_s"] / 0.05)))
    made = ctx.sized("produce_steps", lambda: max(1, int(calibrate(0.05) * p["produce_s"] / 0.05)))
    bound = f"a queue of {int(p['maxsize'])} places" if p["maxsize"] else "an unbounded queue"
    ctx.note(
        f"{ctx.tasks} items through {bound}; each costs the producer {made:,} steps "
        f"and a consumer {item:,} steps ({p['item_s'] * 1000:g} ms)"
    )


def run(ctx: Any) -> dict:
    p = ctx.params
    count, maxsize = ctx.tasks, int(p["maxsize"])
    item_steps, produce_steps = ctx.work["item_steps"], ctx.work["produce_steps"]
    blocked = 0.0
    handled: list[tuple[int, float]] = []
    t0 = time.perf_counter()
    if ctx.strategy == "sequential":
        phase(COMPUTE)
        for _ in range(count):
            crunch(produce_steps)
            crunch(item_steps)
        phase(IDLE)
        handled = [(count, 0.0)]
    elif ctx.strategy == "threads":
        items: Any = queue.Queue(maxsize)
        threads = [
            threading.Thread(
                target=_consumer_thread, args=(items, item_steps, handled), name=f"consumer-{i + 1}"
            )
            for i in range(ctx.workers)
        ]
        for t in threads:
            t.start()
        blocked = produce(items, count, produce_steps, ctx.workers)
        for t in threads:
            t.join()
    else:
        mp = ctx.mp()
        items = mp.JoinableQueue(maxsize)
        results = mp.Queue()
        procs = [
            mp.Process(
                target=_consumer_process, args=(ctx.report_queue, items, item_steps, results)
            )
            for _ in range(ctx.workers)
        ]
        for proc in procs:
            proc.start()
        blocked = produce(items, count, produce_steps, ctx.workers)
        handled = [results.get(timeout=60) for _ in procs]
        for proc in procs:
            proc.join()
    took = time.perf_counter() - t0
    done = sum(h for h, _ in handled)
    if done != count:
        raise RuntimeError(f"{done} of {count} items were handled")
    return {
        "items": count,
        "consumers": 0 if ctx.strategy == "sequential" else ctx.workers,
        "maxsize": maxsize,
        "item_steps": item_steps,
        "produce_steps": produce_steps,
        "per_consumer": [h for h, _ in handled],
        "items_per_s": round(count / took, 1) if took > 0 else None,
        "producer_blocked_s": round(blocked, 4),
        "consumers_idle_s": round(sum(i for _, i in handled), 4),
    }
