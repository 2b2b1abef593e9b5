"""The deadlock watchdog: locks that say who holds and who waits, and a thread that notices a cycle.

A scenario takes its locks from ``ctx.locks`` (a :class:`LockBook` the runner
attaches to every run) and wraps each worker's body in ``ctx.locks.worker()``::

    a, b = ctx.locks.lock("A"), ctx.locks.lock("B")
    with ctx.locks.worker():
        with a:
            with b:
                ...

A :class:`TrackedLock` is a real ``threading.Lock``; it only also records
who holds it and who waits for it, and tells the lanes ("has A wants B").
The watchdog thread starts with the first lock. When no worker made progress
for ``stall_s`` seconds while every worker waits, without a time-out, for a
lock, and those waits form a cycle (w1 waits for w2's lock, w2 for w1's),
it reports a :class:`~tutor.lab.events.Deadlock` and stops the workers
cleanly: a waiting acquire raises :class:`Deadlocked` in its thread, whose
``with`` blocks then release what it holds, so every thread ends.

The wait is a loop of short timed acquires only so that the watchdog can end
it; it never gives up on its own, so the deadlock is as real as with a plain
``acquire()``: nothing else would ever end it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from tutor.lab.events import Deadlock, LockWait
from tutor.lab.report import COMPUTE, IDLE, WAIT, lane_key, phase

SLICE_S = 0.05
"""How often a waiting acquire looks whether the watchdog stopped the run."""
DEFAULT_STALL_S = 2.0


class Deadlocked(Exception):
    """Raised in a worker waiting on a lock once the watchdog found a deadlock."""


class LockBook:
    """Every tracked lock of one run: holders, waiters, progress; and the watchdog thread."""

    def __init__(
        self,
        stall_s: float = DEFAULT_STALL_S,
        lane_of: Callable[[str], str] = str,
        on_deadlock: Callable[[Deadlock], None] | None = None,
    ) -> None:
        self.stall_s = stall_s
        self._lane_of = lane_of
        self._on_deadlock = on_deadlock
        self._mutex = threading.Lock()
        self._holders: dict[str, str] = {}
        self._held: dict[str, list[str]] = {}
        self._waiting: dict[str, tuple[str, bool]] = {}
        """worker -> (lock it waits for, True when it waits without a time-out)."""
        self._inside: set[str] = set()
        self._tasks: dict[str, str] = {}
        """worker -> the pool task it waits for (``wait_for``)."""
        self._progress_at = time.monotonic()
        self._started_at = time.monotonic()
        self._stop = threading.Event()
        self.aborted = threading.Event()
        self.report: Deadlock | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def for_run(
        cls,
        params: dict[str, Any],
        lane_of: Callable[[str], str],
        on_deadlock: Callable[[Deadlock], None],
    ) -> LockBook:
        return cls(float(params.get("stall_s", DEFAULT_STALL_S)), lane_of, on_deadlock)

    # -- what scenarios use ----------------------------------------------

    def lock(self, name: str) -> TrackedLock:
        self._start_watching()
        return TrackedLock(name, self)

    def _start_watching(self) -> None:
        with self._mutex:
            if self._thread is None:
                # Only runs that use tracked locks pay for the watching thread.
                self._started_at = self._progress_at = time.monotonic()
                self._thread = threading.Thread(
                    target=self._watch, name="lab-deadlock-watch", daemon=True
                )
                self._thread.start()

    @contextlib.contextmanager
    def worker(self) -> Iterator[None]:
        """The body of one worker: while inside, it counts for "every worker waits"."""
        self._start_watching()
        me = lane_key()
        with self._mutex:
            self._inside.add(me)
        try:
            yield
        finally:
            with self._mutex:
                self._inside.discard(me)
                self._progress_at = time.monotonic()

    def progress(self) -> None:
        """A unit of work was completed (the watchdog's clock restarts)."""
        with self._mutex:
            self._progress_at = time.monotonic()

    def wait_for(self, future: Any, what: str) -> Any:
        """``future.result()`` for a task of a pool, watched like a lock wait without a time-out.

        When every worker waits like this (or on a lock) and nothing progresses,
        the tasks they wait for can never start: every worker that could run
        them is one of the waiters. The watchdog then stops the waiters.
        """
        me = lane_key()
        with self._mutex:
            self._tasks[me] = what
        phase(WAIT, detail=f"wants {what}")
        try:
            while True:
                if self.aborted.is_set():
                    future.cancel()
                    raise Deadlocked(f"stopped while waiting for {what}")
                try:
                    return future.result(timeout=SLICE_S)
                except FutureTimeout:
                    continue
        finally:
            with self._mutex:
                self._tasks.pop(me, None)
                self._progress_at = time.monotonic()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    # -- what TrackedLock tells it ---------------------------------------

    def _holding(self, me: str) -> list[str]:
        return list(self._held.get(me, ()))

    def _took(self, me: str, name: str) -> list[str]:
        with self._mutex:
            self._holders[name] = me
            self._held.setdefault(me, []).append(name)
            self._progress_at = time.monotonic()
            return self._holding(me)

    def _released(self, me: str, name: str) -> list[str]:
        with self._mutex:
            self._holders.pop(name, None)
            held = self._held.get(me, [])
            if name in held:
                held.remove(name)
            self._progress_at = time.monotonic()
            return self._holding(me)

    def _waits(self, me: str, name: str, forever: bool) -> list[str]:
        with self._mutex:
            self._waiting[me] = (name, forever)
            return self._holding(me)

    def _done_waiting(self, me: str) -> None:
        with self._mutex:
            self._waiting.pop(me, None)

    # -- the watchdog ----------------------------------------------------

    def _watch(self) -> None:
        while not self._stop.wait(SLICE_S):
            found = self._check()
            if found is not None:
                self.report = found
                self.aborted.set()
                if self._on_deadlock is not None:
                    self._on_deadlock(found)
                return

    def _check(self) -> Deadlock | None:
        now = time.monotonic()
        with self._mutex:
            inside = set(self._inside)
            waiting = dict(self._waiting)
            holders = dict(self._holders)
            held = {w: list(names) for w, names in self._held.items()}
            tasks = dict(self._tasks)
            stalled = now - self._progress_at
        if not inside or stalled < self.stall_s:
            return None
        if all(w in tasks for w in inside):
            return self._pool_report(sorted(inside), tasks, now, stalled)
        if not all(w in waiting and waiting[w][1] for w in inside):
            return None  # someone works, or will give up after its time-out
        cycle = _cycle(waiting, holders)
        if not cycle:
            return None
        lane = self._lane_of
        entries = [
            LockWait(
                worker=lane(w),
                holds=held.get(w, []),
                waits_for=waiting[w][0],
                held_by=lane(holders[waiting[w][0]]) if waiting[w][0] in holders else None,
            )
            for w in cycle
        ]
        text = "; ".join(
            f"{e['worker']} holds {' and '.join(e['holds']) or 'nothing'} and waits for {e['waits_for']}, "
            f"held by {e['held_by']}"
            for e in entries
        )
        return Deadlock(
            after_s=round(now - self._started_at, 3),
            stalled_s=round(stalled, 3),
            cycle=entries,
            text=text,
        )

    def _pool_report(
        self, workers: list[str], tasks: dict[str, str], now: float, stalled: float
    ) -> Deadlock:
        """Every worker of a pool waits for a task of the same pool: none is free to run one."""
        lanes = [self._lane_of(w) for w in workers]
        entries = [
            LockWait(worker=lane, holds=["a pool worker"], waits_for=tasks[w], held_by=None)
            for w, lane in zip(workers, lanes, strict=True)
        ]
        text = "; ".join(
            f"{e['worker']} runs a task and waits for {e['waits_for']}" for e in entries
        )
        text += ", which no free worker can start: every worker of the pool is waiting"
        return Deadlock(
            after_s=round(now - self._started_at, 3),
            stalled_s=round(stalled, 3),
            cycle=entries,
            text=text,
        )


def _cycle(waiting: dict[str, tuple[str, bool]], holders: dict[str, str]) -> list[str]:
    """Workers in a wait-for cycle (each waits for a lock the next one holds), or []."""
    for start in waiting:
        path: list[str] = []
        worker: str | None = start
        while worker is not None and worker not in path:
            path.append(worker)
            wanted = waiting.get(worker)
            worker = holders.get(wanted[0]) if wanted else None
        if worker is not None and worker in path:
            return path[path.index(worker) :]
    return []


class TrackedLock:
    """A ``threading.Lock`` that records its holder and waiters in a :class:`LockBook`."""

    def __init__(self, name: str, book: LockBook) -> None:
        self.name = name
        self._book = book
        self._lock = threading.Lock()

    def acquire(self, timeout: float | None = None) -> bool:
        """Like ``Lock.acquire(timeout=...)``; ``None`` waits until it gets the lock.

        Raises :class:`Deadlocked` once the watchdog has stopped the run.
        """
        me = lane_key()
        if self._book.aborted.is_set():
            raise Deadlocked(f"the run was stopped before taking {self.name}")
        if not self._lock.acquire(blocking=False):
            holding = self._book._waits(me, self.name, forever=timeout is None)
            phase(WAIT, detail=_words(holding, self.name))
            deadline = None if timeout is None else time.monotonic() + timeout
            try:
                while True:
                    if self._book.aborted.is_set():
                        raise Deadlocked(f"stopped while waiting for {self.name}")
                    wait = (
                        SLICE_S
                        if deadline is None
                        else min(SLICE_S, max(0.0, deadline - time.monotonic()))
                    )
                    if self._lock.acquire(timeout=wait):
                        if self._book.aborted.is_set():
                            # Freed by a thread the watchdog stopped: this one stops too.
                            self._lock.release()
                            raise Deadlocked(f"stopped while waiting for {self.name}")
                        break
                    if deadline is not None and time.monotonic() >= deadline:
                        phase(COMPUTE, detail=_words(holding, None))
                        return False
            finally:
                self._book._done_waiting(me)
        phase(COMPUTE, detail=_words(self._book._took(me, self.name), None))
        return True

    def locked(self) -> bool:
        return self._lock.locked()

    def release(self) -> None:
        holding = self._book._released(lane_key(), self.name)
        self._lock.release()
        phase(COMPUTE if holding else IDLE, detail=_words(holding, None))

    def __enter__(self) -> TrackedLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _words(holding: list[str], wants: str | None) -> str:
    """A lane's few words: 'has A wants B' (fits the lane label)."""
    parts = []
    if holding:
        parts.append("has " + "+".join(holding))
    if wants:
        parts.append("wants " + wants)
    return " ".join(parts)
