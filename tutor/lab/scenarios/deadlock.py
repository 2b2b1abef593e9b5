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
"""

from __future__ import annotations

import random
import threading
import time
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


def prepare(ctx: Any) -> None:
    hold = ctx.params["hold_s"]
    ctx.note(
        f"{ctx.workers} threads x {ctx.tasks} transfers between accounts A and B; a transfer holds its "
        f"first lock {hold * 1000:g} ms before taking the second"
    )


def run(ctx: Any) -> dict:
    book = ctx.locks
    locks = (book.lock("A"), book.lock("B"))
    workers = max(2, ctx.workers)
    outcome = {"done": 0, "retries": 0, "stopped": 0}
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
