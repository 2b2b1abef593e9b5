"""What this operating system gives the lab, decided once, at import.

Linux has fast paths: ``/proc`` (PSS, per-thread CPU, a cheap process-tree
walk), ``prctl`` (a child dies with its parent) and process groups (one
``killpg`` ends a run). macOS has process groups but no ``/proc`` or
``prctl``; Windows has none of them and no POSIX signals beyond SIGTERM and
SIGINT. Everything here has a portable fallback built on psutil and threads.

``TUTOR_PLATFORM=portable`` forces every fallback on Linux too (no ``/proc``
reads of our own, no ``prctl``, no process groups, spawn by default), so the
fallbacks that macOS and Windows depend on run in this project's tests.

Cheap to import and free of Textual: the runner, the CLI and the game all
import it. Nothing POSIX-only is evaluated at import time (Windows must be
able to import every module that imports this one).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

PORTABLE = os.environ.get("TUTOR_PLATFORM", "").strip().lower() == "portable"
"""Forced fallbacks (``TUTOR_PLATFORM=portable``)."""

WINDOWS = sys.platform == "win32"
LINUX = sys.platform.startswith("linux")
POSIX = os.name == "posix"
NAME = "portable" if PORTABLE else sys.platform

SIGKILL: int | None = getattr(signal, "SIGKILL", None)
SIGHUP: int | None = getattr(signal, "SIGHUP", None)
KILL_SIGNAL: int = SIGKILL if SIGKILL is not None else signal.SIGTERM
"""The signal that cannot be caught. Windows has no SIGKILL, but there ``os.kill``
with any other signal is TerminateProcess, which cannot be caught either."""

HANGUP_EXIT = 128 + (SIGHUP if SIGHUP is not None else 1)
"""The exit status of a game whose terminal or server went away (129, as on POSIX)."""

PROCESS_GROUPS = POSIX and not PORTABLE and hasattr(os, "killpg") and hasattr(os, "getpgid")
"""Each run in its own process group (session), ended by one killpg."""

PARENT_DEATH_SIGNAL = LINUX and not PORTABLE
"""prctl(PR_SET_PDEATHSIG): the kernel kills a child whose parent dies."""

HAS_PROC = LINUX and not PORTABLE and os.path.isdir("/proc/self")
HAS_PSS = HAS_PROC and os.path.exists(f"/proc/{os.getpid()}/smaps_rollup")
HAS_SCHEDSTAT = HAS_PROC and os.path.exists(
    f"/proc/{os.getpid()}/task/{threading.get_native_id()}/schedstat"
)

MEMORY_KIND = "pss" if HAS_PSS else "rss"
"""How the run's memory is measured: PSS splits pages shared after fork between
the processes sharing them; RSS counts them in every process, so a tree of
forked processes looks bigger than it is."""

MEMORY_KINDS = {
    "pss": "PSS: shared pages split between the processes that share them",
    "rss": "RSS: shared pages counted once per process, so processes look bigger than they are",
}

PARENT_POLL_S = 0.25
"""How often a child without a parent-death signal checks its parent (orphans must go within 3 s)."""


# --- start methods -----------------------------------------------------------


def start_methods() -> list[str]:
    """Start methods this platform has, its default first.

    The default is fork on Linux up to 3.13, forkserver from 3.14, spawn on
    macOS and Windows (which has nothing else); spawn in portable mode.
    """
    import multiprocessing

    methods = list(multiprocessing.get_all_start_methods())
    if PORTABLE and "spawn" in methods:
        methods.remove("spawn")
        methods.insert(0, "spawn")
    return methods


def default_start_method() -> str:
    return start_methods()[0]


def probe_start_method() -> str:
    """For the runner's own short capacity probe: fork where it is safe and cheap (Linux)."""
    methods = start_methods()
    return "fork" if LINUX and not PORTABLE and "fork" in methods else methods[0]


# --- cores -------------------------------------------------------------------


def usable_cores() -> int:
    """Cores this process may run on: affinity-aware where the platform tells."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None and not PORTABLE:
        with contextlib.suppress(OSError):
            return max(1, len(affinity(0)))
    with contextlib.suppress(Exception):
        import psutil

        # psutil has affinity on Linux and Windows, not on macOS (AttributeError).
        return max(1, len(psutil.Process().cpu_affinity()))
    return max(1, os.cpu_count() or 1)


# --- starting and ending a run's process tree --------------------------------


def new_group_popen_kwargs() -> dict[str, Any]:
    """Popen arguments that put a runner in its own process group (where there are groups).

    On Windows a new process group only keeps the console's Ctrl+C away from
    the run; ending the run goes through psutil's process tree instead.
    """
    if PROCESS_GROUPS:
        return {"start_new_session": True}
    if WINDOWS:
        import subprocess

        return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    return {}


def _killpg_quiet(pgid: int, sig: int) -> None:
    # sys.platform as well as PROCESS_GROUPS: type checks for Windows then skip it.
    if sys.platform != "win32":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


def end_run(pid: int) -> None:
    """Ask the runner ``pid`` to end its run (it kills its own tree); see :func:`kill_tree` for force."""
    if PROCESS_GROUPS:
        # The whole group, so workers of a runner too stuck to handle it get it too.
        _killpg_quiet(pid, signal.SIGTERM)
    else:
        # Windows cannot deliver a catchable SIGTERM (os.kill there is TerminateProcess),
        # so the runner could not clean up after itself: end the tree from here.
        kill_tree(pid)


def kill_tree(pid: int) -> None:
    """Kill the runner ``pid`` and every process below it, now."""
    if PROCESS_GROUPS:
        _killpg_quiet(pid, KILL_SIGNAL)
    else:
        _kill_descendants(pid, include_root=True)


def kill_leftovers(pid: int) -> None:
    """After the runner ``pid`` ended: kill what it may have left behind, where that can be found.

    With process groups the leftovers are still in the runner's group. Without,
    an orphan is no longer below anyone we know: each lab process then leaves
    on its own when its parent goes (:func:`watch_parent`).
    """
    if PROCESS_GROUPS:
        _killpg_quiet(pid, KILL_SIGNAL)


def kill_own_tree_and_exit() -> None:
    """End this process and every process it started (the runner's last word)."""
    try:
        if PROCESS_GROUPS and sys.platform != "win32":
            os.killpg(os.getpgid(0), KILL_SIGNAL)
        else:
            _kill_descendants(os.getpid(), include_root=False)
    finally:
        os._exit(1)


def _kill_descendants(pid: int, *, include_root: bool) -> None:
    import psutil

    try:
        root = psutil.Process(pid)
        # Found before anything dies: a process whose parent died is reparented
        # and no longer below the root, so it could not be found afterwards.
        family = root.children(recursive=True)
    except psutil.Error:
        return
    # The root first: a pool's parent would otherwise start replacements for
    # killed workers (multiprocessing.Pool does).
    for proc in ([root] if include_root else []) + family:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def run_alive(pid: int) -> bool:
    """Is anything of the run whose runner is ``pid`` still alive?"""
    import psutil

    if not PROCESS_GROUPS or sys.platform == "win32":
        # Only the runner can be named: orphans leave on their own (watch_parent).
        try:
            proc = psutil.Process(pid)
            return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A group whose only member is our own unreaped (zombie) child is gone in practice.
    try:
        members = [p for p in psutil.process_iter(["pid"]) if _pgid(p.pid) == pid]
        return any(p.status() != psutil.STATUS_ZOMBIE for p in members)
    except Exception:
        return True


def _pgid(pid: int) -> int | None:
    if sys.platform == "win32":
        return None
    try:
        return os.getpgid(pid)
    except OSError:
        return None


# --- dying with the parent ---------------------------------------------------


def arm_parent_death_signal() -> bool:
    """Linux: have the kernel SIGKILL this process when its parent thread's process ends."""
    if not PARENT_DEATH_SIGNAL or SIGKILL is None:
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        return bool(libc.prctl(pr_set_pdeathsig, SIGKILL) == 0)
    except (OSError, AttributeError):
        return False


def parent_alive(parent: int) -> bool:
    """Is ``parent`` still this process's parent?

    POSIX reparents an orphan, so its parent pid changes. Windows keeps the dead
    parent's pid (which may even be reused), so there we ask psutil whether a
    process older than us still has that pid. Portable mode takes that path too.
    """
    if POSIX and not PORTABLE:
        return os.getppid() == parent
    import psutil

    try:
        proc = psutil.Process(parent)
        # A dead parent can linger as a zombie until its own parent reaps it, and
        # that may wait for us (we hold its stdout): a zombie counts as gone.
        return (
            proc.is_running()
            and proc.status() != psutil.STATUS_ZOMBIE
            and proc.create_time() <= psutil.Process().create_time()
        )
    except psutil.Error:
        return False


def watch_parent(parent: int, on_gone: Callable[[], None] | None = None) -> threading.Thread:
    """A daemon thread that ends this process (or calls ``on_gone``) once ``parent`` is gone.

    The fallback for :func:`arm_parent_death_signal`: polling costs a system
    call every PARENT_POLL_S and needs nothing the platform may lack.
    """

    def watch() -> None:
        while parent_alive(parent):
            time.sleep(PARENT_POLL_S)
        if on_gone is not None:
            on_gone()
        os._exit(1)

    thread = threading.Thread(target=watch, name="lab-parent-watch", daemon=True)
    thread.start()
    return thread
