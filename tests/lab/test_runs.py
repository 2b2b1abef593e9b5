"""Real lab runs in quick mode: every scenario and strategy, the event stream's
shape and order, the result's fields, and facts robust enough to hold on a busy
machine. Speed thresholds live in benchmarks/lab.py, not here."""

from __future__ import annotations

import concurrent.futures
import contextlib
import time

import psutil
import pytest

from tutor.lab import platform
from tutor.lab.client import LabRun, RunRequest
from tutor.lab.compare import Comparison, ComparisonPlan
from tutor.lab.events import EVENT_KEYS, RESULT_KEYS, SUMMARY_KEYS
from tutor.lab.registry import SCENARIOS


def compare(scenario: str, strategies: list[str], **plan) -> list[dict]:
    return Comparison(ComparisonPlan(scenario, strategies, **plan)).run()


# The interpreters strategy runs only where InterpreterPoolExecutor exists (3.14+); its
# refusal elsewhere, and its run under a 3.14 when one is found, are in test_interpreters.py.
CASES = [
    (name, s)
    for name, info in SCENARIOS.items()
    for s in info.strategies
    if s != "interpreters" or hasattr(concurrent.futures, "InterpreterPoolExecutor")
]


@pytest.mark.parametrize(("scenario", "strategy"), CASES, ids=[f"{a}-{b}" for a, b in CASES])
def test_every_scenario_and_strategy_streams_a_well_formed_run(scenario, strategy, platform_mode):
    run = LabRun(RunRequest(scenario, strategy, quick=True, probe=False))
    events = list(run.events())
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started"
    assert kinds[-1] == "result" and kinds.count("result") == 1
    result = events[-1]
    assert result["ok"], result["error"]
    # The documented contract (tutor/lab/events.py, docs/architecture.md), every kind of event.
    for e in events:
        assert e.keys() >= EVENT_KEYS[e["event"]], (e["event"], EVENT_KEYS[e["event"]] - e.keys())
    assert result["work"]["tasks"] == result["tasks"]
    if scenario == "deadlock" and strategy in ("opposite", "pool"):
        # It deadlocks on purpose: stopped by the watchdog, it has no wall time.
        assert result["deadlock"] is not None and result["wall_s"] is None
    else:
        assert result["wall_s"] > 0 and result["deadlock"] is None
    assert result["cores"] >= 1
    assert (result["start_method"] is not None) == (strategy in ("processes", "hybrid"))
    started = events[0]
    assert started["facts"]["python"] == result["python"]
    # The mode reached the runner: portable measures RSS and starts processes with spawn.
    assert started["facts"]["platform_mode"] == platform.NAME
    assert result["memory_kind"] == platform.MEMORY_KIND
    if platform.PORTABLE and result["start_method"]:
        assert result["start_method"] == "spawn"
    # Lanes are announced before their first phase, and phases are known words.
    announced: set[str] = set()
    for e in events:
        if e["event"] == "worker_started":
            announced.add(e["worker"])
        elif e["event"] == "phase":
            assert e["worker"] in announced
            assert e["phase"] in {"compute", "wait", "idle"}
        elif e["event"] == "sample":
            assert set(e["workers"]) <= announced
            assert e["cpu_percent"] >= 0 and e["mem_bytes"] > 0
    times = [e["t"] for e in events]
    assert times == sorted(times)


def test_probe_reports_parallel_capacity_between_one_core_and_all(platform_mode):
    run = LabRun(RunRequest("crunch", "sequential", quick=True))
    events = list(run.events())
    probe = next(e for e in events if e["event"] == "probe")
    assert 0.1 <= probe["parallel_capacity"] <= probe["cores"]
    assert run.result["parallel_capacity"] == probe["parallel_capacity"]


def test_threads_beat_one_at_a_time_on_downloads():
    summaries = {
        s["strategy"]: s
        for s in compare(
            "downloads", ["sequential", "threads"], quick=True, probe=False, max_rounds=1
        )
    }
    # 4 files x 0.2 s: about 0.8 s one at a time, about 0.2 s with threads.
    assert summaries["threads"]["wall_s"] < summaries["sequential"]["wall_s"] / 1.8
    assert summaries["threads"]["speedup"] > 1.8


def test_seed_preset_is_three_downloads_of_three_seconds():
    spec = RunRequest("downloads", "threads", params={"preset": "seed"}).resolve()
    assert spec["tasks"] == 3 and spec["params"]["delay"] == 3.0


def test_crash_scenario_reports_the_broken_pool_as_data():
    run = LabRun(RunRequest("crash", "processes", quick=True, probe=False))
    result = run.run()
    assert result["ok"]
    cases = {c["case"]: c for c in result["details"]["cases"]}
    assert "BrokenProcessPool" in cases["ProcessPoolExecutor worker killed"]["caller_sees"]
    assert cases["multiprocessing.Process killed"]["caller_sees"].startswith("exitcode -9")
    assert "ValueError" in cases["multiprocessing.Pool.map task raises"]["caller_sees"]


def test_a_thread_exception_leaves_the_other_threads_running():
    result = LabRun(RunRequest("crash", "threads", quick=True, probe=False)).run()
    first = result["details"]["cases"][0]
    assert first["isolated"] and first["others_finished"] == 3


def test_a_lock_prevents_lost_updates_between_processes():
    result = LabRun(RunRequest("sharing", "processes", quick=True, probe=False)).run()
    cases = {c["case"]: c for c in result["details"]["cases"]}
    assert cases["processes, Value with get_lock()"]["lost"] == 0
    assert cases["processes, Manager namespace + lock"]["lost"] == 0
    assert cases["Queue: 125,000 messages of 64 bytes"]["got"] == 125_000


def test_idle_processes_cost_more_memory_than_idle_threads():
    summaries = {
        s["strategy"]: s
        for s in compare("memory", ["threads", "processes"], quick=True, probe=False, max_rounds=1)
    }
    per = {k: v["details"]["per_worker_bytes"] for k, v in summaries.items()}
    assert per["processes"] > 4 * max(per["threads"], 1)


def test_spawn_start_method_is_recorded():
    result = LabRun(
        RunRequest("startup", "processes", quick=True, start_method="spawn", probe=False)
    ).run()
    assert result["ok"] and result["start_method"] == "spawn"


def test_a_hung_workload_is_stopped_with_a_clear_message(platform_mode):
    run = LabRun(
        RunRequest(
            "downloads",
            "sequential",
            quick=True,
            probe=False,
            params={"delay": 5},
            time_limit_s=1.5,
        )
    )
    result = run.run()
    assert not result["ok"]
    assert "time limit" in result["error"]
    assert result.keys() >= RESULT_KEYS


def test_cancelling_a_running_processes_run_ends_every_process_of_it(platform_mode):
    run = LabRun(
        RunRequest("crunch", "processes", tasks=4, workers=4, probe=False, params={"task_s": 3})
    )
    busy: set[str] = set()
    family: list[psutil.Process] = []
    for event in run.events():
        if event["event"] == "phase":
            busy.add(event["worker"])
            if len(busy) == 4 and not family:
                assert run.pid is not None
                runner = psutil.Process(run.pid)
                family = [runner, *runner.children(recursive=True)]
                run.cancel()
    assert run.result is not None and not run.result["ok"] and "cancelled" in run.result["error"]
    assert len(family) >= 5, family  # the runner and 4 workers at least
    deadline = time.monotonic() + 3.0
    while (alive := [p.pid for p in family if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    for p in family:  # never leave a failed test's processes on a shared machine
        with contextlib.suppress(psutil.Error):
            p.kill()
    assert not alive, f"still alive 3 s after cancel: {alive}"


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_a_run_cancelled_before_it_started_still_ends_with_a_full_result():
    with LabRun(RunRequest("crunch", "threads", quick=True, probe=False)) as run:
        run.cancel()
        result = run.run()
    assert not result["ok"] and "cancelled" in result["error"]
    assert result.keys() >= RESULT_KEYS
    run.close()  # idempotent
    assert run.pid is None


def test_every_strategy_of_a_comparison_does_the_same_work():
    summaries = compare(
        "crunch", ["sequential", "threads", "processes"], quick=True, probe=False, max_rounds=1
    )
    works = [s["work"] for s in summaries]
    assert works[0]["steps_per_task"] > 0 and all(w == works[0] for w in works)
    for s in summaries:
        assert s.keys() >= SUMMARY_KEYS
        assert s["speedup_low"] <= s["speedup"] <= s["speedup_high"]


def test_a_retry_is_given_the_work_of_the_first_play():
    plan = ComparisonPlan(
        "chef", ["threads"], quick=True, probe=False, max_rounds=1, work={"prep_steps": 12345}
    )
    (summary,) = Comparison(plan).run()
    assert summary["work"]["prep_steps"] == 12345 and summary["details"]["prep_steps"] == 12345


@pytest.mark.parametrize(
    ("request_kwargs", "message"),
    [
        ({"scenario": "nope", "strategy": "threads"}, "choose one of: downloads"),
        (
            {"scenario": "compress", "strategy": "asyncio"},
            "choose one of: sequential, threads, processes",
        ),
        ({"scenario": "crunch", "strategy": "threads", "tasks": 0}, "tasks must be from 1 to 64"),
        (
            {"scenario": "crunch", "strategy": "threads", "workers": 10000},
            "workers must be from 1 to 256",
        ),
        (
            {"scenario": "crunch", "strategy": "threads", "params": {"task_s": -1}},
            "task_s must be from",
        ),
        (
            {"scenario": "crunch", "strategy": "threads", "params": {"speed": 1}},
            "parameters: task_s",
        ),
        (
            {"scenario": "crunch", "strategy": "threads", "params": {"preset": "seed"}},
            "presets: none",
        ),
    ],
)
def test_bad_requests_name_what_is_allowed(request_kwargs, message):
    with pytest.raises(ValueError, match=message):
        RunRequest(**request_kwargs).resolve()


def test_served_runs_wait_their_turn_in_the_bench_queue(tmp_path, monkeypatch):
    from tutor.lab.benchqueue import acquire

    bench = tmp_path / "bench"
    monkeypatch.setenv("TUTOR_BENCH_DIR", str(bench))
    run = LabRun(RunRequest("startup", "threads", quick=True, probe=False))
    with acquire(bench, slots=1):  # another learner's run holds the only slot
        run.start()  # the UI starts before iterating: the runner must still wait its turn
        assert run.pid is None
        events = run.events()
        first = next(events)
        assert first["event"] == "queued" and first["position"] >= 1
        run.cancel()
        rest = list(events)
    assert rest[-1]["event"] == "result" and not rest[-1]["ok"]
    # With the slot free, the run goes straight through.
    result = LabRun(RunRequest("startup", "threads", quick=True, probe=False)).run()
    assert result["ok"]
