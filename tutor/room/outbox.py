"""The outbox: reports waiting for a room, kept in a small SQLite file.

``data_dir/room-outbox.sqlite3``, apart from the progress file: the progress
store stays the learner's own record (the room never writes to it), and this
file only holds what is still to be sent. A report is written here before
anything is sent, and removed only once the room has acknowledged it, so a
crash, a dropped network or a server that is down loses nothing: whatever is
left goes out the next time the game or ``tutor run --join`` reaches the same
room. Each report has a random id the server deduplicates on, so one that was
sent but whose acknowledgement was lost is sent again without being counted twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from tutor.room.protocol import Report

OUTBOX_NAME = "room-outbox.sqlite3"
MAX_WAITING = 10_000
"""Reports kept per room; beyond this the oldest are dropped (a week offline at one a minute)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq      INTEGER PRIMARY KEY,
    room     TEXT NOT NULL,
    id       TEXT NOT NULL UNIQUE,
    at       REAL NOT NULL,
    kind     TEXT NOT NULL,
    data     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_by_room ON outbox (room, seq);
"""


class Outbox:
    """Durable FIFO of reports per room (``host:port``); safe to share between threads."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = data_dir / OUTBOX_NAME
        if not path.exists():
            # Private from the start, like the progress file.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            path, timeout=10, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        # Once add() returns, the report survives the process being killed.
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)

    def add(self, room: str, kind: str, data: dict[str, Any]) -> str:
        """Queue one report for ``room``; returns its id. Durable when it returns."""
        report_id = os.urandom(16).hex()
        payload = json.dumps(data, allow_nan=False, separators=(",", ":"))
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "INSERT INTO outbox (room, id, at, kind, data) VALUES (?, ?, ?, ?, ?)",
                    (room, report_id, time.time(), kind, payload),
                )
                self._conn.execute(
                    """DELETE FROM outbox WHERE room = ? AND seq <= (
                           SELECT seq FROM outbox WHERE room = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)""",
                    (room, room, MAX_WAITING),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return report_id

    def waiting(self, room: str, limit: int = 50) -> list[Report]:
        """The oldest reports still to be sent to ``room``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, at, kind, data FROM outbox WHERE room = ? ORDER BY seq LIMIT ?",
                (room, limit),
            ).fetchall()
        return [Report(id=r[0], at=r[1], kind=r[2], data=json.loads(r[3])) for r in rows]

    def count(self, room: str) -> int:
        with self._lock:
            (n,) = self._conn.execute(
                "SELECT count(*) FROM outbox WHERE room = ?", (room,)
            ).fetchone()
        return int(n)

    def done(self, report_id: str) -> None:
        """The room has it (acknowledged), or will never take it (rejected)."""
        with self._lock:
            self._conn.execute("DELETE FROM outbox WHERE id = ?", (report_id,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
