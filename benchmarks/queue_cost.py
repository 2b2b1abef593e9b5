"""What a full room's bench queue costs the one measured run.

    python benchmarks/queue_cost.py [--waiters 30] [--seconds 10] [--benchqueue FILE]

One process holds the only slot (the measured run); WAITERS processes wait in
line as the game's lab screen does (with an ``on_wait`` callback, so the wait
estimate is computed too). After they have settled, the CPU time all waiters
use over SECONDS is reported as a percentage of one core: that is what the
queue takes from the run it exists to protect. ``--benchqueue`` loads another
implementation (e.g. an older ``tutor/lab/benchqueue.py`` from git) to compare.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

WAITER = r"""
import importlib.util, sys, threading
from pathlib import Path
source = sys.argv[2]
if source:
    spec = importlib.util.spec_from_file_location("benchqueue_under_test", source)
    bq = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bq)
else:
    from tutor.lab import benchqueue as bq
bench = Path(sys.argv[1])
role = sys.argv[3]
if role == "holder":
    with bq.acquire(bench, slots=1, label="holder"):
        print("holding", flush=True)
        sys.stdin.read()  # until the benchmark closes our stdin
else:
    cancel = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), cancel.set()), daemon=True).start()
    try:
        with bq.acquire(bench, slots=1, label=role, cancel=cancel, on_wait=lambda p, e: None):
            pass
    except bq.QueueCancelled:
        pass
"""


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of ``pid``, to the nanosecond where Linux says it.

    psutil's figures come in clock ticks (10 ms): summed over 30 processes that
    rounding is as large as what is measured here.
    """
    tasks = Path(f"/proc/{pid}/task")
    if tasks.is_dir():
        total = 0
        for task in tasks.iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int((task / "schedstat").read_text().split()[0])
        return total / 1e9
    return sum(psutil.Process(pid).cpu_times()[:2])


def waiting(bench: Path) -> int:
    return sum(1 for _ in (bench / "tickets").glob("T-*"))


def measure(waiters: int, seconds: float, source: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="queue-cost-") as tmp:
        bench = Path(tmp) / "bench"
        bench.mkdir()

        def start(role: str) -> subprocess.Popen[str]:
            return subprocess.Popen(
                [sys.executable, "-c", WAITER, str(bench), source, role],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )

        holder = start("holder")
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        procs = [start(f"w{i}") for i in range(waiters)]
        deadline = time.monotonic() + 60
        while waiting(bench) < waiters:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {waiting(bench)} of {waiters} waiters queued in 60 s")
            time.sleep(0.1)
        time.sleep(2.0)  # past their imports and first scans
        pids = [p.pid for p in procs]

        def cpu() -> float:
            return sum(cpu_seconds(pid) for pid in pids)

        before, t0 = cpu(), time.monotonic()
        time.sleep(seconds)
        used, elapsed = cpu() - before, time.monotonic() - t0
        for p in [*procs, holder]:
            assert p.stdin is not None
            p.stdin.close()
        for p in [*procs, holder]:
            p.wait(timeout=30)
        return {"percent_of_a_core": 100 * used / elapsed, "cpu_s": used, "elapsed_s": elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiters", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--benchqueue", default="", help="a benchqueue.py to load instead")
    args = parser.parse_args()
    result = measure(args.waiters, args.seconds, args.benchqueue)
    which = args.benchqueue or "tutor.lab.benchqueue"
    print(
        f"{args.waiters} waiters ({which}): {result['percent_of_a_core']:.2f}% of a core "
        f"({result['cpu_s']:.3f} s CPU in {result['elapsed_s']:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
