"""The live lab's model and drawings, fed with recorded events (no child process)."""

from __future__ import annotations

from tutor.ui.format import bar, cpu_line, speedup
from tutor.ui.labmodel import LabModel, nice_span


def recorded_run(t0: float = 100.0) -> list[dict]:
    """Two threads: w1 computes 0-1 s then waits 1-2 s; w2 waits 0-1 s then computes 1-2 s."""
    return [
        {
            "event": "started",
            "t": t0,
            "scenario": "crunch",
            "strategy": "threads",
            "tasks": 2,
            "workers": 2,
            "start_method": None,
            "facts": {"cores": 2},
            "params": {},
        },
        {"event": "worker_started", "t": t0, "worker": "w1", "label": "thread 1"},
        {"event": "worker_started", "t": t0, "worker": "w2", "label": "thread 2"},
        {"event": "phase", "t": t0, "worker": "w1", "phase": "compute", "task": 1},
        {"event": "phase", "t": t0, "worker": "w2", "phase": "wait", "task": 2},
        {
            "event": "sample",
            "t": t0 + 1,
            "elapsed_s": 1.0,
            "cpu_percent": 98.0,
            "mem_bytes": 30 * 2**20,
            "cores": 2,
            "workers": {"w1": "compute", "w2": "wait"},
        },
        {"event": "phase", "t": t0 + 1, "worker": "w1", "phase": "wait", "task": 1},
        {"event": "phase", "t": t0 + 1, "worker": "w2", "phase": "compute", "task": 2},
        {"event": "worker_finished", "t": t0 + 2, "worker": "w1", "ok": True, "error": None},
        {"event": "worker_finished", "t": t0 + 2, "worker": "w2", "ok": False, "error": "boom"},
        {
            "event": "result",
            "t": t0 + 2,
            "scenario": "crunch",
            "strategy": "threads",
            "wall_s": 2.0,
            "cpu_percent": 99.0,
            "peak_mem_bytes": 31 * 2**20,
            "workers": 2,
            "tasks": 2,
            "cores": 2,
            "ok": True,
            "error": None,
        },
    ]


def test_lanes_draw_compute_and_wait_differently_on_a_shared_axis():
    model = LabModel(["threads", "processes"])
    model.start("threads")
    for event in recorded_run():
        model.apply("threads", event)
    run = model.runs["threads"]
    assert run.state == "done" and run.wall_s == 2.0
    assert model.span == 2.0
    w1 = run.lanes["w1"].cells(model.span, 10, run.now)
    w2 = run.lanes["w2"].cells(model.span, 10, run.now)
    assert w1 == "█" * 5 + "░" * 5
    assert w2 == "░" * 5 + "█" * 5
    assert run.lanes["w2"].finished and not run.lanes["w2"].ok
    assert model.results == {"threads": recorded_run()[-1]}
    # The next run shares the axis: half the time fills half the lane.
    model.start("processes")
    for event in recorded_run(200.0)[:6]:
        model.apply("processes", event)
    assert model.span == 2.0
    assert model.runs["processes"].lanes["w1"].cells(model.span, 10, 1.0) == "█" * 5 + " " * 5


def test_samples_alone_still_draw_lanes():
    model = LabModel(["threads"])
    model.start("threads")
    model.apply("threads", recorded_run()[0])
    model.apply(
        "threads",
        {
            "event": "sample",
            "t": 100.5,
            "elapsed_s": 0.5,
            "cpu_percent": 50,
            "mem_bytes": 1,
            "cores": 2,
            "workers": {"w9": "compute"},
        },
    )
    assert "w9" in model.runs["threads"].lanes
    assert model.runs["threads"].cpu_percent == 50


def test_failed_and_cancelled_runs_are_not_results():
    model = LabModel(["threads", "processes"])
    model.start("threads")
    model.finish("threads", {"event": "result", "ok": False, "error": "crashed", "wall_s": 1.0})
    assert model.runs["threads"].state == "failed" and model.runs["threads"].error == "crashed"
    model.start("processes")
    model.cancel()
    model.finish("processes", None)
    assert model.runs["processes"].state == "cancelled"
    assert model.results == {}


def test_formatting():
    assert nice_span(1.2) == 2 and nice_span(0.3) == 1 and nice_span(16) == 20
    assert bar(0.5, 4) == "██  " and len(bar(0.33, 7)) == 7 and bar(2, 3) == "███"
    assert cpu_line(98.4, 2) == "CPU  98% of 200% (2 cores)"
    assert cpu_line(None, 1).endswith("(1 core)")
    assert speedup(1.94) == "1.94x" and speedup(None) == "—"


def test_only_queued_samples_merge():
    from tutor.ui.messages import EventReceived

    sample = EventReceived("threads", {"event": "sample", "elapsed_s": 1})
    newer = EventReceived("threads", {"event": "sample", "elapsed_s": 2})
    phase = EventReceived("threads", {"event": "phase", "worker": "w1", "phase": "wait"})
    other_run = EventReceived("processes", {"event": "sample", "elapsed_s": 2})
    assert sample.can_replace(newer)
    assert not sample.can_replace(phase) and not phase.can_replace(newer)
    assert not sample.can_replace(other_run)


def test_a_run_waiting_in_the_bench_queue_shows_its_place_in_line():
    model = LabModel(["threads"])
    model.start("threads")
    model.apply("threads", {"event": "queued", "t": 1.0, "position": 3, "estimate_s": 42.4})
    run = model.runs["threads"]
    assert "place 3 in line, about 42 s" in run.note
    model.apply("threads", {"event": "started", "t": 2.0, "tasks": 2, "workers": 2, "facts": {"cores": 2}})
    assert run.note == "" and run.state == "running"
