"""Every screen at 80x24, as the learner sees it (pytest-textual-snapshot).

Lab screens are fed recorded events so the pictures do not depend on this
machine's speed; the real runs are covered by test_flow.py.
Update after an intended change: pytest tests/ui --snapshot-update
"""

from __future__ import annotations

from tests.ui.test_labmodel import recorded_run, shared_run

SIZE = (80, 24)


async def _drawn(pilot, screen) -> None:
    """Every message posted to the lab screen so far handled, and drawn (no sleeping)."""
    import asyncio

    handled = asyncio.Event()
    screen.call_later(handled.set)  # queued after the messages: runs once they are handled
    await handled.wait()
    screen.redraw()  # what the 10 Hz timer would draw next
    await pilot.pause()


async def _open_lesson(pilot) -> None:
    await pilot.press("enter")
    await pilot.pause()


async def _open_challenge(pilot) -> None:
    await _open_lesson(pilot)
    await pilot.press("n", "enter")
    await pilot.pause()


def _lab_screen(app, *, finished: bool):
    from tutor.ui.messages import EventReceived, RunFinished, RunsCompleted, RunStarted
    from tutor.ui.screens.lab import LabScreen

    lesson = app.catalog.get("test-crunch")
    challenge = lesson.challenges[0]
    screen = LabScreen(lesson, challenge, "threads", 1.5, autostart=False)
    messages = [RunStarted("threads", 0, 3)]
    messages += [EventReceived("threads", e) for e in recorded_run(100.0)]
    messages.append(RunFinished("threads", recorded_run(100.0)[-1]))
    messages.append(RunStarted("processes", 1, 3))
    running = recorded_run(200.0)
    messages += [EventReceived("processes", e) for e in running[:6]]
    if finished:
        messages += [EventReceived("processes", e) for e in running[6:-1]]
        result = dict(running[-1], strategy="processes", wall_s=1.1, cpu_percent=190.0)
        messages += [EventReceived("processes", result), RunFinished("processes", result)]
        messages.append(RunStarted("sequential", 2, 3))
        sequential = recorded_run(300.0)
        messages += [EventReceived("sequential", e) for e in sequential[:-1]]
        seq = dict(sequential[-1], strategy="sequential", wall_s=2.05, cpu_percent=99.0)
        messages += [EventReceived("sequential", seq), RunFinished("sequential", seq)]
        from tutor.lab.compare import summarize

        runs = {"threads": [recorded_run(100.0)[-1]], "processes": [result], "sequential": [seq]}
        runs = {
            k: [dict(r, scenario="crunch", strategy=k, ok=True) for r in v] for k, v in runs.items()
        }
        messages.append(RunsCompleted(False, summarize(runs), {"steps_per_task": 1000}, "budget"))
    return screen, messages


def _run_lab(finished: bool):
    async def run_before(pilot) -> None:
        screen, messages = _lab_screen(pilot.app, finished=finished)
        await pilot.app.push_screen(screen)
        for message in messages:
            screen.post_message(message)
        await _drawn(pilot, screen)

    return run_before


GIL_BOUND = dict.fromkeys(["w1", "w2", "w3", "w4"], 0.25)
TWO_CORES = dict.fromkeys(["w1", "w2", "w3", "w4"], 0.5)


def _shared_lab(*, processes_done: bool):
    """Threads under the GIL take turns; processes fill both cores (recorded cpu_share)."""

    async def run_before(pilot) -> None:
        from tutor.ui.messages import EventReceived, RunFinished, RunStarted
        from tutor.ui.screens.lab import LabScreen

        lesson = pilot.app.catalog.get("test-crunch")
        screen = LabScreen(lesson, lesson.challenges[0], "threads", 1.5, autostart=False)
        await pilot.app.push_screen(screen)
        threads = shared_run("threads", GIL_BOUND, 100.0)
        messages = [RunStarted("threads", 0, 3)]
        if processes_done:
            processes = shared_run("processes", TWO_CORES, 200.0)
            messages += [EventReceived("threads", e) for e in threads]
            messages.append(RunFinished("threads", threads[-1]))
            messages.append(RunStarted("processes", 1, 3))
            messages += [EventReceived("processes", e) for e in processes]
            messages.append(RunFinished("processes", processes[-1]))
        else:
            # Live, 1.5 s in: the last share holds at the edge until the next sample.
            messages += [EventReceived("threads", e) for e in threads[:15]]
        for message in messages:
            screen.post_message(message)
        await _drawn(pilot, screen)

    return run_before


def test_lab_threads_take_turns(snap_compare, make_app):
    assert snap_compare(
        make_app(), terminal_size=SIZE, run_before=_shared_lab(processes_done=False)
    )


def test_lab_processes_fill_the_cores(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_shared_lab(processes_done=True))


def test_lab_cpu_share_no_color(snap_compare, make_app, monkeypatch):
    # On a CPU, ready but not running, waiting and idle stay apart without colour.
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(
        make_app(), terminal_size=SIZE, run_before=_shared_lab(processes_done=False)
    )


def test_home(snap_compare, make_app, store):
    store.record_quiz("test-crunch", "t-q1", chosen=[1], correct=True, hint_used=False)
    assert snap_compare(make_app(), terminal_size=SIZE)


def test_lesson_reader(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_open_lesson)


def test_lesson_code_lines_wrap_with_a_marker(snap_compare, make_app):
    # A code line wider than the screen continues on the next line after "↪".
    async def run_before(pilot) -> None:
        await pilot.press("down", "enter")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_home_at_60x20(snap_compare, make_app, store):
    # Narrow: every lesson on one row, its figures kept.
    store.record_quiz("test-crunch", "t-q1", chosen=[1], correct=True, hint_used=False)
    assert snap_compare(make_app(), terminal_size=(60, 20))


def test_lesson_contents(snap_compare, make_app):
    async def run_before(pilot) -> None:
        await _open_lesson(pilot)
        await pilot.press("t")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_lesson_task_block_focused(snap_compare, make_app):
    async def run_before(pilot) -> None:
        await _open_lesson(pilot)
        await pilot.press("n")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_challenge(snap_compare, make_app, monkeypatch):
    from tests.ui.test_course_screens import TWO_CORES
    from tutor.lab import facts

    monkeypatch.setattr(facts, "machine_facts", lambda: dict(TWO_CORES))  # not this machine's

    async def run_before(pilot) -> None:
        await _open_challenge(pilot)
        await pilot.press("h", "down", "enter", "1", ".", "8")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_lab_running(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_run_lab(finished=False))


def test_lab_finished(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_run_lab(finished=True))


def test_quiz_question(snap_compare, make_app):
    async def run_before(pilot) -> None:
        await _open_lesson(pilot)
        await pilot.press("z")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_quiz_wrong_with_hint(snap_compare, make_app):
    async def run_before(pilot) -> None:
        await _open_lesson(pilot)
        await pilot.press("z", "enter", "h")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_quiz_finished_offers_the_next_lesson(snap_compare, make_app):
    async def run_before(pilot) -> None:
        await _open_lesson(pilot)
        # t-q1 right (second choice), then t-q2 right (first and third): finished.
        await pilot.press("z", "down", "enter", "enter", "space", "down", "down", "space", "enter")
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_quiz_several_answers(snap_compare, make_app):
    async def run_before(pilot) -> None:
        await _open_lesson(pilot)
        await pilot.press("z", "n", "space", "down", "down", "space")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_progress(snap_compare, make_app, store):
    store.record_challenge(
        "test-crunch",
        "t-crunch",
        choice="processes",
        predicted_speedup=1.8,
        measured_speedup=1.7,
        winner="processes",
        correct=True,
        result={},
    )
    store.record_quiz("test-crunch", "t-q1", chosen=[0], correct=False, hint_used=False)
    store.add_time("test-crunch", 321)

    async def run_before(pilot) -> None:
        await pilot.press("p")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_help(snap_compare, make_app):
    async def run_before(pilot) -> None:
        await pilot.press("question_mark")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_confirm_reset(snap_compare, make_app):
    async def run_before(pilot) -> None:
        await pilot.press("R")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_quiz_only_mode(snap_compare, make_app):
    assert snap_compare(make_app(quiz_only=True, quiz_lesson="test-crunch"), terminal_size=SIZE)


def fixed_result(strategy: str, wall_s: float, cpu: float, *, noisy: bool = False) -> dict:
    return {
        "event": "result",
        "t": 0.0,
        "scenario": "crunch",
        "strategy": strategy,
        "wall_s": wall_s,
        "cpu_percent": cpu,
        "peak_mem_bytes": 40 * 2**20,
        "workers": 2,
        "tasks": 2,
        "start_method": "fork" if strategy == "processes" else None,
        "cores": 2,
        "parallel_capacity": 1.9,
        "python": "3.11.7",
        "gil_enabled": True,
        "noisy": noisy,
        "foreign_load_percent": 30.0 if noisy else 2.0,
        "ok": True,
        "error": None,
        "details": {},
    }


def _verdict(choice: str, results: dict, predicted: float | None):
    async def run_before(pilot) -> None:
        from tutor.ui.outcome import LabOutcome
        from tutor.ui.screens.verdict import VerdictScreen

        lesson = pilot.app.catalog.get("test-crunch")
        challenge = lesson.challenges[0]
        order = [choice] + [s for s in ("threads", "processes", "sequential") if s != choice]
        # Shown, not recorded (saved=None): the picture does not depend on the store.
        await pilot.app.push_screen(
            VerdictScreen(LabOutcome(lesson, challenge, choice, predicted, results, order))
        )
        await pilot.pause()

    return run_before


def test_verdict_right(snap_compare, make_app):
    results = {
        "processes": fixed_result("processes", 1.05, 190.0),
        "threads": fixed_result("threads", 2.02, 99.0),
        "sequential": fixed_result("sequential", 2.0, 99.0),
    }
    assert snap_compare(
        make_app(), terminal_size=SIZE, run_before=_verdict("processes", results, 1.5)
    )


def test_verdict_at_60x20_keeps_each_row_on_one_line(snap_compare, make_app):
    results = {
        "processes": fixed_result("processes", 1.05, 190.0),
        "threads": fixed_result("threads", 2.02, 99.0),
        "sequential": fixed_result("sequential", 2.0, 99.0),
    }
    assert snap_compare(
        make_app(), terminal_size=(60, 20), run_before=_verdict("processes", results, 1.5)
    )


def test_verdict_machine_disagrees(snap_compare, make_app):
    results = {
        "threads": fixed_result("threads", 2.0, 99.0, noisy=True),
        "processes": fixed_result("processes", 2.6, 120.0, noisy=True),
        "sequential": fixed_result("sequential", 2.1, 99.0, noisy=True),
    }
    assert snap_compare(
        make_app(), terminal_size=SIZE, run_before=_verdict("processes", results, 1.8)
    )


def test_lab_no_color(snap_compare, make_app, monkeypatch):
    # NO_COLOR: computing, waiting, states and the pick stay readable as symbols and words.
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    assert app.no_color
    assert snap_compare(app, terminal_size=SIZE, run_before=_run_lab(finished=True))


def test_verdict_too_close_to_call_counts_as_right(snap_compare, make_app):
    # Threads and one at a time within the noise of each other: a tie, never a red cross.
    from tutor.lab.compare import summarize

    runs = {
        "threads": [fixed_result("threads", w, 99.0) for w in (2.04, 2.10, 1.98)],
        "sequential": [fixed_result("sequential", w, 99.0) for w in (2.00, 2.02, 2.06)],
        "processes": [fixed_result("processes", w, 120.0) for w in (2.30, 2.20, 2.25)],
    }
    runs = {s: [dict(r, strategy=s) for r in rs] for s, rs in runs.items()}
    results = {s["strategy"]: s for s in summarize(runs)}
    assert snap_compare(
        make_app(), terminal_size=SIZE, run_before=_verdict("threads", results, 1.0)
    )


def test_verdict_flags_an_impossible_speedup(snap_compare, make_app):
    # A disturbed baseline: processes "2.9x" on 2 cores is marked, never credited.
    results = {
        "processes": fixed_result("processes", 1.0, 190.0),
        "threads": fixed_result("threads", 2.9, 99.0),
        "sequential": dict(
            fixed_result("sequential", 2.9, 99.0, noisy=True), foreign_load_percent=45.0
        ),
    }
    assert snap_compare(
        make_app(), terminal_size=SIZE, run_before=_verdict("processes", results, 2.0)
    )
