"""The progress store: one SQLite file per data directory, one profile per learner.

Concurrency model: many processes may hold the same file open (two copies of
the game on one profile, every SSH learner plus the instructor's board). The
file is in WAL mode so readers never block writers; every write is a short
``BEGIN IMMEDIATE`` transaction (taking the write lock up front means SQLite's
busy timeout applies, instead of failing with "database is locked" when a
reader tries to upgrade to a writer). Within one process a ``Store`` may be
shared between threads (the UI thread and workers): a lock serialises use of
its connection.

Durability: ``synchronous=FULL`` makes every COMMIT wait for the WAL to reach
the disk, so once a ``record_*`` call has returned the attempt survives the
process being killed (and a power cut).

Layout of the package: :mod:`~tutor.progress.opening` (creating, inspecting,
recovering, migrating the file), this module (one learner's reads and
writes), :mod:`~tutor.progress.transfer` (export, bounded import, merge),
:mod:`~tutor.progress.queries` (statistics shared with the board),
:mod:`~tutor.progress.board` (read-only queries over every profile),
:mod:`~tutor.progress.values` (what may be stored, and making it safe to show)
and :mod:`~tutor.progress.errors`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# The names below are this module's public surface (``from
# tutor.progress.store import ...``) even where the code lives elsewhere.
from tutor.progress.board import board_rows, list_profiles
from tutor.progress.errors import (
    ProgressError,
    ProgressImportError,
    ProgressStoreError,
    reason_of,
)
from tutor.progress.opening import BUSY_TIMEOUT_S, DB_NAME, check_profile, open_database
from tutor.progress.queries import (
    LessonProgress,
    TaskStates,
    challenge_rows,
    lesson_stats,
    overall_prediction_error,
    quiz_rows,
    task_states,
    to_progress,
)
from tutor.progress.rules import lesson_complete
from tutor.progress.transfer import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    ImportSummary,
    export_profile,
    merge_export,
    parse_export,
    validate_export,
)
from tutor.progress.values import MAX_ID_LENGTH, check_id, dump, finite_or_none, new_uid

__all__ = [
    "BUSY_TIMEOUT_S",
    "DB_NAME",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "MAX_ID_LENGTH",
    "ImportSummary",
    "LessonProgress",
    "ProgressError",
    "ProgressImportError",
    "ProgressStoreError",
    "Store",
    "TaskStates",
    "board_rows",
    "check_profile",
    "list_profiles",
    "open_store",
    "parse_export",
    "validate_export",
]


def open_store(data_dir: Path | str, profile: str) -> Store:
    """Open (creating if needed) ``data_dir/progress.sqlite3`` for ``profile``.

    A corrupt file, or an SQLite file that is not ours, is renamed to
    ``progress.sqlite3.corrupt-YYYYmmdd-HHMMSS`` (with its -wal/-shm) and a
    fresh database is started; ``store.recovered_from`` then names the moved
    file so the caller can tell the learner. A file written by a newer
    tutor (higher schema version) is left untouched and
    :class:`ProgressStoreError` is raised. The folder (if created) is 0700
    and the files 0600.
    """
    profile = check_profile(profile)
    folder = Path(data_dir)
    conn, recovered_from, reason = open_database(folder)
    return Store(conn, folder / DB_NAME, profile, recovered_from, reason)


class Store:
    """One learner's progress in one database file. Use :func:`open_store`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        profile: str,
        recovered_from: Path | None = None,
        recovered_reason: str | None = None,
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        self.path = path
        self.profile = profile
        self.recovered_from = recovered_from
        """Where a corrupt or foreign file was moved to while opening, else None."""
        self.recovered_reason = recovered_reason
        """Why it was moved (one line), else None."""
        # This file's origin id: the key under which add_time counts (see schema).
        (self._origin,) = conn.execute("SELECT value FROM meta WHERE key = 'origin'").fetchone()

    # -- plumbing

    def _find_profile(self, conn: sqlite3.Connection) -> int | None:
        found = conn.execute("SELECT id FROM profiles WHERE name = ?", (self.profile,)).fetchone()
        return found[0] if found else None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ProgressStoreError("the progress store is closed", "the progress file is closed")
        return self._conn

    @contextmanager
    def _write(
        self, *, create_profile: bool = True
    ) -> Iterator[tuple[sqlite3.Connection, int | None]]:
        """One short write transaction; yields (connection, profile id)."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    # The profile row is created on the first write, not on open,
                    # so `tutor progress show --profile typo` leaves no trace.
                    if create_profile:
                        conn.execute(
                            "INSERT OR IGNORE INTO profiles (name, created_at) VALUES (?, ?)",
                            (self.profile, time.time()),
                        )
                    pid = self._find_profile(conn)
                    yield conn, pid
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise ProgressStoreError(
                    f"progress could not be saved to {self.path}: {exc}", reason_of(exc)
                ) from exc

    @contextmanager
    def _read(self) -> Iterator[tuple[sqlite3.Connection, int | None]]:
        """A read transaction: one consistent snapshot even while others write."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN")
                try:
                    yield conn, self._find_profile(conn)
                finally:
                    if conn.in_transaction:
                        conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise ProgressStoreError(
                    f"progress could not be read from {self.path}: {exc}", reason_of(exc)
                ) from exc

    @staticmethod
    def _touch(conn: sqlite3.Connection, pid: int | None, lesson_id: str, now: float) -> None:
        conn.execute(
            """
            INSERT INTO lessons (profile_id, lesson_id, started_at, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (profile_id, lesson_id) DO UPDATE SET
                updated_at = max(updated_at, excluded.updated_at)
            """,
            (pid, lesson_id, now, now),
        )

    # -- recording

    def record_challenge(
        self,
        lesson_id: str,
        challenge_id: str,
        *,
        choice: str,
        predicted_speedup: float | None,
        measured_speedup: float | None,
        winner: str,
        correct: bool,
        result: dict,
    ) -> None:
        """Keep one challenge attempt; durable once this returns."""
        check_id("lesson_id", lesson_id)
        check_id("challenge_id", challenge_id)
        check_id("choice", choice)
        check_id("winner", winner)
        if not isinstance(result, dict):
            raise TypeError("result must be a dict (the lab's measured data)")
        predicted = finite_or_none(predicted_speedup, "predicted_speedup")
        measured = finite_or_none(measured_speedup, "measured_speedup")
        payload = dump(result)
        now = time.time()
        with self._write() as (conn, pid):
            conn.execute(
                """
                INSERT INTO challenge_attempts (uid, profile_id, lesson_id, challenge_id, choice,
                    predicted_speedup, measured_speedup, winner, correct, result, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    new_uid(),
                    pid,
                    lesson_id,
                    challenge_id,
                    choice,
                    predicted,
                    measured,
                    winner,
                    int(bool(correct)),
                    payload,
                    now,
                ),
            )
            self._touch(conn, pid, lesson_id, now)

    def record_quiz(
        self, lesson_id: str, question_id: str, *, chosen: list[int], correct: bool, hint_used: bool
    ) -> None:
        """Keep one quiz answer; durable once this returns."""
        check_id("lesson_id", lesson_id)
        check_id("question_id", question_id)
        if not isinstance(chosen, list | tuple) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in chosen
        ):
            raise TypeError("chosen must be a list of option indexes (ints)")
        now = time.time()
        with self._write() as (conn, pid):
            conn.execute(
                """
                INSERT INTO quiz_attempts (uid, profile_id, lesson_id, question_id, chosen, correct,
                    hint_used, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    new_uid(),
                    pid,
                    lesson_id,
                    question_id,
                    json.dumps(list(chosen)),
                    int(bool(correct)),
                    int(bool(hint_used)),
                    now,
                ),
            )
            self._touch(conn, pid, lesson_id, now)

    def add_time(self, lesson_id: str, seconds: float) -> None:
        """Add time spent in a lesson (call it with the increments the UI measured)."""
        check_id("lesson_id", lesson_id)
        value = finite_or_none(seconds, "seconds")
        if value is None or value < 0:
            raise ValueError("seconds must be a finite number >= 0")
        if value == 0:
            return
        now = time.time()
        with self._write() as (conn, pid):
            conn.execute(
                """
                INSERT INTO lesson_time (profile_id, lesson_id, origin, seconds, updated_at)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (profile_id, lesson_id, origin) DO UPDATE SET
                    seconds = seconds + excluded.seconds, updated_at = excluded.updated_at
                """,
                (pid, lesson_id, self._origin, value, now),
            )
            self._touch(conn, pid, lesson_id, now)

    def set_position(self, lesson_id: str, anchor: str | None = None) -> None:
        """Remember where to resume: the lesson and, optionally, a place in it."""
        check_id("lesson_id", lesson_id)
        if anchor is not None and not isinstance(anchor, str):
            raise TypeError("anchor must be a string or None")
        now = time.time()
        with self._write() as (conn, pid):
            conn.execute(
                """
                INSERT INTO positions (profile_id, lesson_id, anchor, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (profile_id) DO UPDATE SET
                    lesson_id = excluded.lesson_id, anchor = excluded.anchor,
                    updated_at = excluded.updated_at
                """,
                (pid, lesson_id, anchor, now),
            )
            # Opening a lesson is what starts it.
            self._touch(conn, pid, lesson_id, now)

    def position(self) -> tuple[str, str | None] | None:
        """The resume point ``(lesson_id, anchor)``, or None if there is none."""
        with self._read() as (conn, pid):
            if pid is None:
                return None
            found = conn.execute(
                "SELECT lesson_id, anchor FROM positions WHERE profile_id = ?", (pid,)
            ).fetchone()
        return (found[0], found[1]) if found else None

    def setting(self, key: str) -> str | None:
        """A preference of this profile (None if it was never set)."""
        check_id("key", key)
        with self._read() as (conn, pid):
            if pid is None:
                return None
            found = conn.execute(
                "SELECT value FROM settings WHERE profile_id = ? AND key = ?", (pid, key)
            ).fetchone()
        return found[0] if found else None

    def set_setting(self, key: str, value: str) -> None:
        """Remember a preference of this profile (the theme, for example)."""
        check_id("key", key)
        check_id("value", value)
        with self._write() as (conn, pid):
            conn.execute(
                """
                INSERT INTO settings (profile_id, key, value, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (profile_id, key) DO UPDATE SET
                    value = excluded.value, updated_at = excluded.updated_at
                """,
                (pid, key, value, time.time()),
            )

    def complete_if_done(
        self, lesson_id: str, challenge_ids: Sequence[str], question_ids: Sequence[str]
    ) -> bool:
        """Record the lesson as done if the rule (`rules.lesson_complete`) now holds.

        Called after every answer and when a lesson is opened, so "done" is
        recorded the moment it becomes true, whichever screen or command gave
        the last answer. Returns True only when it became done by this call.
        Read and write happen in one transaction: two games on one profile
        cannot both announce it.
        """
        check_id("lesson_id", lesson_id)
        now = time.time()
        with self._write() as (conn, pid):
            assert pid is not None  # created by _write
            found = conn.execute(
                "SELECT done_at FROM lessons WHERE profile_id = ? AND lesson_id = ?",
                (pid, lesson_id),
            ).fetchone()
            if found is not None and found[0] is not None:
                return False
            if not lesson_complete(challenge_ids, question_ids, task_states(conn, pid, lesson_id)):
                return False
            self._touch(conn, pid, lesson_id, now)
            conn.execute(
                "UPDATE lessons SET done_at = ? WHERE profile_id = ? AND lesson_id = ?",
                (now, pid, lesson_id),
            )
            return True

    def mark_done(self, lesson_id: str) -> None:
        """Mark a lesson done whatever the rule says (imports and tests; the first time counts)."""
        check_id("lesson_id", lesson_id)
        now = time.time()
        with self._write() as (conn, pid):
            self._touch(conn, pid, lesson_id, now)
            conn.execute(
                "UPDATE lessons SET done_at = coalesce(done_at, ?) WHERE profile_id = ? AND lesson_id = ?",
                (now, pid, lesson_id),
            )

    # -- reading

    def lesson_progress(self, lesson_id: str) -> LessonProgress:
        """Progress in one lesson (a "not started" record if there is none)."""
        return self.all_progress().get(lesson_id, LessonProgress(lesson_id=lesson_id))

    def all_progress(self) -> dict[str, LessonProgress]:
        """Every lesson this profile has touched, by lesson id."""
        with self._read() as (conn, pid):
            if pid is None:
                return {}
            stats = lesson_stats(conn, pid)
        return {lesson: to_progress(lesson, s) for (_, lesson), s in sorted(stats.items())}

    def task_states(self, lesson_id: str) -> TaskStates:
        """Which challenges were tried and which quiz questions answered, and which were ever right."""
        with self._read() as (conn, pid):
            return TaskStates() if pid is None else task_states(conn, pid, lesson_id)

    def prediction_error(self) -> float | None:
        """Mean relative error of every speedup prediction this profile made (None if none)."""
        with self._read() as (conn, pid):
            return None if pid is None else overall_prediction_error(conn, pid)

    def challenge_attempts(self, lesson_id: str | None = None) -> list[dict]:
        """Every challenge attempt (oldest first, as in the export), optionally for one lesson."""
        with self._read() as (conn, pid):
            return [] if pid is None else challenge_rows(conn, pid, lesson_id)

    def quiz_attempts(self, lesson_id: str | None = None) -> list[dict]:
        """Every quiz answer (oldest first, as in the export), optionally for one lesson."""
        with self._read() as (conn, pid):
            return [] if pid is None else quiz_rows(conn, pid, lesson_id)

    # -- reset, export, import

    def reset(self, lesson_id: str | None = None) -> None:
        """Forget this profile's progress: one lesson, or everything."""
        if lesson_id is not None:
            check_id("lesson_id", lesson_id)
        with self._write(create_profile=False) as (conn, pid):
            if pid is None:
                return
            where = "profile_id = ?" + ("" if lesson_id is None else " AND lesson_id = ?")
            args: tuple = (pid,) if lesson_id is None else (pid, lesson_id)
            for table in (
                "challenge_attempts",
                "quiz_attempts",
                "lesson_time",
                "lessons",
                "positions",
            ):
                conn.execute(f"DELETE FROM {table} WHERE {where}", args)

    def export(self) -> dict:
        """Everything about this profile as JSON-able data (see ``EXPORT_FORMAT``)."""
        data: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "profile": self.profile,
            "exported_at": time.time(),
            "position": None,
            "lessons": [],
            "time": [],
            "challenge_attempts": [],
            "quiz_attempts": [],
        }
        with self._read() as (conn, pid):
            return data if pid is None else export_profile(conn, pid, data)

    def merge(self, data: dict) -> ImportSummary:
        """Validate ``data`` (an :meth:`export`) and merge it into this profile.

        The export's own profile name is informational: progress moves between
        machines where the user name differs. Nothing is written unless the
        whole export is valid. Attempts are identified by uid, so importing the
        same file twice adds nothing the second time; time is kept per origin
        database and merged by maximum for the same reason.
        """
        clean = validate_export(data)
        with self._write() as (conn, pid):
            assert pid is not None  # _write created the profile
            return merge_export(conn, pid, clean)

    # -- lifetime

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store(path={str(self.path)!r}, profile={self.profile!r})"
