"""Shared state and messages.

Threads share memory: a counter updated without a lock loses updates when a
thread switch lands between reading and writing it. Processes share nothing by
default: a ``Value`` lives in shared memory (and needs its lock), a ``Manager``
proxies every access through a server process, and ``Queue``/``Pipe`` move
pickled messages. Measured: lost updates, and messages per second.
"""

from __future__ import annotations

import threading
import time
from multiprocessing.managers import SyncManager
from typing import Any

from tutor.lab.report import COMPUTE, IDLE, WAIT, die_with_parent, phase, run_dying_with_runner


class Counter:
    value = 0


def _gap() -> None:
    """A function call between read and write: a point where CPython may switch threads."""


def unsafe_increment(counter: Any, times: int) -> None:
    """Read, then write back: another thread can slip in between and its update is lost."""
    for _ in range(times):
        current = counter.value
        _gap()
        counter.value = current + 1


def locked_increment(counter: Any, lock: Any, times: int) -> None:
    """The same read-modify-write, made atomic by holding a lock around it."""
    for _ in range(times):
        with lock:
            current = counter.value
            _gap()
            counter.value = current + 1


def _worker_unsafe(report_queue: Any, counter: Any, times: int, task: int) -> None:
    _install(report_queue)
    phase(COMPUTE, task)
    unsafe_increment(counter, times)
    phase(IDLE, task)


def _worker_locked(report_queue: Any, counter: Any, lock: Any, times: int, task: int) -> None:
    _install(report_queue)
    phase(COMPUTE, task)
    locked_increment(counter, lock, times)
    phase(IDLE, task)


def _install(report_queue: Any) -> None:
    if report_queue is not None:
        from tutor.lab import report

        report.install(report_queue)


def _producer(conn_or_queue: Any, count: int, is_pipe: bool) -> None:
    send = conn_or_queue.send if is_pipe else conn_or_queue.put
    payload = b"x" * 64
    for _ in range(count):
        send(payload)
    send(None)


def prepare(ctx: Any) -> None:
    ctx.note(
        f"{ctx.tasks} workers x {int(ctx.params['increments']):,} increments of one shared counter"
    )


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _run_all(workers: list[Any]) -> None:
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def run(ctx: Any) -> dict:
    n, times = ctx.tasks, int(ctx.params["increments"])
    expected = n * times
    cases: list[dict] = []
    if ctx.strategy == "threads":
        unsafe = Counter()
        t = _timed(
            lambda: _run_all(
                [
                    threading.Thread(target=_worker_unsafe, args=(None, unsafe, times, i))
                    for i in range(n)
                ]
            )
        )
        cases.append(_case("threads, no lock", expected, unsafe.value, t))
        safe, lock = Counter(), threading.Lock()
        t = _timed(
            lambda: _run_all(
                [
                    threading.Thread(target=_worker_locked, args=(None, safe, lock, times, i))
                    for i in range(n)
                ]
            )
        )
        cases.append(_case("threads, with a Lock", expected, safe.value, t))
        return {"expected": expected, "cases": cases, "lost_updates": expected - unsafe.value}
    mp = ctx.mp()
    q = ctx.report_queue
    raw = mp.Value("q", 0, lock=False)
    t = _timed(
        lambda: _run_all(
            [mp.Process(target=_worker_unsafe, args=(q, raw, times, i)) for i in range(n)]
        )
    )
    cases.append(_case("processes, Value without its lock", expected, raw.value, t))
    locked = mp.Value("q", 0)
    t = _timed(
        lambda: _run_all(
            [
                mp.Process(target=_worker_locked, args=(q, locked, locked.get_lock(), times, i))
                for i in range(n)
            ]
        )
    )
    cases.append(_case("processes, Value with get_lock()", expected, locked.value, t))
    # A Manager answers every access over a socket: far slower, so fewer increments.
    few = max(100, min(2000, times // 500))
    manager = SyncManager(ctx=mp)
    manager.start(die_with_parent)  # its server process must not outlive a killed runner
    try:
        shared = manager.Namespace()
        shared.value = 0
        mlock = manager.Lock()
        t = _timed(
            lambda: _run_all(
                [
                    mp.Process(target=_worker_locked, args=(q, shared, mlock, few, i))
                    for i in range(n)
                ]
            )
        )
        cases.append(_case("processes, Manager namespace + lock", n * few, shared.value, t))
    finally:
        manager.shutdown()
    messages = max(1000, times // 4)
    cases.append(_throughput(mp, "Queue", messages))
    cases.append(_throughput(mp, "Pipe", messages))
    return {"expected": expected, "cases": cases, "lost_updates": expected - raw.value}


def _case(name: str, expected: int, got: int, seconds: float) -> dict:
    return {
        "case": name,
        "expected": expected,
        "got": got,
        "lost": expected - got,
        "seconds": round(seconds, 4),
        "per_s": round(got / seconds) if seconds > 0 else None,
    }


def _throughput(mp: Any, kind: str, count: int) -> dict:
    phase(WAIT)
    if kind == "Pipe":
        receiver, sender = mp.Pipe(duplex=False)
        producer = mp.Process(target=run_dying_with_runner, args=(_producer, sender, count, True))
        receive = receiver.recv
    else:
        channel = mp.Queue()
        producer = mp.Process(target=run_dying_with_runner, args=(_producer, channel, count, False))
        receive = channel.get
    t0 = time.perf_counter()
    producer.start()
    got = 0
    while receive() is not None:
        got += 1
    producer.join()
    seconds = time.perf_counter() - t0
    phase(IDLE)
    return {
        "case": f"{kind}: {count:,} messages of 64 bytes",
        "expected": count,
        "got": got,
        "lost": count - got,
        "seconds": round(seconds, 4),
        "per_s": round(got / seconds) if seconds > 0 else None,
    }
