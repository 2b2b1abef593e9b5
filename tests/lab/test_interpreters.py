"""Interpreters side by side: the runner under other Pythons, free-threaded ones included.

The free-threaded tests use a real build (``free_threaded_python`` in tests/conftest.py:
what scripts/free-threaded-python finds; CI builds one). pyenv's 3.12 and 3.13 run the
runner too where they are installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tutor.lab.client import LabRun, RunRequest
from tutor.lab.compare import Comparison, ComparisonPlan, speedup_limit, variant_of
from tutor.lab.interpreters import discover, interpreter_pool_problem, probe

SRC = str(Path(__file__).resolve().parents[2])
TUTOR = [sys.executable, "-m", "tutor"]

CLOSURE = r"""
import importlib, pkgutil, sys
sys.path.insert(0, {src!r})
import tutor.lab.runner, tutor.lab.sampler, tutor.lab.httpserver, tutor.lab.dies_with_runner
import tutor.lab.scenarios as scenarios
for m in pkgutil.iter_modules(scenarios.__path__):
    importlib.import_module("tutor.lab.scenarios." + m.name)
ours = ("tutor", "__main__", "__mp_main__")
third = sorted(m for m in sys.modules if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] not in ours)
print(",".join(third))
"""


def tutor(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TUTOR, *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_the_runner_imports_only_the_standard_library():
    # -I: no user site, no PYTHONPATH; -S: no site-packages at all, so a third-party
    # import fails outright. Then nothing outside the standard library may be loaded.
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", CLOSURE.format(src=SRC)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", (
        f"third-party modules in the runner's closure: {proc.stdout.strip()}"
    )


def _events(run: LabRun) -> tuple[list[dict], dict]:
    events = list(run.events())
    assert run.result is not None
    return events, run.result


def _crunch_threads(python: str) -> tuple[list[dict], dict]:
    """A quick crunch run with 2 threads under ``python``: its events and result."""
    request = RunRequest("crunch", "threads", tasks=2, quick=True, probe=False, python=python)
    with LabRun(request) as run:
        return _events(run)


def test_a_run_under_the_free_threaded_build_reports_the_gil_off(free_threaded_python):
    events, result = _crunch_threads(free_threaded_python)
    assert result["ok"], result["error"]
    assert Path(result["python_path"]).resolve() == Path(free_threaded_python).resolve()
    assert result["free_threaded_build"] is True
    assert result["gil_enabled"] is False
    started = events[0]
    assert started["facts"]["free_threaded_build"] is True
    # Lanes still show who ran: the sampler reads /proc in a runner without psutil.
    shares = [e["cpu_share"] for e in events if e["event"] == "sample" and e.get("cpu_share")]
    assert shares, "no cpu_share in any sample"


def test_the_gil_forced_back_on_is_what_the_result_says(free_threaded_python, monkeypatch):
    # PYTHON_GIL=1 turns the GIL on in a free-threaded build: the run must say so.
    monkeypatch.setenv("PYTHON_GIL", "1")
    _, result = _crunch_threads(free_threaded_python)
    assert result["ok"], result["error"]
    assert result["free_threaded_build"] is True and result["gil_enabled"] is True


def test_one_comparison_interleaves_strategies_and_interpreters_with_the_same_work(
    free_threaded_python,
):
    plan = ComparisonPlan(
        "crunch",
        ["threads@ft", "sequential@ft", "threads@gil", "sequential@gil"],
        quick=True,
        tasks=2,
        probe=False,
        max_rounds=2,
        min_rounds=2,
        pythons={"ft": free_threaded_python, "gil": sys.executable},
    )
    order: list[str] = []
    summaries = Comparison(plan).run(on_run=lambda run, k: order.append(run.variant))
    assert order[:4] == ["threads@ft", "sequential@ft", "threads@gil", "sequential@gil"]
    assert order[4:] == ["sequential@ft", "threads@gil", "sequential@gil", "threads@ft"]  # rotated
    by = {variant_of(s): s for s in summaries}
    assert all(s["ok"] for s in summaries), [s.get("error") for s in summaries]
    assert len({json.dumps(s["work"], sort_keys=True) for s in summaries}) == 1  # the same work
    assert by["threads@ft"]["gil_enabled"] is False and by["threads@gil"]["gil_enabled"] is True
    # Threads without a GIL are bounded by the cores, not by 1x; with it, by 1x.
    cores = by["threads@ft"]["cores"]
    assert by["threads@ft"]["speedup_limit"] == min(2, cores)
    assert by["threads@gil"]["speedup_limit"] == 1.0
    # Each speedup is against one at a time under the same Python.
    assert by["sequential@ft"]["speedup"] == 1.0 and by["sequential@gil"]["speedup"] == 1.0


def test_speedup_limit_knows_threads_without_a_gil():
    base = {"scenario": "crunch", "strategy": "threads", "tasks": 4, "workers": 4, "cores": 2}
    assert speedup_limit({**base, "gil_enabled": True}) == 1.0
    assert speedup_limit({**base, "gil_enabled": False}) == 2.0
    assert speedup_limit({**base, "strategy": "interpreters", "gil_enabled": True}) == 2.0


def test_doctor_lists_the_free_threaded_interpreter(free_threaded_python):
    env = dict(os.environ, TUTOR_PYTHONS=str(Path(free_threaded_python).parent))
    proc = tutor("doctor", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)["interpreters"]
    assert all({"path", "version", "free_threaded", "gil_enabled"} <= set(item) for item in found)
    ft = [i for i in found if i["free_threaded"] and not i["error"]]
    assert ft and ft[0]["gil_enabled"] is False
    assert any(Path(i["path"]).resolve() == Path(free_threaded_python).resolve() for i in ft)


def test_compare_across_two_pythons_from_the_command_line(free_threaded_python):
    proc = tutor(
        "run", "crunch", "--compare", "--quick", "--tasks", "2", "--repeat", "1", "--no-probe", "--json",
        "--python", sys.executable, "--python", free_threaded_python, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    results = [r for r in events if r["event"] == "result"]
    variants = [r["variant"] for r in results]
    # sequential, threads, processes and asyncio under each (interpreters needs 3.14)
    assert {v.split("@")[0] for v in variants} == {"sequential", "threads", "processes", "asyncio"}
    assert len(set(variants)) == 8
    assert {r["free_threaded_build"] for r in results} == {True, False}
    assert all(r["gil_enabled"] is (not r["free_threaded_build"]) for r in results)
    # Left out under Pythons older than 3.14, and said so in the stream itself.
    assert any(
        e["event"] == "note" and e["text"].startswith("interpreters: not run") for e in events
    )


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("/no/such/python", "no such file or command; found: "),
        ("/bin/true", "not a working Python 3"),
        ("3.99t", "no Python 3.99t found; found: "),
    ],
)
def test_a_wrong_python_is_one_line_naming_what_was_found(spec, says):
    proc = tutor("run", "crunch", "--strategy", "threads", "--quick", "--python", spec)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_python_older_than_3_11_is_refused_with_its_version():
    old = [i for i in discover() if i.version_info and i.version_info[:2] < (3, 11)]
    if not old:
        pytest.skip("no Python older than 3.11 on this machine")
    proc = tutor("run", "crunch", "--strategy", "threads", "--quick", "--python", old[0].path)
    assert proc.returncode == 2
    assert (
        f"Python {old[0].version}: too old" in proc.stderr
        and len(proc.stderr.strip().splitlines()) == 1
    )


def test_the_interpreters_strategy_is_refused_where_it_cannot_run():
    import concurrent.futures

    if hasattr(concurrent.futures, "InterpreterPoolExecutor"):
        pytest.skip("this Python has InterpreterPoolExecutor")
    proc = tutor("run", "crunch", "--strategy", "interpreters", "--quick")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "InterpreterPoolExecutor (Python 3.14+)" in proc.stderr
    assert interpreter_pool_problem(None) is not None


def test_the_interpreters_strategy_runs_under_a_3_14():
    found = [i for i in discover() if i.usable and i.interpreter_pool]
    if not found:
        pytest.skip(
            "no Python 3.14+ (InterpreterPoolExecutor) on this machine: uv python install 3.14"
        )
    with LabRun(
        RunRequest("crunch", "interpreters", tasks=2, quick=True, probe=False, python=found[0].path)
    ) as run:
        _, result = _events(run)
    assert result["ok"], result["error"]
    assert result["strategy"] == "interpreters" and result["python"] == found[0].version


def _pyenv(minor: str) -> str:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    for version in sorted(root.glob(f"{minor}.*"), reverse=True):
        exe = version / "bin" / f"python{minor}"
        if exe.exists() and probe(exe).usable:
            return str(exe)
    pytest.skip(f"no pyenv Python {minor} here")


@pytest.mark.parametrize("minor", ["3.12", "3.13"])
@pytest.mark.parametrize(
    ("scenario", "strategy", "start_method"),
    [
        ("crunch", "threads", None),
        ("downloads", "asyncio", None),
        ("crunch", "processes", "forkserver"),
    ],
)
def test_the_lab_runs_under_pyenv_pythons(minor, scenario, strategy, start_method):
    python = _pyenv(minor)
    request = RunRequest(
        scenario,
        strategy,
        tasks=2,
        quick=True,
        probe=False,
        start_method=start_method,
        python=python,
    )
    with LabRun(request) as run:
        events, result = _events(run)
    assert result["ok"], result["error"]
    assert result["python"].startswith(minor + ".") and result["python_path"] == python
    assert any(e["event"] == "worker_started" for e in events)


GIL_BACK = r"""
import os, sys
sys.path.insert(0, {src!r})
import tutor.lab.runner as runner
# As an extension module not ready for free-threading would: the GIL is off after
# the imports and on by the end of the run.
answers = iter([False, True])
runner.gil_enabled = lambda: next(answers)
code = runner.main()
sys.stderr.flush()
os._exit(code)
"""


def test_a_gil_that_came_back_during_the_run_is_reported(free_threaded_python):
    spec = {
        "scenario": "crunch",
        "strategy": "threads",
        "tasks": 2,
        "workers": 2,
        "quick": True,
        "params": {"task_s": 0.05},
        "probe": False,
        "work": {"steps_per_task": 20000},
        "parent_pid": os.getpid(),
    }
    proc = subprocess.Popen(
        [free_threaded_python, "-c", GIL_BACK.format(src=SRC)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(spec) + "\n")
    proc.stdin.flush()
    events = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if events[-1]["event"] == "result":
            break
    proc.stdin.close()  # the runner's parent is gone: it ends
    proc.wait(timeout=30)
    result = events[-1]
    assert result["event"] == "result" and result["ok"], proc.stderr.read() if proc.stderr else ""
    assert events[0]["facts"]["gil_enabled"] is False
    assert result["gil_enabled"] is True  # what really happened, not what it started with
    assert any(e["event"] == "note" and "GIL came back" in e["text"] for e in events)
