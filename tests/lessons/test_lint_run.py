"""`tutor lint --run`: real quick runs, a verdict per challenge, no process left behind."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tutor.lessons import load_lesson_file
from tutor.lessons.reproduce import check_challenge

ROOT = Path(__file__).resolve().parents[2]

needs_lab = pytest.mark.skipif(
    importlib.util.find_spec("tutor.lab.client") is None
    or importlib.util.find_spec("tutor.lab.verdict") is None,
    reason="tutor.lab.client / tutor.lab.verdict not written yet (lab engineer's part)",
)

CRUNCH = """\
---
id: run-demo
title: Run demo
order: 1
summary: One CPU challenge.
topics: [gil]
minutes: 1
---

```challenge
id: run-demo-crunch
scenario: crunch
params: {tasks: 2, task_s: TASK_S}
question: "2 tasks of pure-Python arithmetic: which is faster?"
choices:
  - strategy: threads
    label: threads
  - strategy: processes
    label: processes
expect:
  winner: processes
explain:
  threads: "t"
  processes: "p"
```
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


@needs_lab
def test_lint_run_measures_and_reports_each_challenge(lessons):
    lessons.write(CRUNCH.replace("TASK_S", "0.1"))
    r = subprocess.run(
        [sys.executable, "-m", "tutor", "lint", "--run", str(lessons.root)],
        capture_output=True, text=True, timeout=120, env=_env(), cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    (report,) = [ln for ln in lines if "run-demo-crunch (crunch): measured winner" in ln]
    assert report.startswith(f"{lessons.root / '01-demo.md'}:10: ")
    assert "threads " in report and "processes " in report  # both timings shown
    assert any(
        v in report
        for v in ("reproduces the textbook", "too close to call", "this machine differs")
    )
    if "reproduces the textbook" not in report:
        assert any(ln.startswith("    why: ") for ln in lines), (
            "a difference must come with reasons"
        )
    summary = lines[-1]
    counts = [int(w) for w in summary.replace(",", "").split() if w.isdigit()]
    assert sum(counts) == 1 and summary.endswith("failed to run") and "0 failed" in summary


def _lesson_challenge(lessons):
    lesson, errors = load_lesson_file(lessons.write(CRUNCH.replace("TASK_S", "0.1")))
    assert errors == []
    return lesson.challenges[0]


def _summary(strategy: str, wall_s: float, **extra) -> dict:
    base = {
        "event": "result", "scenario": "crunch", "strategy": strategy, "wall_s": wall_s, "ok": True,
        "error": None, "cores": 2, "parallel_capacity": 1.95, "python": "3.11.7", "gil_enabled": True,
        "free_threaded_build": False, "noisy": False, "foreign_load_percent": 2.0, "spread": 0.02,
        "peak_mem_bytes": 30_000_000, "start_method": None,
    }  # fmt: skip
    base.update(extra)
    return base


@needs_lab
def test_verdict_agrees_when_the_expected_winner_is_clearly_fastest(lessons):
    status, line, reasons = check_challenge(
        _lesson_challenge(lessons), [_summary("threads", 1.0), _summary("processes", 0.5)]
    )
    assert status == "agrees" and "reproduces the textbook (processes)" in line and reasons == []


@needs_lab
def test_verdict_says_when_the_expected_winner_only_narrowly_wins(lessons):
    status, line, reasons = check_challenge(
        _lesson_challenge(lessons), [_summary("threads", 1.05), _summary("processes", 1.0)]
    )
    assert status == "agrees"
    assert "reproduces the textbook (processes), but within the noise of threads" in line
    assert reasons[0] == "threads 5% behind, inside this machine's run-to-run spread"


@needs_lab
def test_verdict_on_one_core_says_why(lessons):
    results = [_summary("threads", 0.5, cores=1), _summary("processes", 1.0, cores=1)]
    status, line, reasons = check_challenge(_lesson_challenge(lessons), results)
    assert status == "differs" and "textbook says processes: this machine differs" in line
    assert "processes measured 100% worse than threads here" in reasons[0]
    assert any("only 1 core" in r for r in reasons)


@needs_lab
def test_verdict_names_the_quick_sizes_that_favour_threads(lessons):
    # CRUNCH fixes tasks and task_s; a chef challenge with defaults gets shrunk.
    text = CRUNCH.replace("TASK_S", "0.1").replace("scenario: crunch", "scenario: chef")
    text = text.replace("params: {tasks: 2, task_s: 0.1}", "params: {workers: 4}")
    lesson, errors = load_lesson_file(lessons.write(text))
    assert errors == []
    status, _, reasons = check_challenge(
        lesson.challenges[0], [_summary("threads", 0.5), _summary("processes", 0.7)]
    )
    assert status == "differs"
    (quick,) = [r for r in reasons if r.startswith("quick sizes")]
    assert "2 tasks instead of 4" in quick and "prep_s 0.08 instead of 0.2" in quick
    _, _, fixed = check_challenge(
        _lesson_challenge(lessons), [_summary("threads", 0.5), _summary("processes", 0.7)]
    )
    assert not any(r.startswith("quick sizes") for r in fixed)


@needs_lab
def test_verdict_on_a_loaded_machine_names_the_load(lessons):
    loaded = {"parallel_capacity": 1.1, "noisy": True, "foreign_load_percent": 90.0}
    results = [_summary("threads", 0.5, **loaded), _summary("processes", 0.8, **loaded)]
    status, _, reasons = check_challenge(_lesson_challenge(lessons), results)
    assert status == "differs"
    assert any("other programs were using the CPU" in r for r in reasons)
    assert any("90%" in r for r in reasons)


@needs_lab
def test_verdict_calls_a_close_result_a_tie(lessons):
    status, line, reasons = check_challenge(
        _lesson_challenge(lessons), [_summary("threads", 1.0), _summary("processes", 1.05)]
    )
    assert status == "tied" and "too close to call" in line
    assert "processes measured 5% behind threads" in reasons[0]


@needs_lab
def test_interrupting_lint_run_leaves_no_process_behind(lessons):
    psutil = pytest.importorskip("psutil")
    lessons.write(CRUNCH.replace("TASK_S", "5"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tutor", "lint", "--run", str(lessons.root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT,
    )  # fmt: skip
    try:
        me = psutil.Process(proc.pid)
        seen: set[int] = set()
        deadline = time.monotonic() + 60
        # Wait until the workload runs: the runner has started its own workers.
        while time.monotonic() < deadline and len(seen) < 2:
            for child in me.children(recursive=True):
                seen.add(child.pid)
            time.sleep(0.1)
        assert seen, "lint --run never started a runner"
        running = [pid for pid in seen if psutil.pid_exists(pid)]
        assert running, "nothing was running when interrupted: the test would prove nothing"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert "Traceback" not in err
        time.sleep(0.5)
        alive = [
            pid
            for pid in seen
            if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
        ]
        assert alive == [], f"left behind: {alive}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
