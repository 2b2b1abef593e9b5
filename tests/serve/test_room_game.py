"""`tutor join` in a real terminal (tmux, 80x24), a real room server, and the real board.

The learner plays a challenge in the joined game; the instructor's board (its
room view, in a second terminal) shows the verdict soon after it is saved.
Then the server is killed mid-lesson: the next verdict waits in the outbox
(the title says "reconnecting, 1 to send") and reaches the room once the
server is back on the same port.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
from serve_helpers import free_port

from tests.terminal import HAVE_TMUX, Terminal

LESSONS = Path(__file__).parent.parent / "ui" / "lessons"
PASSWORD = "room-secret-2"
pytestmark = [
    pytest.mark.skipif(not HAVE_TMUX, reason="tmux is not installed"),
    pytest.mark.timeout(400),
]


def play(game: Terminal, *, first: bool) -> None:
    if first:
        game.keys("Enter")
        game.wait_for("Pure-Python arithmetic")
        game.keys("n")
        game.wait_for("┃ ▶ Challenge")
        game.keys("Enter")
        game.wait_for("▊ ( ) Two threads")
        game.keys("Enter", "Enter")  # threads, no prediction
    else:
        game.wait_for("(•) Two threads")  # the retry keeps the answer
        game.keys("C-r")
    game.wait_for("Enter: see the verdict", timeout=180)
    game.keys("Enter")


def test_joined_game_reports_to_the_board_and_survives_a_server_kill(server_factory, tmp_path):
    port = free_port()
    server_data = tmp_path / "server"
    server = server_factory(
        auth="password", password=PASSWORD, port=port, data_dir=str(server_data)
    )
    base = {"TERM": "xterm-256color", "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    game_env = base | {
        "TUTOR_DATA_DIR": str(tmp_path / "ada"),
        "TUTOR_QUICK": "1",
        "TUTOR_ROOM_PASSWORD": PASSWORD,
    }
    terminals: list[Terminal] = []
    try:
        game = Terminal("game").start(
            [
                sys.executable,
                "-m",
                "tutor",
                "join",
                f"127.0.0.1:{port}",
                "--name",
                "ada",
                "--lessons",
                str(LESSONS),
                "--only-lessons",
            ],
            env=game_env,
        )
        terminals.append(game)
        board = Terminal("board").start(
            [sys.executable, "-m", "tutor", "board", "--data-dir", str(server_data)], env=base
        )
        terminals.append(board)
        game.wait_for("room: joined as ada")
        board.wait_for("Leaderboard")
        board.keys("v")
        board.wait_for("joined: ada")
        play(game, first=True)
        game.wait_for("Saved to your progress")
        saved = time.monotonic()
        screen = board.wait_for("test-crunch/t-crunch: 1 machine", timeout=10)
        shown_after = time.monotonic() - saved
        assert "1 results" in screen and "winners:" in screen
        # The board polls every 0.25 s; the bar is 1 s (tmux polling adds to this).
        assert shown_after < 3.0, shown_after

        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        game.wait_for("room: reconnecting")
        game.keys("r")  # try the challenge again, with the room gone
        play(game, first=False)
        screen = game.wait_for("Saved to your progress")
        game.wait_for("reconnecting, 1 to send")
        server_factory(auth="password", password=PASSWORD, port=port, data_dir=str(server_data))
        game.wait_for("room: joined as ada —", timeout=60)
        board.wait_for("2 results", timeout=30)
        assert "Traceback" not in game.screen() + board.screen()
    finally:
        for terminal in terminals:
            terminal.close()
