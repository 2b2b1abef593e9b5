"""A `tutor run` killed with SIGKILL leaves no process behind, whatever the start method.

SIGKILL cannot be caught, so nothing in the CLI can clean up: every process of
the run has to notice on its own (parent-death signal, pipes at end-of-file).
Each case runs natively and in portable mode (``platform_mode``), where no
parent-death signal and no process group helps: watcher threads must do it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time

import psutil
import pytest

from tests.lab.run_cli import start_json_run
from tutor.lab import platform

pytestmark = pytest.mark.skipif(
    os.name != "posix", reason="these tests fork and look at sessions (POSIX)"
)

WITHIN_S = 3.0


def _start(
    args: list[str], busy_workers: int
) -> tuple[subprocess.Popen[str], dict[int, psutil.Process]]:
    """Start a run; return once `busy_workers` distinct workers reported a phase, with its processes."""
    proc = start_json_run(args)
    assert proc.stdout is not None
    busy: set[str] = set()
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "started":  # the mode reached the run
            assert event["facts"]["platform_mode"] == platform.NAME
        if event["event"] == "phase":
            busy.add(event["worker"])
        if event["event"] == "result":
            proc.kill()
            pytest.fail(f"the run ended before it could be killed: {event.get('error')}")
        if len(busy) >= busy_workers:
            break
    return proc, _family(proc.pid)


def _family(cli_pid: int) -> dict[int, psutil.Process]:
    """Descendants of the CLI plus anything else in the runner's session (e.g. reparented helpers)."""
    family = {p.pid: p for p in psutil.Process(cli_pid).children(recursive=True)}
    sessions = set()
    for p in family.values():
        with contextlib.suppress(OSError):
            sessions.add(os.getsid(p.pid))
    sessions.discard(os.getsid(cli_pid))  # the test's own session: not the run's
    for p in psutil.process_iter():
        try:
            if os.getsid(p.pid) in sessions:
                family.setdefault(p.pid, p)
        except OSError:
            pass
    return family


def _alive(family: dict[int, psutil.Process]) -> list[str]:
    alive = []
    for p in family.values():
        try:
            # is_running also compares the creation time: a reused pid is not ours.
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{p.pid} {' '.join(p.cmdline()[1:4])[:80]}")
        except psutil.NoSuchProcess:
            pass
    return alive


def _kill_and_watch(proc: subprocess.Popen[str], family: dict[int, psutil.Process]) -> list[str]:
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + WITHIN_S
    while (alive := _alive(family)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for p in family.values():  # never leave a failed test's processes on a shared machine
        with contextlib.suppress(psutil.Error):
            p.kill()
    return alive


def _start_processes(scenario: str, method: str, workers: int, setting: str):
    """A processes run, one task a worker, once every worker is busy; ``setting`` makes tasks long."""
    return _start(
        [
            scenario,
            "--strategy",
            "processes",
            "--start-method",
            method,
            "--tasks",
            str(workers),
            "--workers",
            str(workers),
            "--set",
            setting,
        ],
        busy_workers=workers,
    )


def _assert_sigkill_ends_all(
    proc: subprocess.Popen[str], family: dict[int, psutil.Process]
) -> None:
    alive = _kill_and_watch(proc, family)
    assert not alive, (
        f"{len(alive)} of {len(family)} processes still alive {WITHIN_S:g} s after SIGKILL: {alive}"
    )


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_sigkill_of_the_cli_ends_every_process_of_a_processes_run(method, platform_mode):
    proc, family = _start_processes("crunch", method, 8, "task_s=2")
    # runner + 8 workers (+ fork server, resource tracker for forkserver/spawn)
    assert len(family) >= 9, family
    _assert_sigkill_ends_all(proc, family)


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_sigkill_of_the_cli_ends_the_local_http_server_too(method, platform_mode):
    proc, family = _start_processes("downloads", method, 8, "delay=8")
    assert any("tutor.lab.httpserver" in " ".join(p.cmdline()) for p in family.values())
    _assert_sigkill_ends_all(proc, family)


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_sigkill_of_the_runner_itself_ends_its_workers(method, platform_mode):
    # Nobody is left to kill the tree (the runner is the one that would): in portable
    # mode only each worker's own watch on its parent can end it.
    proc, family = _start_processes("crunch", method, 4, "task_s=2")
    runner = next(p for p in family.values() if "tutor.lab.runner" in p.cmdline())
    workers = {pid: p for pid, p in family.items() if pid != runner.pid}
    runner.kill()
    deadline = time.monotonic() + WITHIN_S
    while (alive := _alive(workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=10)
    for p in family.values():
        with contextlib.suppress(psutil.Error):
            p.kill()
    assert not alive, (
        f"{len(alive)} of {len(workers)} processes still alive {WITHIN_S:g} s after the runner's SIGKILL: {alive}"
    )


_LATE_CHILD = """
import os, sys, time
from tutor.lab import report
parent = os.getpid()
if os.fork() == 0:
    if {late}:
        while os.getppid() == parent:  # arm only once the parent is gone: the race
            time.sleep(0.01)
    {arm}
    print("survived", flush=True)
    os._exit(0)
if {late}:
    os._exit(0)
os.wait()
"""


@pytest.mark.parametrize("arm", ["report.die_with_parent(parent)", "report.die_with_parent()"])
@pytest.mark.parametrize("late", [True, False])
def test_a_child_whose_parent_died_before_it_armed_the_death_signal_leaves(
    arm, late, platform_mode
):
    # Without an explicit parent, the runner's pid in the environment is the expected parent.
    code = _LATE_CHILD.format(late=late, arm=arm).replace(
        "parent = os.getpid()",
        "parent = os.getpid(); os.environ['TUTOR_LAB_RUNNER_PID'] = str(parent)",
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    # stdout closes only when the (reparented) child exits too, so this waits for it.
    assert ("survived" in out.stdout) is (not late), out.stderr
