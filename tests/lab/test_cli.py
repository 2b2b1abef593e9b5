"""`tutor run` and `tutor doctor` as a user runs them: real subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from tests.lab.run_cli import TUTOR, start_json_run


def tutor(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TUTOR, *args], capture_output=True, text=True, timeout=timeout)


def test_run_json_streams_events_and_ends_with_the_result():
    proc = tutor("run", "downloads", "--strategy", "threads", "--quick", "--json", "--no-probe")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["event"] == "started"
    assert events[-1]["event"] == "result"
    result = events[-1]
    assert result["scenario"] == "downloads" and result["strategy"] == "threads" and result["ok"]
    assert result["start_method"] is None


def test_compare_json_gives_one_median_result_per_strategy():
    proc = tutor(
        "run",
        "crunch",
        "--compare",
        "--repeat",
        "2",
        "--quick",
        "--json",
        "--no-probe",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    results = [e for e in events if e["event"] == "result"]
    assert [r["strategy"] for r in results] == ["sequential", "threads", "processes", "asyncio"]
    assert sum(e["event"] == "run_result" for e in events) == 8
    for r in results:
        assert len(r["wall_s_runs"]) == 2
        assert min(r["wall_s_runs"]) <= r["wall_s"] <= max(r["wall_s_runs"])
        assert r["speedup_low"] <= r["speedup"] <= r["speedup_high"]
        assert r["work"] == results[0]["work"]  # the same work for every strategy
    assert results[0]["speedup"] == 1.0
    assert results[2]["start_method"] in ("fork", "forkserver", "spawn")


def test_human_output_has_a_table_and_an_explanation():
    proc = tutor("run", "downloads", "--compare", "--quick", "--no-probe")
    assert proc.returncode == 0, proc.stderr
    assert "speedup" in proc.stdout and "threads" in proc.stdout
    assert "On this machine" in proc.stdout
    assert "waiting" in proc.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "nope", "-s", "threads"], "choose one of: downloads, crunch"),
        (
            ["run", "crunch", "-s", "hybrid"],
            "choose one of: sequential, threads, processes, asyncio",
        ),
        (
            ["run", "crunch", "-s", "threads", "--tasks", "0"],
            "--tasks must be a whole number from 1 to 64",
        ),
        (
            ["run", "crunch", "-s", "threads", "--tasks", "10000"],
            "--tasks must be a whole number from 1 to 64",
        ),
        (
            ["run", "crunch", "-s", "threads", "--workers", "0"],
            "--workers must be a whole number from 1 to 256",
        ),
        (["run", "crunch", "-s", "threads", "--tasks", "lots"], "--tasks must be a whole number"),
        (
            ["run", "downloads", "-s", "threads", "--set", "delay=abc"],
            "delay must be a number from 0 to 10",
        ),
        (["run", "downloads", "-s", "threads", "--set", "delay"], "--set takes KEY=VALUE"),
        (["run", "crunch"], "choose --strategy S"),
        (["run", "crunch", "-s", "processes", "--start-method", "teleport"], "invalid choice"),
        (
            ["run", "crunch", "--compare", "--repeat", "0"],
            "--repeat must be a whole number from 1 to 50",
        ),
    ],
)
def test_bad_input_gets_one_line_and_exit_status_2(args, expected):
    proc = tutor(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0]
    assert "Traceback" not in proc.stderr


def test_doctor_reports_the_machine_facts():
    proc = tutor("doctor", "--json")
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(proc.stdout)
    assert facts["cores"] >= 1
    assert facts["default_start_method"] in facts["start_methods"]
    assert facts["data_dir"] == os.environ["TUTOR_DATA_DIR"]
    assert tutor("doctor").returncode == 0


def test_run_does_not_import_textual():
    code = (
        "import sys; from tutor.cli import main; "
        "rc = main(['run', 'startup', '-s', 'threads', '--quick', '--json', '--no-probe']); "
        "assert 'textual' not in sys.modules, 'textual imported'; sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@contextlib.contextmanager
def _sigint_not_ignored() -> Iterator[None]:
    """Let the child start with SIGINT at its default, whatever pytest inherited.

    A test run started as a background job of a script (no job control) ignores
    SIGINT, and an ignored signal stays ignored across exec: Python then installs
    no KeyboardInterrupt handler, so `tutor run` rightly ignored the test's SIGINT,
    ran to the end and exited 0. A handled signal is reset to default by exec.
    """
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start_heavy_run(
    args: tuple[str, ...] = ("crunch", "--strategy", "processes", "--tasks", "4"), phases: int = 1
) -> tuple[subprocess.Popen[str], set[int]]:
    """A processes run; returns once `phases` phase events showed its workers at work."""
    with _sigint_not_ignored():
        proc = start_json_run(args)
    assert proc.stdout is not None
    seen = 0
    for line in proc.stdout:
        seen += json.loads(line)["event"] == "phase"
        if seen >= phases:
            break
    family = {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
    assert len(family) >= 3  # the runner and its worker processes
    return proc, family


def _gone(pids: set[int], within: float) -> set[int]:
    deadline = time.monotonic() + within
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        alive = {
            p
            for p in alive
            if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
        }
        time.sleep(0.05)
    return alive


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_a_run_stops_it_within_two_seconds_and_leaves_nothing(sig):
    proc, family = _start_heavy_run()
    t0 = time.monotonic()
    proc.send_signal(sig)
    proc.wait(timeout=10)
    assert time.monotonic() - t0 < 3.0
    assert proc.returncode in (130, 143)
    assert "cancelled" in proc.stderr.read()
    assert not _gone(family, within=2.0)


@pytest.mark.parametrize(
    ("args", "phases"),
    [
        (("crunch", "--strategy", "processes", "--tasks", "4"), 1),
        # Mid-way: Manager server, Queue producers and raw Process objects are alive.
        (("sharing", "--strategy", "processes", "--set", "increments=3000000"), 6),
    ],
    ids=["pool-workers", "manager-and-helpers"],
)
def test_killing_the_parent_with_sigkill_leaves_nothing(args, phases):
    proc, family = _start_heavy_run(args, phases)
    proc.kill()
    proc.wait(timeout=10)
    assert not _gone(family, within=3.0)
