"""The room's own database: who joined, and every report they sent.

``data_dir/room.sqlite3``, apart from ``progress.sqlite3``: joined learners'
progress lives on their machines, and what they mirror here is a different
thing (reports with machine facts), written only by the room server and read
by the board and the export. WAL, so the board reads while the server writes;
the server writes in batches (one transaction for everything that arrived in
the last moments), so 300 learners cost a few commits a second, not hundreds.

No asyncssh and no Textual here.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tutor.room.protocol import Report

ROOM_DB = "room.sqlite3"
PLAYING_S = 600.0
"""A connected learner who reported in the last 10 minutes is "playing"; else "joined"."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS learners (
    name           TEXT PRIMARY KEY,
    first_joined   REAL NOT NULL,
    connected      INTEGER NOT NULL DEFAULT 0,
    last_seen      REAL NOT NULL,
    last_activity  REAL,
    lesson         TEXT
);
CREATE TABLE IF NOT EXISTS reports (
    seq         INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    challenge   TEXT,
    at          REAL NOT NULL,
    received_at REAL NOT NULL,
    data        TEXT NOT NULL,
    UNIQUE (name, id)
);
CREATE INDEX IF NOT EXISTS reports_by_challenge ON reports (kind, challenge, name, seq);
"""


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5, isolation_level=None)
    else:
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # An acknowledgement is a promise: the report is on disk before it is sent.
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA)
    return conn


class RoomStore:
    """The server's writer. One per server; used from one thread at a time."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.conn = _connect(data_dir / ROOM_DB)

    def server_started(self) -> None:
        """Nobody is connected to a server that just started (a killed one could not say so)."""
        self.conn.execute("UPDATE learners SET connected = 0 WHERE connected != 0")

    def write(
        self, reports: Iterable[tuple[str, Report]], presence: Iterable[tuple[str, int]]
    ) -> list[bool]:
        """One transaction: presence changes (name, +1/-1) and reports; per report, new or not."""
        now = time.time()
        fresh: list[bool] = []
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for name, delta in presence:
                conn.execute(
                    """INSERT INTO learners (name, first_joined, connected, last_seen) VALUES (?, ?, max(?, 0), ?)
                       ON CONFLICT (name) DO UPDATE SET connected = max(connected + ?, 0), last_seen = ?""",
                    (name, now, delta, now, delta, now),
                )
            for name, report in reports:
                data = report["data"]
                challenge = data.get("challenge") if report["kind"] == "verdict" else None
                cur = conn.execute(
                    """INSERT OR IGNORE INTO reports (name, id, kind, challenge, at, received_at, data)
                       VALUES (?, ?, ?, ?, ?, ?, ?)""",
                    (
                        name,
                        report["id"],
                        report["kind"],
                        challenge,
                        report["at"],
                        now,
                        json.dumps(data, separators=(",", ":")),
                    ),
                )
                fresh.append(cur.rowcount == 1)
                lesson = data.get("lesson")
                conn.execute(
                    """INSERT INTO learners (name, first_joined, connected, last_seen, last_activity, lesson)
                       VALUES (?, ?, 0, ?, ?, ?)
                       ON CONFLICT (name) DO UPDATE SET last_seen = ?, last_activity = ?,
                           lesson = coalesce(?, lesson)""",
                    (name, now, now, now, lesson, now, now, lesson),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return fresh

    def close(self) -> None:
        self.conn.close()


# -- reading (the board, the export, the benchmark) ---------------------------------------


def open_reader(data_dir: Path) -> sqlite3.Connection | None:
    """A read-only connection, or None when no learner ever joined this room."""
    path = data_dir / ROOM_DB
    if not path.exists():
        return None
    try:
        return _connect(path, readonly=True)
    except sqlite3.Error:
        return None


def learners(conn: sqlite3.Connection, now: float | None = None) -> list[dict[str, Any]]:
    """Who joined: name, state (joined / playing / left), lesson, reports, last activity."""
    now = time.time() if now is None else now
    counts = dict(
        conn.execute(
            "SELECT name, count(*) FROM reports WHERE kind = 'verdict' GROUP BY name"
        ).fetchall()
    )
    # The progress the games mirrored: lessons done, quiz answers (the latest per question).
    done = dict(
        conn.execute(
            """SELECT name, count(DISTINCT json_extract(data, '$.lesson')) FROM reports
               WHERE kind = 'progress' AND json_extract(data, '$.event') = 'done' GROUP BY name"""
        ).fetchall()
    )
    quiz: dict[str, tuple[int, int]] = {}
    for name, right, answered in conn.execute(
        """SELECT name, sum(correct), count(*) FROM (
               SELECT name, json_extract(data, '$.correct') AS correct, max(seq) FROM reports
               WHERE kind = 'progress' AND json_extract(data, '$.event') = 'quiz'
               GROUP BY name, json_extract(data, '$.lesson'), json_extract(data, '$.item'))
           GROUP BY name"""
    ):
        quiz[name] = (int(right or 0), int(answered))
    rows = conn.execute(
        """SELECT name, connected, first_joined, last_seen, last_activity, lesson
           FROM learners ORDER BY name"""
    ).fetchall()
    out = []
    for name, connected, first, last_seen, activity, lesson in rows:
        verdicts = counts.get(name, 0)
        if not connected:
            state = "left"
        elif activity is not None and now - activity <= PLAYING_S:
            state = "playing"
        else:
            state = "joined"
        out.append(
            {
                "name": name,
                "state": state,
                "lesson": lesson,
                "verdicts": verdicts,
                "lessons_done": done.get(name, 0),
                "quiz_right": quiz.get(name, (0, 0))[0],
                "quiz_answered": quiz.get(name, (0, 0))[1],
                "first_joined": first,
                "last_seen": last_seen,
                "last_activity": activity,
            }
        )
    return out


def verdicts(conn: sqlite3.Connection, challenge: str | None = None) -> list[dict[str, Any]]:
    """Every verdict report (oldest first): name, id, received_at and the report's data."""
    sql = "SELECT name, id, at, received_at, data FROM reports WHERE kind = 'verdict'"
    args: tuple[Any, ...] = ()
    if challenge is not None:
        sql += " AND challenge = ?"
        args = (challenge,)
    rows = conn.execute(sql + " ORDER BY seq", args).fetchall()
    return [
        {"name": name, "id": rid, "at": at, "received_at": received, **json.loads(data)}
        for name, rid, at, received, data in rows
    ]


def latest_verdicts(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], int]:
    """Each learner's latest verdict per challenge (one machine counts once), and how many there are in all."""
    rows = conn.execute(
        """SELECT name, id, at, received_at, data FROM reports WHERE seq IN (
               SELECT max(seq) FROM reports WHERE kind = 'verdict' GROUP BY challenge, name)
           ORDER BY seq"""
    ).fetchall()
    (total,) = conn.execute("SELECT count(*) FROM reports WHERE kind = 'verdict'").fetchone()
    latest = [
        {"name": name, "id": rid, "at": at, "received_at": received, **json.loads(data)}
        for name, rid, at, received, data in rows
    ]
    return latest, int(total)


def data_version(conn: sqlite3.Connection) -> int:
    """Changes when another connection (the server) commits: a cheap "anything new?"."""
    (version,) = conn.execute("PRAGMA data_version").fetchone()
    return int(version)
