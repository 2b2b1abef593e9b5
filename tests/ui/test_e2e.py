"""The installed game in a real terminal (tmux at 80x24), played with key presses.

Slow-ish (real quick lab runs); skipped only when tmux is missing, and says so.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from tests.processes import all_gone, family
from tests.terminal import HAVE_TMUX, Terminal
from tutor.progress import open_store

LESSONS = Path(__file__).parent / "lessons"
pytestmark = pytest.mark.skipif(not HAVE_TMUX, reason="tmux is not installed")


@pytest.fixture
def game(tmp_path):
    env = {
        "TERM": "xterm-256color",
        "TUTOR_DATA_DIR": str(tmp_path / "data"),
        "TUTOR_PROFILE": "e2e",
        "TUTOR_QUICK": "1",
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp_path)),
    }
    command = [sys.executable, "-m", "tutor", "--lessons", str(LESSONS), "--only-lessons"]
    terminals: list[Terminal] = []

    def start() -> Terminal:
        terminal = Terminal("e2e").start(command, env=env)
        terminals.append(terminal)
        return terminal

    yield start, tmp_path / "data"
    for terminal in terminals:
        for p in family(terminal.pid):
            p.kill()
        terminal.close()


def test_play_one_challenge_with_keys_then_quit(game):
    start, data = game
    term = start()
    term.wait_for("lessons done")
    term.keys("Enter")  # open the first lesson
    term.wait_for("Pure-Python arithmetic")
    term.keys("n")  # the challenge block gets the focus (a heavy border)
    term.wait_for("┃ ▶ Challenge")
    term.keys("Enter")
    term.wait_for("▊ ( ) Two threads")  # the choices have the focus (their border shows)
    term.keys("Down", "Enter")  # two processes
    term.wait_for("(•) Two processes")  # as a person would, look before typing on
    term.keys("1.5")
    term.wait_for("1.5 ")
    term.keys("Enter")  # 1.5x faster than one at a time: commit
    screen = term.wait_for("Run 1 of 3")
    assert "processes" in screen
    processes = family(term.pid)
    assert any("tutor.lab.runner" in " ".join(p.cmdline()) for p in processes[1:])
    screen = term.wait_for("Measured on this machine", timeout=180)
    assert "processes (yours)" in screen and "CPU" in screen
    term.keys("Enter")
    screen = term.wait_for("Saved to your progress")
    assert "Right." in screen or "Not this time." in screen
    assert "Traceback" not in screen
    processes = family(term.pid)
    term.keys("q")
    assert all_gone(processes) == []
    with open_store(data, "e2e") as store:
        attempts = store.challenge_attempts("test-crunch")
    assert [(a["challenge_id"], a["choice"], a["predicted_speedup"]) for a in attempts] == [
        ("t-crunch", "processes", 1.5)
    ]


def test_terminal_hang_up_mid_run_leaves_no_process(game):
    start, _ = game
    term = start()
    term.wait_for("lessons done")
    term.keys("Enter")
    term.wait_for("Pure-Python arithmetic")
    term.keys("n")
    term.wait_for("┃ ▶ Challenge")
    term.keys("Enter")
    term.wait_for("▊ ( ) Two threads")
    term.keys("Enter", "Enter")  # threads; Enter on it again commits without a prediction
    term.wait_for("Run 1 of 3")
    deadline = time.monotonic() + 20
    while not any("tutor.lab.runner" in " ".join(p.cmdline()) for p in family(term.pid)[1:]):
        assert time.monotonic() < deadline, "the lab run never started"
        time.sleep(0.05)
    processes = family(term.pid)
    term.close()  # the terminal goes away: SIGHUP
    assert all_gone(processes) == []
