"""A program's process tree, for tests and benchmarks that must see it all gone (or measure it)."""

from __future__ import annotations

import time

import psutil


def family(pid: int) -> list[psutil.Process]:
    """The process ``pid`` and all its descendants (empty once it has gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def all_gone(processes: list[psutil.Process], timeout: float = 10.0) -> list[psutil.Process]:
    """Processes still running (not zombies) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    alive = processes
    while alive and time.monotonic() < deadline:
        alive = []
        for p in processes:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        if alive:
            time.sleep(0.1)
    return alive
