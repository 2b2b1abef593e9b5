"""How workers tell the runner what they are doing (computing or waiting).

Workload functions call :func:`phase` at each change. The runner installs a
queue before the workload starts: a plain ``queue.SimpleQueue`` for threads,
asyncio and one-at-a-time runs, a :class:`ProcessChannel` (passed to each
process at start) for processes. Messages are tiny tuples, a few per task, so
reporting never competes with the work being measured.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from typing import Any

from tutor.lab import platform

COMPUTE = "compute"
WAIT = "wait"
IDLE = "idle"

_queue: Any = None


class ProcessChannel:
    """A one-way pipe that worker processes report through, without any lock.

    ``multiprocessing.SimpleQueue`` guards writes with a shared semaphore; a
    worker killed while holding it (a broken pool terminates its workers)
    would freeze every other worker forever. Each report is one small write
    (< PIPE_BUF), which POSIX pipes keep whole without a lock.
    """

    def __init__(self, mp_context: Any) -> None:
        self._reader, self._writer = mp_context.Pipe(duplex=False)

    def put(self, message: tuple) -> None:
        self._writer.send_bytes(pickle.dumps(message))

    def get(self) -> tuple:
        return pickle.loads(self._reader.recv_bytes())


def install(queue: Any) -> None:
    """Make :func:`phase` report to ``queue`` in this process (pool initializer)."""
    global _queue
    _queue = queue
    die_with_parent()


def lane_key() -> str:
    """Identify the current worker: its thread, or its process on the main thread.

    Asyncio tasks share one thread: they pass their own lane to :func:`phase`.
    """
    if threading.current_thread() is threading.main_thread():
        return f"p{os.getpid()}"
    return f"t{threading.get_native_id()}"


def phase(
    name: str, task: int | None = None, lane: str | None = None, detail: str | None = None
) -> None:
    """Report that the current worker now computes, waits or idles.

    ``detail`` says in a few words what it holds or waits for ("has A wants B");
    "" clears an earlier one.
    """
    if _queue is not None:
        message = ("phase", lane or lane_key(), name, task, time.monotonic())
        _queue.put(message if detail is None else (*message, detail))


def run_dying_with_runner(target: Any, *args: Any) -> Any:
    """Process target for helpers that never call :func:`install` (module level: picklable).

    A process blocked on a pipe would otherwise outlive a runner killed with SIGKILL.
    """
    die_with_parent()
    return target(*args)


RUNNER_PID_ENV = "TUTOR_LAB_RUNNER_PID"
"""Set by the runner for everything it starts, so a helper knows which parent it must outlive no longer."""

_forkserver_pid: int | None = None
"""Set in the fork server (see :mod:`tutor.lab.dies_with_runner`); its forked workers inherit it."""


def die_with_parent(parent: int | None = None, *, watch: bool = True) -> None:
    """Die with the parent: Linux's parent-death signal, elsewhere a watcher thread.

    ``parent`` is the pid the caller must have as parent; by default, in a
    process the runner started, the runner or the fork server. A parent that
    died before this was armed would never be noticed, so then we leave now.
    ``watch=False`` is for a caller that watches its parent some other way (the
    runner reads stdin to its end) and must stay single-threaded meanwhile.
    """
    expected = {parent} if parent else _lab_parents()
    if platform.arm_parent_death_signal():
        if expected and os.getppid() not in expected:
            os._exit(1)
        return
    if not expected:
        return  # not started by a lab runner: no parent it must not outlive
    ppid = os.getppid()
    if ppid not in expected or not platform.parent_alive(ppid):
        os._exit(1)
    if watch:
        platform.watch_parent(ppid)


def _lab_parents() -> set[int]:
    try:
        runner = int(os.environ.get(RUNNER_PID_ENV, ""))
    except ValueError:
        return set()  # not started by a lab runner: nothing to compare with
    if runner == os.getpid():
        return set()  # the runner names its own parent (the spec's parent_pid)
    return {runner} | ({_forkserver_pid} if _forkserver_pid else set())
