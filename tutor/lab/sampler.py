"""Sampling the run's process tree: CPU (100% = one core) and memory.

CPU is summed over the runner and every descendant, because per-core bars
mislead (two GIL-bound threads look like two half-busy cores) and
``os.times()`` misses forkserver grandchildren. Memory is PSS on Linux: summed
RSS counts pages shared after fork many times, USS not at all. Where there is
no ``/proc`` (macOS, Windows, portable mode) it is RSS, and every result says
which (``MEMORY_KIND``).

The runner imports this module, and the runner may run under another Python
(``tutor run --python 3.13t``) that has nothing but the standard library: on
Linux everything here reads ``/proc`` itself; psutil is imported only on the
fallback paths (macOS, Windows, portable mode), where the runner's Python must
have it (``tutor.lab.interpreters`` checks).

Per worker, :class:`WorkerClock` reads who really ran: each lane's thread or
process CPU time, as a share of the interval since its last read. The whole
tree's CPU cannot say that four GIL-bound threads take turns on one core.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tutor.lab.platform import HAS_PROC, HAS_PSS, HAS_SCHEDSTAT, MEMORY_KIND

if TYPE_CHECKING:
    import psutil

__all__ = ["MEMORY_KIND", "PeriodicSampler", "TreeSampler", "WorkerClock", "system_busy_seconds"]


def _pss(pid: int) -> int:
    """PSS from smaps_rollup: one small read, no page-table walk in Python."""
    with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
        for line in f:
            if line.startswith(b"Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def _descendants(root: int) -> list[int]:
    """Pids below ``root``, reading /proc/PID/stat of newer processes only.

    psutil's children(recursive=True) reads every process on the machine; our
    workers were all created after the runner, so on Linux (pids grow until
    they wrap around) only pids above the root's need a look.
    """
    if not HAS_PROC:
        import psutil

        return [c.pid for c in psutil.Process(root).children(recursive=True)]
    pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    newer = [pid for pid in pids if pid > root]
    # After a wrap-around, newer workers may have small pids: look at everything.
    candidates = newer if len(newer) < len(pids) and max(pids) > root else pids
    parent_of: dict[int, list[int]] = {}
    for pid in candidates:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # Field 4 (ppid) follows the command name, which may hold spaces or ')'.
        ppid = int(stat[stat.rindex(b")") + 2 :].split(b" ", 2)[1])
        parent_of.setdefault(ppid, []).append(pid)
    found, queue = [], [root]
    while queue:
        for child in parent_of.get(queue.pop(), ()):
            found.append(child)
            queue.append(child)
    return found


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if HAS_PROC and hasattr(os, "sysconf") else 100
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if HAS_PROC and hasattr(os, "sysconf") else 4096


def _stat_fields(pid: int) -> list[bytes]:
    """/proc/PID/stat from field 3 on (field n is item n - 3): the name may hold spaces or ')'."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    return stat[stat.rindex(b")") + 2 :].split()


class ProcProcess:
    """One process of the tree read from /proc: what psutil.Process gives here, without psutil.

    The start time (field 22) is kept, so a reused pid is never taken for the
    same process (psutil checks its create time for the same reason).
    """

    __slots__ = ("pid", "_start")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._start = _stat_fields(pid)[19]

    def cpu_seconds(self) -> float:
        """Own user+system time plus that of reaped children (fields 14-17), like psutil's cpu_times()."""
        fields = _stat_fields(self.pid)
        if fields[19] != self._start:
            raise ProcessLookupError(self.pid)
        return sum(int(x) for x in fields[11:15]) / _CLOCK_TICKS

    def rss(self) -> int:
        with open(f"/proc/{self.pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE_SIZE


class PsutilProcess:
    """The same through psutil, where there is no /proc of our own (macOS, Windows, portable)."""

    __slots__ = ("pid", "_proc")

    def __init__(self, pid: int) -> None:
        import psutil

        self.pid = pid
        self._proc = psutil.Process(pid)

    def cpu_seconds(self) -> float:
        t = self._proc.cpu_times()
        return float(t.user + t.system + t.children_user + t.children_system)

    def rss(self) -> int:
        return int(self._proc.memory_info().rss)


TreeProcess = ProcProcess | PsutilProcess


def _process(pid: int) -> TreeProcess:
    return ProcProcess(pid) if HAS_PROC else PsutilProcess(pid)


def _gone_errors() -> tuple[type[BaseException], ...]:
    """What reading a process that ended (or that we may not read) raises."""
    if HAS_PROC:
        return (OSError, ValueError, IndexError)
    import psutil

    return (OSError, ValueError, IndexError, psutil.Error)


class TreeSampler:
    """Totals for the runner's process tree, excluding helper processes (the HTTP server).

    Finding descendants means reading every process's /proc entry, the
    sampler's main cost, so the periodic sampler rescans at 2 Hz (with each
    memory reading) and direct calls rescan; a new worker's CPU is counted
    within half a second. CPU times are cumulative, and a worker that ends hands
    its time to its parent, but only once the parent reaps it: a sample taken
    in between misses that time (the periodic sampler clamps such samples).
    """

    def __init__(self, root_pid: int | None = None) -> None:
        self.root = _process(root_pid or os.getpid())
        self.excluded: set[int] = set()
        self._tree_cache: list[TreeProcess] | None = None
        self._gone = _gone_errors()

    def exclude(self, pid: int) -> None:
        self.excluded.add(pid)
        self._tree_cache = None

    def tree(self, rescan: bool = False) -> list[TreeProcess]:
        """The root and its descendants; found again only when ``rescan`` (or never yet)."""
        if rescan or self._tree_cache is None:
            known = {p.pid: p for p in self._tree_cache or ()}
            tree = [self.root]
            for pid in _descendants(self.root.pid):
                if pid in self.excluded:
                    continue
                # Reuse the handles: each checks its start time against pid reuse.
                proc = known.get(pid)
                if proc is None:
                    try:
                        proc = _process(pid)
                    except self._gone:
                        continue
                tree.append(proc)
            self._tree_cache = tree
        return self._tree_cache

    def cpu_seconds(self, tree: list[TreeProcess] | None = None) -> float:
        """User+system CPU of the tree so far.

        Each process counts its own time plus its reaped children's (the
        kernel moves a finished child's time into its parent's), so every
        process is counted exactly once, forkserver grandchildren included.
        """
        total = 0.0
        for proc in tree or self.tree(rescan=True):
            try:
                total += proc.cpu_seconds()
            except self._gone:
                continue
        return total

    def memory_bytes(self, tree: list[TreeProcess] | None = None) -> int:
        total = 0
        for proc in tree or self.tree(rescan=True):
            try:
                total += _pss(proc.pid) if HAS_PSS else proc.rss()
            except self._gone:
                continue
        return total


def system_busy_seconds() -> float:
    """CPU seconds used by everything on the machine (all CPUs), from /proc/stat."""
    if HAS_PROC:
        with open("/proc/stat", "rb") as f:
            # cpu  user nice system idle iowait irq softirq steal guest guest_nice (in ticks);
            # guest time is already inside user and nice.
            ticks = [int(x) for x in f.readline().split()[1:]]
        busy = sum(ticks[:8]) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)
        return busy / _CLOCK_TICKS
    import psutil

    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    return sum(t) - idle - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


class _Watched:
    """One lane's worker and its last CPU reading."""

    __slots__ = ("cpu_s", "fd", "pid", "t", "tid")

    def __init__(self, pid: int, tid: int) -> None:
        self.pid = pid
        self.tid = tid
        self.fd = -1
        self.t = 0.0
        self.cpu_s = 0.0


class WorkerClock:
    """CPU time of each lane's own thread or process, as shares of real intervals.

    A lane is (pid, tid): a thread of the runner, or a process's main thread
    (tid == pid). On Linux the first field of ``/proc/PID/task/TID/schedstat``
    is nanoseconds on a CPU, exact to the scheduler's accounting; ``/proc``
    stat's utime has only 10 ms ticks. Each file is opened once and re-read
    with ``pread``: a sampler thread inside a GIL-bound process waits for the
    GIL again after every system call, and in a test with 4 GIL-bound threads
    open/read/close per lane stretched 0.1 s windows to 0.3-0.4 s and cost
    1.5 ms a sample, one pread per lane gave 0.11-0.14 s and 0.2 ms. The open
    file also names that very task, so a reused TID cannot be mistaken for a
    finished worker. Elsewhere psutil gives user+system per thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lanes: dict[str, _Watched] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._gone = _gone_errors()
        self._closed = False

    def watch(self, lane: str, pid: int, tid: int) -> None:
        """Start the lane's clock now: its first share covers the time from here."""
        w = _Watched(pid, tid)
        # sys.platform too, so type checks for Windows (no O_CLOEXEC, no pread) know it never gets here.
        if HAS_SCHEDSTAT and sys.platform != "win32":
            try:
                w.fd = os.open(f"/proc/{pid}/task/{tid}/schedstat", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return  # not a thread we can see (a worker process's thread): no share
        reading = self._read(w)
        if reading is None:
            self._forget(w)
            return
        w.t, w.cpu_s = reading
        with self._lock:
            if lane in self._lanes or self._closed:
                self._forget(w)
            else:
                self._lanes[lane] = w

    def _read(
        self, w: _Watched, threads: dict[int, dict[int, float]] | None = None
    ) -> tuple[float, float] | None:
        """(monotonic time, CPU seconds so far), or None once the worker is gone.

        ``threads`` caches one listing of each process's threads for a whole
        pass: without /proc, listing them is the expensive part, and every
        system call waits for the GIL again.
        """
        try:
            if w.fd >= 0 and sys.platform != "win32":
                data = os.pread(w.fd, 128, 0)
                now = time.monotonic()
                return now, int(data.split(None, 1)[0]) / 1e9
            import psutil

            proc = self._procs.get(w.pid)
            if proc is None:
                proc = self._procs[w.pid] = psutil.Process(w.pid)
            if w.tid == w.pid and w.pid != os.getpid():
                t = proc.cpu_times()
                now = time.monotonic()
                return now, t.user + t.system
            listing = threads.get(w.pid) if threads is not None else None
            if listing is None:
                listing = {t.id: t.user_time + t.system_time for t in proc.threads()}
                if threads is not None:
                    threads[w.pid] = listing
            cpu_s = listing.get(w.tid)
            return None if cpu_s is None else (time.monotonic(), cpu_s)
        except self._gone:
            return None

    def _forget(self, w: _Watched) -> None:
        if w.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(w.fd)
            w.fd = -1

    def shares(self) -> dict[str, float]:
        """lane -> fraction of its interval since the last read spent on a CPU, 0..1.

        Measured against each lane's own real interval: the sampler's wake-ups
        are late under the GIL, and a lane read later than the others would
        otherwise look busier. Lanes whose worker ended get none.
        """
        out: dict[str, float] = {}
        # Under the lock for the whole pass: an fd closed by close() meanwhile
        # could be reused by another file and read as if it were the worker.
        threads: dict[int, dict[int, float]] = {}
        with self._lock:
            for lane, w in list(self._lanes.items()):
                reading = self._read(w, threads)
                if reading is None:
                    self._forget(self._lanes.pop(lane))
                    continue
                now, cpu_s = reading
                span = now - w.t
                if span <= 0:
                    continue
                # The kernel adds a running task's time at ticks and switches, so
                # a share can come out a little above 1 or below 0: clamp.
                out[lane] = min(max((cpu_s - w.cpu_s) / span, 0.0), 1.0)
                w.t, w.cpu_s = now, cpu_s
        return out

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for w in self._lanes.values():
                self._forget(w)
            self._lanes.clear()


class PeriodicSampler:
    """Calls ``tree`` (and ``workers``, when given) about ``hz`` times a second on a daemon thread.

    The delay is re-armed after each sample, so a slow sample never piles up.
    ``emit(cpu_percent, mem_bytes, shares)`` gets each lane's CPU share of
    its last interval ({} without ``workers``).
    """

    def __init__(
        self,
        tree: TreeSampler,
        emit: Callable[[float, int, dict[str, float]], None],
        hz: float = 10.0,
        workers: WorkerClock | None = None,
    ) -> None:
        self.tree = tree
        self.emit = emit
        self.workers = workers
        self.period = 1.0 / hz
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lab-sampler", daemon=True)
        self.peak_mem = 0
        self.own_cpu_s = 0.0
        """CPU the sampler itself used: its cost, reported with every run."""
        self.cpu_start = 0.0
        self.t_start = 0.0
        self.busy_start = 0.0
        self.ncpu = os.cpu_count() or 1

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
            # Workers first, right after waking: the tree's many /proc reads each
            # wait for the GIL again, which would make the lanes' windows uneven.
            shares = self.workers.shares() if self.workers is not None else {}
            now = time.monotonic()
            count += 1
            memory_due = count % 5 == 0
            tree = self.tree.tree(rescan=memory_due)
            cpu = self.tree.cpu_seconds(tree)
            if memory_due:
                # PSS reads cost the most (one smaps_rollup per process): 2 Hz is plenty.
                mem = self.tree.memory_bytes(tree)
                self.peak_mem = max(self.peak_mem, mem)
            span = max(now - last_t, 1e-6)
            # A process's time moves to its parent only when the parent reaps it,
            # and a rescan adds a new worker's time all at once: one sample can
            # then fall below zero or above the machine. Shown as what is possible.
            percent = 100.0 * (cpu - last_cpu) / span
            self.emit(min(max(percent, 0.0), 100.0 * self.ncpu), mem, shares)
            last_t, last_cpu = now, cpu
            self.own_cpu_s += time.thread_time() - own

    def stop(self) -> dict:
        """Stop and return the whole run's averages, including foreign load."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        if self.workers is not None:
            self.workers.close()
        now = time.monotonic()
        wall = max(now - self.t_start, 1e-6)
        ours = max(0.0, self.tree.cpu_seconds() - self.cpu_start)
        busy = system_busy_seconds() - self.busy_start
        self.peak_mem = max(self.peak_mem, self.tree.memory_bytes())
        foreign = max(0.0, busy - ours) / (wall * self.ncpu) * 100.0
        return {
            "cpu_percent": 100.0 * ours / wall,
            "peak_mem_bytes": self.peak_mem,
            "foreign_load_percent": min(100.0, foreign),
            "sampler_cpu_percent": round(100.0 * self.own_cpu_s / wall, 2),
        }
