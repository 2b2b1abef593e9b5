"""Every lab run the app started, so quitting (key, signal, hang-up) can stop them all.

Thread-safe: lab workers register runs from their threads, the app cancels
them from the UI thread or a signal handler.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from tutor.lab import platform


class _Run(Protocol):
    @property
    def pid(self) -> int | None: ...

    def cancel(self) -> None: ...


class RunTracker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: set[_Run] = set()
        self._all: list[int] = []
        self.closed = False

    def add(self, run: _Run) -> bool:
        """Register a run before it starts; False once the app is closing (do not start it)."""
        with self._lock:
            if self.closed:
                return False
            self._runs.add(run)
            return True

    def started(self, run: _Run) -> None:
        with self._lock:
            if run.pid is not None:
                self._all.append(run.pid)

    def discard(self, run: _Run) -> None:
        with self._lock:
            self._runs.discard(run)

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._runs)

    def cancel_all(self, *, close: bool = False) -> None:
        with self._lock:
            if close:
                self.closed = True
            runs = list(self._runs)
        for run in runs:
            run.cancel()

    def wait_gone(self, timeout: float = 3.0) -> None:
        """After cancel_all: make sure no run (its runner's process group, where
        there are groups) survives the app.

        LabRun.cancel() asks the runner to end and escalates from a daemon
        thread, which dies with the app; this is the last word.
        """
        with self._lock:
            runners = list(self._all)
        deadline = time.monotonic() + timeout
        while runners and time.monotonic() < deadline:
            runners = [pid for pid in runners if platform.run_alive(pid)]
            if runners:
                time.sleep(0.05)
        for pid in runners:
            platform.kill_tree(pid)
