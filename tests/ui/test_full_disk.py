"""The game on a store that cannot write: it says "not saved" and keeps going.

The quiz test fills a real (small tmpfs) filesystem, which needs root to
mount; the verdict test makes SQLite itself report SQLITE_FULL with
``PRAGMA max_page_count``, which needs nothing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from pathlib import Path

import pytest

from tests.ui.test_flow import SIZE, open_quiz, text_of
from tests.ui.test_snapshots import fixed_result
from tutor.progress import open_store
from tutor.ui.app import TutorApp


@pytest.fixture
def small_fs(tmp_path: Path):
    """A 1 MiB tmpfs of our own, or a skip saying why there is none."""
    mount = tmp_path / "fs"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the verdict test covers SQLITE_FULL")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Take every free byte of ``folder``'s filesystem; returns the filler file."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as fh:
        with contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 4096)
        with contextlib.suppress(OSError):
            while True:
                fh.write(b"\0")
    assert os.statvfs(folder).f_bavail == 0
    return filler


def assert_no_host_path(app, *paths: Path) -> None:
    screen = app.export_screenshot().replace("&#160;", " ")
    for path in paths:
        assert str(path) not in screen
    assert "Traceback" not in screen and "sqlite3" not in screen.lower()


async def test_quiz_answer_on_a_full_disk_says_not_saved_and_keeps_going(catalog, small_fs):
    data = small_fs / "data"
    store = open_store(data, "tester")
    store.record_quiz("test-crunch", "t-q2", chosen=[0, 2], correct=True, hint_used=False)
    filler = fill(small_fs)
    try:
        with pytest.raises(OSError) as info:
            (small_fs / "probe").write_bytes(b"x" * 8192)
        assert info.value.errno == errno.ENOSPC  # really full
        app = TutorApp(catalog, store, quick=True, served=True)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            quiz = await open_quiz(pilot)
            await pilot.press("down", "enter")  # the right answer
            assert quiz.state == "right"
            feedback = text_of(app, "#quiz-feedback")
            assert "✓ Right" in feedback
            assert "Not saved: the disk is full." in feedback and "Saved." not in feedback
            assert_no_host_path(app, small_fs, data)
            await pilot.press("escape")  # back to the lesson: time and position fail too
            await pilot.pause()
            assert app._exception is None
            await pilot.press("q")
        assert app.return_code == 0 and app._exception is None
    finally:
        filler.unlink()
        store.close()
    # What was saved before the disk filled up is all there, and saving works again.
    with open_store(data, "tester") as again:
        assert [(a["question_id"], a["correct"]) for a in again.quiz_attempts()] == [("t-q2", True)]
        again.record_quiz("test-crunch", "t-q1", chosen=[1], correct=True, hint_used=False)
        assert len(again.quiz_attempts()) == 2


async def test_verdict_on_a_full_store_says_not_saved(catalog, isolated_data_dir):
    from tutor.ui.outcome import LabOutcome
    from tutor.ui.screens.verdict import VerdictScreen

    store = open_store(isolated_data_dir, "tester")
    store.record_quiz("test-crunch", "t-q1", chosen=[1], correct=True, hint_used=False)
    # SQLite's own limit: the file may not grow, so a write that needs new pages
    # fails with SQLITE_FULL exactly as on a full disk. A private connection
    # setting is the only way in; the store offers no such knob on purpose.
    conn = store._conn
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")
    results = {
        "processes": fixed_result("processes", 1.05, 99.0),
        "threads": fixed_result("threads", 2.02, 99.0),
        "sequential": fixed_result("sequential", 2.0, 99.0),
    }
    results["processes"]["details"] = {"samples": "x" * 200_000}  # needs new pages
    app = TutorApp(catalog, store, quick=True, served=True)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            lesson = catalog.get("test-crunch")
            order = ["processes", "threads", "sequential"]
            # What the lab screen hands back when the learner asks for the verdict.
            app.lab_ended(
                LabOutcome(lesson, lesson.challenges[0], "processes", 1.8, results, order)
            )
            await pilot.pause()
            assert isinstance(app.screen, VerdictScreen)
            saved = text_of(app, "#verdict-saved")
            assert "Not saved: the disk is full." in saved and "Saved to" not in saved
            assert_no_host_path(app, isolated_data_dir)
            await pilot.press("enter")
            await pilot.press("q")
        assert app._exception is None
        assert store.challenge_attempts() == []
        assert len(store.quiz_attempts()) == 1
    finally:
        store.close()
