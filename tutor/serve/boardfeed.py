"""What the instructor's board reads from a server's data folder.

The board (``tutor.ui.board``) is drawn by the game's layer, which may not
import the server's; this is its :class:`~tutor.ui.board.BoardFeed` over what
the server writes: progress and ``sessions.json`` (through
:mod:`tutor.serve.leaderboard`), the room's database and the bench queue.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tutor.lab.benchqueue import queue_status
from tutor.serve.leaderboard import collect
from tutor.serve.room import store
from tutor.serve.room.view import ChallengeView, RoomView, read_view, summary_lines
from tutor.serve.sessions import read_sessions


class ServerFeed:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._room: sqlite3.Connection | None = None

    def learners(self) -> list[dict[str, Any]]:
        return collect(self.data_dir)

    def connected(self) -> int:
        return sum(1 for s in read_sessions(self.data_dir) if s.get("role") == "learner")

    def bench_queue(self) -> dict[str, int]:
        return queue_status(self.data_dir / "bench")

    def room_version(self) -> int | None:
        # One connection kept open: then asking for SQLite's data_version is one PRAGMA.
        if self._room is None:
            self._room = store.open_reader(self.data_dir)
            if self._room is None:
                return None
        try:
            return store.data_version(self._room)
        except Exception:  # a damaged or replaced file: open it afresh next time
            self.close()
            return None

    def room(self) -> RoomView | None:
        return read_view(self.data_dir)

    def challenge_lines(self, challenge: ChallengeView, width: int) -> list[str]:
        return summary_lines(challenge, width)

    def close(self) -> None:
        if self._room is not None:
            self._room.close()
            self._room = None
