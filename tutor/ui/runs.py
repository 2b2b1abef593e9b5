"""Every lab run the app started, so quitting (key, signal, hang-up) can stop them all.

Thread-safe: lab workers register runs from their threads, the app cancels
them from the UI thread or a signal handler.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import Any, Protocol


class _Run(Protocol):
    @property
    def pid(self) -> int | None: ...

    def cancel(self) -> None: ...


class RunTracker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: set[Any] = set()
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
        """After cancel_all: make sure no runner process group survives the app.

        LabRun.cancel() sends SIGTERM and escalates to SIGKILL from a daemon
        thread, which dies with the app; this is the last word.
        """
        with self._lock:
            groups = list(self._all)
        deadline = time.monotonic() + timeout
        while groups and time.monotonic() < deadline:
            groups = [g for g in groups if _group_alive(g)]
            if groups:
                time.sleep(0.05)
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A group whose only member is our own unreaped (zombie) child is gone in practice.
    try:
        import psutil

        members = [p for p in psutil.process_iter(["pid"]) if _pgid(p.pid) == pgid]
        return any(p.status() != psutil.STATUS_ZOMBIE for p in members)
    except Exception:
        return True


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None
