"""Who really runs: each lane's CPU share, from the sampler up to real `tutor run` streams."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from tutor.lab import platform
from tutor.lab.facts import usable_cores
from tutor.lab.sampler import WorkerClock

TUTOR = [sys.executable, "-m", "tutor"]


def _spin(stop: threading.Event, ready: list) -> None:
    ready.append(threading.get_native_id())
    while not stop.is_set():
        sum(range(1000))


def test_a_spinning_thread_gets_the_cpu_and_a_sleeping_one_does_not():
    stop, ready = threading.Event(), []
    spinner = threading.Thread(target=_spin, args=(stop, ready))
    sleeper_ids: list[int] = []
    sleeper = threading.Thread(
        target=lambda: (sleeper_ids.append(threading.get_native_id()), stop.wait())
    )
    spinner.start()
    sleeper.start()
    while not ready or not sleeper_ids:
        time.sleep(0.01)
    clock = WorkerClock()
    try:
        clock.watch("w1", os.getpid(), ready[0])
        clock.watch("w2", os.getpid(), sleeper_ids[0])
        clock.watch("w3", os.getpid(), 2**22 + 12345)  # no such thread: never gets a share
        time.sleep(0.3)
        shares = clock.shares()
        assert set(shares) == {"w1", "w2"}
        # The spinner holds the GIL while this thread sleeps: most of a core, on a shared machine.
        assert shares["w1"] > 0.3
        assert shares["w2"] < 0.05
        assert all(0.0 <= s <= 1.0 for s in shares.values())
        stop.set()
        spinner.join()
        sleeper.join()
        # A worker that ended is no longer known: no share, rather than a stale one.
        # join() returns when Python is done with the thread; the OS thread ends a moment later.
        deadline = time.monotonic() + 2.0
        while clock.shares() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert clock.shares() == {}
    finally:
        stop.set()
        clock.close()


def _real_run(strategy: str) -> tuple[list[float], dict]:
    """Per sample while all 4 lanes compute: the sum of their CPU shares; and the result."""
    proc = subprocess.run(
        [*TUTOR, "run", "crunch", "--strategy", strategy, "--tasks", "4", "--json", "--no-probe"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    announced = {e["worker"] for e in events if e["event"] == "worker_started"}
    sums = []
    for e in events:
        if e["event"] != "sample":
            continue
        shares = e["cpu_share"]
        assert set(shares) <= announced
        assert all(0.0 <= s <= 1.0 for s in shares.values())
        phases = e["workers"]
        if len(phases) == 4 and set(phases.values()) == {"compute"} and set(phases) <= set(shares):
            sums.append(sum(shares[w] for w in phases))
    assert sums, "no sample while all four workers computed"
    return sums, events[-1]


def test_gil_bound_threads_share_one_core():
    if platform.PORTABLE:
        # Measured: samples ~0.9 s apart instead of 0.1 s, so a 3 s run rarely has
        # one with all four lanes computing. On macOS and Windows psutil lists
        # threads in one call; on Linux it reads a /proc file per thread, each
        # read waiting for the GIL the four workers hold.
        pytest.skip("portable mode on Linux samples too slowly under the GIL for this check")
    # The GIL caps every run; the floor needs the machine, which is shared and
    # sometimes busy (LAB_NOTES): one of up to three runs must reach it.
    means, foreign = [], []
    for _ in range(3):
        sums, result = _real_run("threads")
        mean = sum(sums) / len(sums)
        means.append(round(mean, 2))
        foreign.append(result["foreign_load_percent"])
        assert mean <= 1.3, (means, sums)
        if mean >= 0.6:
            break
    if max(means) < 0.6 and all(f is not None and f > 15.0 for f in foreign):
        pytest.skip(f"the machine was busy: foreign load {foreign}%, shares {means}")
    assert max(means) >= 0.6, (means, foreign)


def test_processes_use_more_than_one_core():
    if usable_cores() < 2:
        pytest.skip("one usable core: processes cannot run side by side")
    # The CPU supply of a shared machine varies run to run (LAB_NOTES): best of three.
    means, foreign = [], []
    for _ in range(3):
        sums, result = _real_run("processes")
        means.append(round(sum(sums) / len(sums), 2))
        foreign.append(result["foreign_load_percent"])
        if means[-1] > 1.4:
            break
    if max(means) <= 1.4 and all(f is not None and f > 15.0 for f in foreign):
        # Other programs held the cores (the runner's "noisy" threshold): nothing to learn.
        pytest.skip(f"the machine was busy: foreign load {foreign}%, shares {means}")
    assert max(means) > 1.4, (means, foreign)
