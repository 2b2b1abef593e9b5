"""Two locks, two orders: a real deadlock, and the two usual cures.

Two threads move money between accounts A and B, each account behind its own
lock. A transfer holds the first account's lock while it reads the balance
(``hold_s``), then takes the second. Variants (compared like strategies):

- ``opposite``: thread 1 locks A then B, thread 2 locks B then A. Each ends up
  holding one lock and waiting forever for the other: the runner's watchdog
  (:mod:`tutor.lab.watchdog`) sees the cycle, reports it and stops them.
- ``ordered``: every thread locks A before B (one global order): no cycle can form.
- ``timeout``: the opposite orders, but the second lock is only waited for
  ``hold_s`` x 5; on a time-out the thread lets go of its first lock, backs
  off and tries again. It always finishes, at the price of retries.
- ``pool``: no lock in sight. Each task of a ``ThreadPoolExecutor`` submits
  its second half to the same pool and waits for it; once every worker runs
  such a task, no worker is left to run the halves they wait for.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tutor.lab.report import IDLE, phase
from tutor.lab.watchdog import Deadlocked, LockBook, TrackedLock


def transfer(first: TrackedLock, second: TrackedLock, hold_s: float) -> None:
    """Move money from one account to another: lock both, then change both balances."""
    with first:
        time.sleep(hold_s)  # read the first balance: the window where the other thread strikes
        with second:
            time.sleep(hold_s / 4)  # write both balances


def transfer_with_timeout(
    first: TrackedLock, second: TrackedLock, hold_s: float, rng: random.Random
) -> int:
    """The same transfer, but give up the first lock when the second does not come in time."""
    retries = 0
    while True:
        with first:
            time.sleep(hold_s)
            if second.acquire(timeout=hold_s * 5):
                try:
                    time.sleep(hold_s / 4)
                    return retries
                finally:
                    second.release()
        retries += 1
        time.sleep(
            rng.uniform(0, hold_s * 4)
        )  # back off a random while, so the two don't collide again


def _worker(
    book: LockBook, locks: tuple[TrackedLock, TrackedLock], strategy: str, index: int, transfers: int,
    hold_s: float, gate: threading.Barrier, outcome: dict[str, int],
) -> None:  # fmt: skip
    a, b = locks
    # Odd threads go from B to A; only `ordered` sorts the locks first.
    first, second = (b, a) if index % 2 and strategy != "ordered" else (a, b)
    rng = random.Random(index)
    gate.wait()  # both start together, so they meet in the window
    with book.worker():
        try:
            for task in range(transfers):
                if strategy == "timeout":
                    outcome["retries"] += transfer_with_timeout(first, second, hold_s, rng)
                else:
                    transfer(first, second, hold_s)
                outcome["done"] += 1
                book.progress()
                phase(IDLE, task, detail="")
        except Deadlocked:
            outcome["stopped"] += 1
            phase(IDLE, detail="stopped")


def transfer_in_two_steps(
    pool: ThreadPoolExecutor, book: LockBook, task: int, hold_s: float
) -> int:
    """A pool task that hands its second step to the same pool and waits for it."""
    time.sleep(hold_s)  # the first step
    second = pool.submit(time.sleep, hold_s)
    book.wait_for(second, f"task {task + 1}b")  # future.result(), watched
    return task


def _pool_task(
    pool: ThreadPoolExecutor, book: LockBook, task: int, hold_s: float, gate: threading.Barrier
) -> int:
    with book.worker():
        gate.wait()  # every worker is busy with a first step before any second step is queued
        return transfer_in_two_steps(pool, book, task, hold_s)


def _run_pool(ctx: Any, book: LockBook, workers: int, outcome: dict[str, int]) -> None:
    gate = threading.Barrier(workers)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pool") as pool:
        firsts = [
            pool.submit(_pool_task, pool, book, i, ctx.params["hold_s"], gate)
            for i in range(workers)
        ]
        for future in firsts:
            try:
                future.result()
                outcome["done"] += 1
            except Deadlocked:
                outcome["stopped"] += 1
    # Leaving the with block ran the queued second steps: the pool's threads are all gone.


def prepare(ctx: Any) -> None:
    hold = ctx.params["hold_s"]
    if ctx.strategy == "pool":
        ctx.note(
            f"a pool of {max(2, ctx.workers)} threads; each task hands its second step to the same pool "
            "and waits for it"
        )
        return
    ctx.note(
        f"{ctx.workers} threads x {ctx.tasks} transfers between accounts A and B; a transfer holds its "
        f"first lock {hold * 1000:g} ms before taking the second"
    )


def run(ctx: Any) -> dict:
    book = ctx.locks
    locks = (book.lock("A"), book.lock("B"))
    workers = max(2, ctx.workers)
    outcome = {"done": 0, "retries": 0, "stopped": 0}
    if ctx.strategy == "pool":
        _run_pool(ctx, book, workers, outcome)
        return {
            "transfers": workers,
            "completed": outcome["done"],
            "retries": 0,
            "stopped_threads": outcome["stopped"],
            "deadlocked": book.report is not None,
        }
    gate = threading.Barrier(workers)
    threads = [
        threading.Thread(
            target=_worker,
            args=(book, locks, ctx.strategy, i, ctx.tasks, ctx.params["hold_s"], gate, outcome),
            name=f"transfer-{i + 1}",
        )
        for i in range(workers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "transfers": workers * ctx.tasks,
        "completed": outcome["done"],
        "retries": outcome["retries"],
        "stopped_threads": outcome["stopped"],
        "deadlocked": book.report is not None,
    }
