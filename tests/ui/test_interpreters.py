"""Lesson 13's "threads with the GIL or without": both runs on one lab screen, at 80x24.

The snapshot is fed recorded events (a GIL-bound run whose four threads take
turns, then a free-threaded one whose threads fill both cores); the tmux test
plays it with the real free-threaded interpreter.
"""

from __future__ import annotations

import os
import sys

import pytest

from tests.processes import all_gone, family
from tests.terminal import HAVE_TMUX, Terminal
from tests.ui.test_labmodel import shared_run
from tutor.lessons import load_catalog

SIZE = (80, 24)
GIL_BOUND = dict.fromkeys(["w1", "w2", "w3", "w4"], 0.25)
TWO_CORES = dict.fromkeys(["w1", "w2", "w3", "w4"], 0.5)
FT_FACTS = {"cores": 2, "gil_enabled": False, "free_threaded_build": True, "python": "3.13.5"}


def _under(events: list[dict], facts: dict, wall_s: float) -> list[dict]:
    out = []
    for e in events:
        if e["event"] == "started":
            e = dict(e, facts={**e["facts"], **facts})
        if e["event"] == "result":
            e = dict(e, **{k: v for k, v in facts.items() if k != "cores"}, wall_s=wall_s)
        out.append(e)
    return out


@pytest.fixture
def builtin_app(store):
    from tutor.ui.app import TutorApp

    catalog = load_catalog(builtin=True)
    assert not catalog.errors, [str(e) for e in catalog.errors]
    return TutorApp(catalog, store, quick=True, served=False)


def _both_runs(*, finished: bool):
    async def run_before(pilot) -> None:
        from tutor.lab.compare import summarize
        from tutor.ui.messages import EventReceived, RunFinished, RunsCompleted, RunStarted
        from tutor.ui.screens.lab import LabScreen

        lesson = pilot.app.catalog.get("free-threading")
        challenge = next(c for c in lesson.challenges if c.id == "freethreading-gil-or-not")
        screen = LabScreen(lesson, challenge, "threads@gil", None, autostart=False)
        await pilot.app.push_screen(screen)
        gil = _under(
            shared_run("threads", GIL_BOUND, 100.0),
            {"python": "3.11.7", "free_threaded_build": False},
            2.1,
        )
        ft = _under(shared_run("threads", TWO_CORES, 200.0), FT_FACTS, 1.3)
        messages = [RunStarted("threads@gil", 0, 2)]
        messages += [EventReceived("threads@gil", e) for e in gil]
        messages += [RunFinished("threads@gil", gil[-1]), RunStarted("threads@ft", 1, 2)]
        if finished:
            messages += [EventReceived("threads@ft", e) for e in ft]
            messages.append(RunFinished("threads@ft", ft[-1]))
            runs = {
                "threads@gil": [dict(gil[-1], ok=True, scenario="crunch")],
                "threads@ft": [dict(ft[-1], ok=True, scenario="crunch")],
            }
            messages.append(
                RunsCompleted(False, summarize(runs), {"steps_per_task": 1000}, "budget")
            )
        else:
            messages += [EventReceived("threads@ft", e) for e in ft[:15]]
        for message in messages:
            screen.post_message(message)
        await pilot.pause()
        await pilot.pause(0.2)  # the 10 Hz redraw

    return run_before


def test_lesson_13_threads_without_the_gil_live(snap_compare, builtin_app):
    assert snap_compare(builtin_app, terminal_size=SIZE, run_before=_both_runs(finished=False))


def test_lesson_13_threads_with_and_without_the_gil(snap_compare, builtin_app):
    assert snap_compare(builtin_app, terminal_size=SIZE, run_before=_both_runs(finished=True))


def test_lesson_13_plays_threads_with_and_without_the_gil_in_a_real_terminal(
    tmp_path, free_threaded_python
):
    """The installed game at 80x24 finds the free-threaded build and runs both, lanes and all."""
    from tutor.progress import open_store

    if not HAVE_TMUX:
        pytest.skip("tmux is not installed")
    env = {
        "TERM": "xterm-256color",
        "TUTOR_DATA_DIR": str(tmp_path / "data"),
        "TUTOR_PROFILE": "e2e",
        "TUTOR_QUICK": "1",
        "TUTOR_PYTHONS": os.path.dirname(free_threaded_python),
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp_path)),
    }
    term = Terminal("ft").start([sys.executable, "-m", "tutor"], env=env)
    try:
        term.wait_for("lessons done")
        term.keys(*["Down"] * 12, "Enter")  # lesson 13, from the first
        term.wait_for("PEP 703")
        term.keys("n")
        term.wait_for("┃ ▶ Challenge: 4 pure-Python crunching")
        term.keys("n")
        term.wait_for("┃ ▶ Challenge: Four crunching threads")
        term.keys("Enter")
        # Found: "Runs under Python 3.11.7 (GIL on) and 3.13.5t (GIL off, ...)".
        screen = term.wait_for("(GIL off", timeout=60.0)
        assert "Runs under" in screen
        term.keys("Down", "Enter", "Enter")  # threads without the GIL; Enter again commits
        term.wait_for("t, GIL off", timeout=60)  # the run's Python, under the CPU meter
        screen = term.wait_for("w1 thread 1", timeout=60)  # its lanes
        assert "threads (no GIL)" in screen
        screen = term.wait_for("Measured on this machine", timeout=180)
        assert "threads (GIL)" in screen and "threads (no GIL)" in screen
        processes = family(term.pid)
        term.keys("Enter")
        screen = term.wait_for("Saved to your progress")
        assert "Traceback" not in screen
        term.keys("q")
        assert all_gone(processes) == []
    finally:
        for p in family(term.pid):
            p.kill()
        term.close()
    with open_store(tmp_path / "data", "e2e") as store:
        attempts = store.challenge_attempts("free-threading")
    assert [a["choice"] for a in attempts] == ["threads@ft"]
    pythons = attempts[0]["interpreters"]
    assert {(p["free_threaded"], p["gil_enabled"]) for p in pythons} == {
        (True, False),
        (False, True),
    }


def test_lesson_13_without_a_free_threaded_python_says_how_to_get_one(
    snap_compare, builtin_app, monkeypatch
):
    # Nothing free-threaded on this "machine": the cached search found only the tutor's Python.
    from tutor.lab import interpreters

    monkeypatch.setattr(interpreters, "_found", [])

    async def run_before(pilot) -> None:
        from tutor.ui.screens.challenge import ChallengeScreen

        lesson = pilot.app.catalog.get("free-threading")
        challenge = next(c for c in lesson.challenges if c.id == "freethreading-gil-or-not")
        screen = ChallengeScreen(lesson, challenge)
        await pilot.app.push_screen(screen)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.missing is not None and "uv python install 3.14t" in screen.missing
        await pilot.press("enter", "enter")  # pick, then try to run: nothing runs
        await pilot.pause()
        assert pilot.app.screen is screen

    assert snap_compare(builtin_app, terminal_size=SIZE, run_before=run_before)
