"""The live lab's model and drawings, fed with recorded events (no child process)."""

from __future__ import annotations

import pytest

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
    model.apply(
        "threads", {"event": "started", "t": 2.0, "tasks": 2, "workers": 2, "facts": {"cores": 2}}
    )
    assert run.note == "" and run.state == "running"


def shared_run(
    strategy: str = "threads", shares: dict | None = None, t0: float = 100.0
) -> list[dict]:
    """Four workers compute 0-2 s, then idle; samples every 0.25 s say how much CPU each got.

    ``shares`` maps worker -> its share in every window (threads under the GIL: 0.25
    each; processes on 2 cores: 0.5 each). ``None`` leaves ``cpu_share`` out, as a
    runner that cannot read per-thread times.
    """
    workers = ["w1", "w2", "w3", "w4"]
    events: list[dict] = [
        {
            "event": "started",
            "t": t0,
            "scenario": "crunch",
            "strategy": strategy,
            "tasks": 4,
            "workers": 4,
            "start_method": "fork" if strategy == "processes" else None,
            "facts": {"cores": 2, "gil_enabled": True},
            "params": {},
        }
    ]
    for i, w in enumerate(workers):
        label = f"process {4000 + i}" if strategy == "processes" else f"thread {i + 1}"
        events.append({"event": "worker_started", "t": t0, "worker": w, "label": label})
        events.append({"event": "phase", "t": t0, "worker": w, "phase": "compute", "task": i})
    for k in range(1, 9):
        sample = {
            "event": "sample",
            "t": t0 + k * 0.25,
            "elapsed_s": k * 0.25,
            "cpu_percent": 100.0 * sum((shares or {}).values()),
            "mem_bytes": 30 * 2**20,
            "cores": 2,
            "workers": dict.fromkeys(workers, "compute"),
        }
        if shares is not None:
            sample["cpu_share"] = dict(shares)
        events.append(sample)
    for i, w in enumerate(workers):
        events.append({"event": "phase", "t": t0 + 2.0, "worker": w, "phase": "idle", "task": i})
    for w in workers:
        events.append(
            {"event": "worker_finished", "t": t0 + 2.0, "worker": w, "ok": True, "error": None}
        )
    events.append(
        {
            "event": "result",
            "t": t0 + 2.0,
            "scenario": "crunch",
            "strategy": strategy,
            "wall_s": 2.0,
            "cpu_percent": 100.0 * sum((shares or {}).values()),
            "peak_mem_bytes": 31 * 2**20,
            "workers": 4,
            "tasks": 4,
            "cores": 2,
            "ok": True,
            "error": None,
        }
    )
    return events


def _drawn(strategy: str, shares: dict | None, width: int = 40) -> tuple[LabModel, list[str]]:
    model = LabModel([strategy])
    model.start(strategy)
    for event in shared_run(strategy, shares):
        model.apply(strategy, event)
    run = model.runs[strategy]
    lanes = list(run.lanes.values())
    return model, [
        lane.cells(model.span, width, run.now, run.origin or 0.0, i / len(lanes))
        for i, lane in enumerate(lanes)
    ]


def test_gil_bound_threads_take_turns_on_the_cpu():
    model, rows = _drawn("threads", dict.fromkeys(["w1", "w2", "w3", "w4"], 0.25))
    run = model.runs["threads"]
    # 2 s on a 2 s axis at 40 cells: all 40 cells are compute, a quarter of them on the CPU.
    for row in rows:
        assert set(row) == {"█", "▒"}
        assert row.count("█") == 10
    # Turns: in every column exactly one thread runs, so not all flash together.
    for column in zip(*rows, strict=True):
        assert column.count("█") == 1
    assert run.has_shares and run.ready_words == "waiting for the GIL"
    assert run.lanes["w1"].shares[0] == [0.0, 0.25, 0.25]


def test_processes_fill_both_cores_and_a_whole_core_stays_solid():
    model, rows = _drawn("processes", dict.fromkeys(["w1", "w2", "w3", "w4"], 0.5))
    for column in zip(*rows, strict=True):
        assert column.count("█") == 2
    assert model.runs["processes"].ready_words == "waiting for a core"
    _, rows = _drawn("processes", {"w1": 0.97, "w2": 0.93, "w3": 1.0, "w4": 0.0})
    assert rows[0] == rows[1] == rows[2] == "█" * 40
    assert rows[3] == "▒" * 40


def test_waiting_and_idle_cells_ignore_shares():
    model = LabModel(["threads"])
    model.start("threads")
    events = recorded_run()
    # w1 computes 0-1 s then waits; w2 waits then computes; w1 got half a core in 0-1 s.
    events[5] = dict(events[5], cpu_share={"w1": 0.5, "w2": 0.0})
    for event in events:
        model.apply("threads", event)
    run = model.runs["threads"]
    w1 = run.lanes["w1"].cells(model.span, 10, run.now)
    w2 = run.lanes["w2"].cells(model.span, 10, run.now)
    assert w1 == "▒█▒█▒" + "░" * 5
    # w2's last share (0.0, ending at 1 s) holds to the end: known only at the next sample.
    assert w2 == "░" * 5 + "▒" * 5


def test_a_fresh_share_window_starts_where_the_lane_began():
    model = LabModel(["threads"])
    model.start("threads")
    for event in shared_run("threads", None)[:3]:
        model.apply("threads", event)
    model.apply(
        "threads",
        {"event": "phase", "t": 100.4, "worker": "w2", "phase": "compute", "task": 1},
    )
    model.apply(
        "threads",
        {
            "event": "sample",
            "t": 100.5,
            "elapsed_s": 0.5,
            "workers": {"w1": "compute", "w2": "compute"},
            "cpu_share": {"w1": 0.6, "w2": 0.3},
        },
    )
    run = model.runs["threads"]
    assert run.lanes["w1"].shares == [[0.0, 0.5, 0.6]]
    assert run.lanes["w2"].shares == [[pytest.approx(0.4), 0.5, 0.3]]


def test_without_per_thread_times_lanes_stay_as_reported_and_the_note_says_so_once():
    model, rows = _drawn("threads", None)
    run = model.runs["threads"]
    assert all(row == "█" * 40 for row in rows)
    assert not run.has_shares
    assert run.note.startswith("Per-worker CPU times unavailable") and len(run.note) <= 78
    # Once: a later note from the runner is not overwritten by the next samples.
    model = LabModel(["threads"])
    model.start("threads")
    events = shared_run("threads", None)
    for event in events[:11]:
        model.apply("threads", event)
    model.apply("threads", {"event": "note", "t": 101.0, "text": "something else"})
    for event in events[11:]:
        model.apply("threads", event)
    assert model.runs["threads"].note == "something else"
    # asyncio tasks never get shares, and need none: no note.
    model, _ = _drawn("asyncio", None)
    assert model.runs["asyncio"].note == ""


def test_a_lane_shows_what_its_worker_holds_and_waits_for():
    model = LabModel(["opposite"])
    events = [
        {
            "event": "started",
            "t": 1.0,
            "scenario": "deadlock",
            "strategy": "opposite",
            "tasks": 1,
            "workers": 2,
            "start_method": None,
            "facts": {"cores": 2},
            "params": {},
        },
        {"event": "worker_started", "t": 1.0, "worker": "w1", "label": "thread 1"},
        {
            "event": "phase",
            "t": 1.0,
            "worker": "w1",
            "phase": "wait",
            "task": None,
            "detail": "has A wants B",
        },
    ]
    for event in events:
        model.apply("opposite", event)
    assert model.runs["opposite"].lanes["w1"].detail == "has A wants B"
    model.apply(
        "opposite",
        {"event": "phase", "t": 2.0, "worker": "w1", "phase": "idle", "task": None, "detail": ""},
    )
    assert model.runs["opposite"].lanes["w1"].detail == ""


def test_a_deadlocked_run_counts_as_a_finished_round_without_a_time():
    model = LabModel(["opposite", "ordered"])
    deadlock = {
        "after_s": 1.0,
        "stalled_s": 1.0,
        "cycle": [],
        "text": "w1 holds A and waits for B, held by w2",
    }
    model.finish(
        "opposite",
        {"event": "result", "ok": True, "error": None, "wall_s": None, "deadlock": deadlock},
    )
    model.finish(
        "ordered", {"event": "result", "ok": True, "error": None, "wall_s": 0.1, "deadlock": None}
    )
    assert model.rounds_done == 1
    assert model.estimate("opposite") is None and model.estimate("ordered") == 0.1


def test_figures_read_in_their_units():
    from tutor.ui.format import measured

    assert measured("lag_s", 0.0123) == "12.3 ms"
    assert measured("response_s", None) == "—"
    assert measured("wall_s", 1.5) == "1.50 s"
    assert measured("peak_mem_bytes", 20 * 2**20) == "20 MiB"
