"""Sampling the run's process tree: CPU (100% = one core) and memory.

CPU is summed over the runner and every descendant, because per-core bars
mislead (two GIL-bound threads look like two half-busy cores) and
``os.times()`` misses forkserver grandchildren. Memory is PSS on Linux: summed
RSS counts pages shared after fork many times, USS not at all.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import psutil

HAS_PSS = os.path.exists(f"/proc/{os.getpid()}/smaps_rollup")
MEMORY_KIND = "pss" if HAS_PSS else "rss"


def _pss(pid: int) -> int:
    """PSS from smaps_rollup: one small read, no page-table walk in Python."""
    with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
        for line in f:
            if line.startswith(b"Pss:"):
                return int(line.split()[1]) * 1024
    return 0


class TreeSampler:
    """Totals for the runner's process tree, excluding helper processes (the HTTP server).

    Finding descendants means reading every process's /proc entry, the
    sampler's main cost, so the tree is rescanned only every ``rescan_every``
    calls; a new worker shows up within half a second at 10 Hz.
    """

    def __init__(self, root_pid: int | None = None, rescan_every: int = 5) -> None:
        self.root = psutil.Process(root_pid or os.getpid())
        self.excluded: set[int] = set()
        self.rescan_every = rescan_every
        self._calls = 0
        self._tree_cache: list[psutil.Process] = [self.root]

    def exclude(self, pid: int) -> None:
        self.excluded.add(pid)
        self._calls = 0

    def tree(self) -> list[psutil.Process]:
        if self._calls % self.rescan_every == 0:
            try:
                children = self.root.children(recursive=True)
            except psutil.Error:
                children = []
            known = {p.pid: p for p in self._tree_cache}
            # Reuse Process objects: psutil checks create_time against pid reuse.
            self._tree_cache = [self.root] + [
                known.get(c.pid, c) for c in children if c.pid not in self.excluded
            ]
        self._calls += 1
        return self._tree_cache

    def cpu_seconds(self, tree: list[psutil.Process] | None = None) -> float:
        """User+system CPU of the tree so far.

        Each process counts its own time plus its reaped children's (the
        kernel moves a finished child's time into its parent's), so every
        process is counted exactly once, forkserver grandchildren included.
        """
        total = 0.0
        for proc in tree or self.tree():
            try:
                t = proc.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system + t.children_user + t.children_system
        return total

    def memory_bytes(self, tree: list[psutil.Process] | None = None) -> int:
        total = 0
        for proc in tree or self.tree():
            try:
                total += _pss(proc.pid) if HAS_PSS else proc.memory_info().rss
            except (OSError, psutil.Error, ValueError):
                continue
        return total


def system_busy_seconds() -> float:
    """CPU seconds used by everything on the machine (all CPUs), from /proc/stat."""
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    return sum(t) - idle - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


class PeriodicSampler:
    """Calls ``tree`` about ``hz`` times a second on a daemon thread.

    The delay is re-armed after each sample, so a slow sample never piles up.
    """

    def __init__(self, tree: TreeSampler, emit: Callable[[float, int], None], hz: float = 10.0) -> None:
        self.tree = tree
        self.emit = emit
        self.period = 1.0 / hz
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lab-sampler", daemon=True)
        self.peak_mem = 0
        self.own_cpu_s = 0.0
        """CPU the sampler itself used: its cost, reported with every run."""
        self.cpu_start = 0.0
        self.t_start = 0.0
        self.busy_start = 0.0

    def start(self) -> None:
        self.t_start = time.monotonic()
        self.cpu_start = self.tree.cpu_seconds()
        self.busy_start = system_busy_seconds()
        self.peak_mem = self.tree.memory_bytes()
        self._thread.start()

    def _loop(self) -> None:
        last_t, last_cpu = self.t_start, self.cpu_start
        mem, count = self.peak_mem, 0
        while not self._stop.wait(self.period):
            own = time.thread_time()
            now = time.monotonic()
            tree = self.tree.tree()
            cpu = self.tree.cpu_seconds(tree)
            count += 1
            if count % 2 == 0:
                # PSS reads cost more than CPU reads: memory at 5 Hz is plenty.
                mem = self.tree.memory_bytes(tree)
                self.peak_mem = max(self.peak_mem, mem)
            span = max(now - last_t, 1e-6)
            self.emit(100.0 * (cpu - last_cpu) / span, mem)
            last_t, last_cpu = now, cpu
            self.own_cpu_s += time.thread_time() - own

    def stop(self) -> dict:
        """Stop and return the whole run's averages, including foreign load."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        now = time.monotonic()
        wall = max(now - self.t_start, 1e-6)
        ours = self.tree.cpu_seconds() - self.cpu_start
        busy = system_busy_seconds() - self.busy_start
        self.peak_mem = max(self.peak_mem, self.tree.memory_bytes())
        ncpu = psutil.cpu_count() or 1
        foreign = max(0.0, busy - ours) / (wall * ncpu) * 100.0
        return {
            "cpu_percent": 100.0 * ours / wall,
            "peak_mem_bytes": self.peak_mem,
            "foreign_load_percent": min(100.0, foreign),
            "sampler_cpu_percent": round(100.0 * self.own_cpu_s / wall, 2),
        }
