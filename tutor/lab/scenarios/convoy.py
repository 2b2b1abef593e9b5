"""The convoy effect: an I/O thread's response time beside CPU-bound work.

The runner's main thread plays a small service: ``tasks`` times it sends one
HTTP request to the lab's local server (another process, answering at once)
and reads the answer, pausing ``gap_s`` between requests. Beside it, for the
whole run, ``workers`` CPU-bound workers crunch numbers:

- ``sequential``: no CPU workers: the I/O thread alone (the reference).
- ``threads``: CPU-bound threads in the same process. Every time the I/O
  thread's socket call returns it needs the GIL back, and a busy thread gives
  it up only when asked, after the switch interval (5 ms): each request pays
  that wait several times over (one per blocking call it makes).
- ``processes``: CPU-bound processes. The I/O thread has its process's GIL
  to itself; it only shares the cores, and the operating system wakes a
  thread that waited quickly.

The figure is the median response time (send to answer read); the details
add the 90th percentile and how much CPU work the workers got done.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from typing import Any

from tutor.lab import report
from tutor.lab.report import COMPUTE, IDLE, WAIT, phase
from tutor.lab.scenarios.crunch import crunch
from tutor.lab.scenarios.downloads import start_server, stop_server

CHUNK = 20_000
"""Loop steps between two looks at the stop flag (a few ms of CPU)."""


def request(port: int) -> float:
    """One request and its answer, timed from sending to the last byte read."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/ping")
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    return time.perf_counter() - t0


def burn(stop: Any, ready: Any) -> int:
    """CPU-bound work until told to stop; returns the chunks done."""
    phase(COMPUTE)
    ready.release()
    chunks = 0
    while not stop.is_set():
        crunch(CHUNK)
        chunks += 1
    phase(IDLE)
    return chunks


def _burn_thread(stop: Any, ready: Any, done: list[int]) -> None:
    done.append(burn(stop, ready))


def _burn_process(report_queue: Any, stop: Any, ready: Any, done: Any) -> None:
    report.install(report_queue)  # also: die with the runner
    done.put(burn(stop, ready))


def prepare(ctx: Any) -> None:
    ctx.state["port"] = start_server(ctx, 0.0, 1)
    beside = {"sequential": "alone", "threads": f"beside {ctx.workers} CPU-bound threads"}.get(
        ctx.strategy, f"beside {ctx.workers} CPU-bound processes"
    )
    ctx.note(
        f"{ctx.tasks} requests to the local server, {ctx.params['gap_s'] * 1000:g} ms apart, {beside}"
    )


def run(ctx: Any) -> dict:
    port, gap = ctx.state["port"], ctx.params["gap_s"]
    done: list[int] = []
    workers: list[Any] = []
    if ctx.strategy == "threads":
        stop: Any = threading.Event()
        ready: Any = threading.Semaphore(0)
        workers = [
            threading.Thread(target=_burn_thread, args=(stop, ready, done), name=f"cpu-{i + 1}")
            for i in range(ctx.workers)
        ]
    elif ctx.strategy == "processes":
        mp = ctx.mp()
        stop, ready, results = mp.Event(), mp.Semaphore(0), mp.Queue()
        workers = [
            mp.Process(target=_burn_process, args=(ctx.report_queue, stop, ready, results))
            for _ in range(ctx.workers)
        ]
    for w in workers:
        w.start()
    for _ in workers:
        ready.acquire(timeout=60)  # measure only once the CPU work runs
    times: list[float] = []
    t0 = time.perf_counter()
    try:
        for task in range(ctx.tasks):
            phase(WAIT, task, detail="request")
            times.append(request(port))
            phase(IDLE, task, detail="")
            time.sleep(gap)
    finally:
        if workers:
            stop.set()
            if ctx.strategy == "processes":
                done = [results.get(timeout=30) for _ in workers]
            for w in workers:
                w.join()
    beside_s = time.perf_counter() - t0
    ordered = sorted(times)
    return {
        "response_s": round(statistics.median(times), 6),
        "response_p90_s": round(ordered[int(0.9 * (len(ordered) - 1))], 6),
        "response_max_s": round(ordered[-1], 6),
        "requests": len(times),
        "cpu_workers": len(workers),
        "cpu_chunks": sum(done),
        "cpu_chunks_per_s": round(sum(done) / beside_s, 1) if beside_s > 0 else None,
    }


def finish(ctx: Any) -> None:
    stop_server(ctx)
