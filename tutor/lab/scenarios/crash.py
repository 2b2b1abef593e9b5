"""When a worker crashes: what the other workers and the caller get to see.

Every case is caught and reported as data: that is the lesson. Threads share
one process, so an exception stays in its thread but a hard crash would take
everyone down; a process dies alone, and the caller learns it from an exit code
or a ``BrokenProcessPool``.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from tutor.lab import platform, report
from tutor.lab.report import COMPUTE, IDLE, phase, run_dying_with_runner

FAULTY_TASK = 1
STEP_TIMEOUT_S = 15
"""No step of the demonstration may hang the run: each waits at most this long."""


def explode(task: int) -> int:
    """A task that fails: task FAULTY_TASK raises, the others do a little work."""
    phase(COMPUTE, task)
    time.sleep(0.05)
    if task == FAULTY_TASK:
        phase(IDLE, task)
        raise ValueError(f"task {task} failed on purpose")
    phase(IDLE, task)
    return task


def die_hard(task: int) -> int:
    """A task whose process is killed (as by the OOM killer or a segfault)."""
    phase(COMPUTE, task)
    time.sleep(0.05)
    if task == FAULTY_TASK:
        os.kill(os.getpid(), platform.KILL_SIGNAL)
    phase(IDLE, task)
    return task


def _reap_children(timeout: float) -> None:
    """Join this process's remaining child processes; kill those that linger."""
    import multiprocessing

    deadline = time.monotonic() + timeout
    for child in multiprocessing.active_children():
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()
            child.join(1)


def _thread_case(n: int) -> dict:
    seen: list[str] = []
    finished: list[int] = []
    old_hook = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        seen.append(f"{args.exc_type.__name__}: {args.exc_value}")

    def body(i: int) -> None:
        explode(i)
        finished.append(i)

    threading.excepthook = hook
    try:
        threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()  # join() returns normally: it never re-raises the thread's exception
    finally:
        threading.excepthook = old_hook
    return {
        "case": "threading.Thread raises",
        "caller_sees": "nothing from join(); threading.excepthook got: " + "; ".join(seen),
        "others_finished": len(finished),
        "isolated": len(finished) == n - 1,
    }


def _executor_case(pool: Any, name: str, fn: Any, n: int) -> dict:
    futures = [pool.submit(fn, i) for i in range(n)]
    outcomes = []
    for f in futures:
        try:
            f.result(timeout=STEP_TIMEOUT_S)
            outcomes.append("ok")
        except BrokenProcessPool:
            outcomes.append("BrokenProcessPool")
        except Exception as exc:  # the lesson: re-raised in the caller by result()
            outcomes.append(f"{type(exc).__name__}: {exc}")
    return {
        "case": name,
        "caller_sees": sorted(set(outcomes) - {"ok"}),
        "others_finished": outcomes.count("ok"),
        "outcomes": outcomes,
    }


def run(ctx: Any) -> dict:
    n = ctx.tasks
    cases = []
    if ctx.strategy == "threads":
        cases.append(_thread_case(n))
        with ThreadPoolExecutor(n) as pool:
            cases.append(_executor_case(pool, "ThreadPoolExecutor task raises", explode, n))
        return {"cases": cases}
    mp = ctx.mp()
    for name, fn in (
        ("ProcessPoolExecutor task raises", explode),
        ("ProcessPoolExecutor worker killed", die_hard),
    ):
        pool = ctx.process_pool(n)
        try:
            cases.append(_executor_case(pool, name, fn, n))
        finally:
            # shutdown(wait=True) can hang on some versions when a worker died
            # mid-task (and once hung here, unexplained, under a full test run):
            # don't wait, reap the workers ourselves, within a bound.
            pool.shutdown(wait=False, cancel_futures=True)
            _reap_children(timeout=5)
    victim = mp.Process(target=run_dying_with_runner, args=(time.sleep, 30))
    victim.start()
    victim.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
    # Windows has no signals to die of: multiprocessing reports TerminateProcess as -SIGTERM.
    how = (
        "minus the signal number"
        if platform.SIGKILL is not None
        else "TerminateProcess, shown as minus SIGTERM"
    )
    victim.join()
    cases.append(
        {
            "case": "multiprocessing.Process killed",
            "caller_sees": f"exitcode {victim.exitcode} ({how})",
        }
    )
    mp_pool = mp.Pool(n, initializer=report.install, initargs=(ctx.report_queue,))
    try:
        # map() is map_async().get(): the same re-raise, with a timeout
        # because a Pool whose worker is killed would wait forever.
        mp_pool.map_async(explode, range(n)).get(timeout=STEP_TIMEOUT_S)
        seen = "no error"
    except ValueError as exc:
        seen = f"ValueError re-raised by map(): {exc}"
    except mp.TimeoutError:
        seen = f"no answer within {STEP_TIMEOUT_S} s (a Pool never notices a dead worker)"
    finally:
        # What `with Pool()` does on exit, bounded: terminate() joins helper threads.
        stopper = threading.Thread(target=mp_pool.terminate, daemon=True)
        stopper.start()
        stopper.join(STEP_TIMEOUT_S)
        _reap_children(timeout=5)
    cases.append({"case": "multiprocessing.Pool.map task raises", "caller_sees": seen})
    return {"cases": cases, "broken_pool": "BrokenProcessPool" in cases[1]["caller_sees"]}
