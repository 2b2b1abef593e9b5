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
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor.progress.schema import (
    APPLICATION_ID,
    EXPECTED_TABLES,
    SCHEMA_VERSION,
    SchemaTooNewError,
    migrate,
)

DB_NAME = "progress.sqlite3"
_SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 5.0
EXPORT_FORMAT = "concurrency-tutor-progress"
EXPORT_VERSION = 1
MAX_ID_LENGTH = 200
_PROFILE_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")


class ProgressError(Exception):
    """Base class for everything the progress store raises on purpose."""


class ProgressStoreError(ProgressError):
    """The database cannot be opened or used (newer schema, unwritable folder, ...)."""


class ProgressImportError(ProgressError):
    """An export given to ``import_`` is not valid; the message is one line."""


@dataclass(frozen=True)
class LessonProgress:
    """What one learner has done in one lesson (computed, never stored as such)."""

    lesson_id: str
    started: bool = False
    done: bool = False
    challenges_answered: int = 0
    challenges_right: int = 0  # latest attempt per challenge
    quiz_answered: int = 0
    quiz_right: int = 0  # latest attempt per question
    first_try_right: int = 0  # questions whose first attempt was right
    prediction_error: float | None = None  # mean |predicted - measured| / measured
    seconds: float = 0.0
    last_activity: float | None = None  # epoch seconds

    @property
    def state(self) -> str:
        if self.done:
            return "done"
        if self.started:
            return "in progress"
        return "not started"


@dataclass(frozen=True)
class ImportSummary:
    """What ``Store.merge`` added (attempts already present are not counted)."""

    challenge_attempts_added: int
    quiz_attempts_added: int
    challenge_attempts_seen: int
    quiz_attempts_seen: int
    lessons: int


# --------------------------------------------------------------------------- opening


def open_store(data_dir: Path | str, profile: str) -> Store:
    """Open (creating if needed) ``data_dir/progress.sqlite3`` for ``profile``.

    A corrupt file, or an SQLite file that is not ours, is renamed to
    ``progress.sqlite3.corrupt-YYYYmmdd-HHMMSS`` (with its -wal/-shm) and a
    fresh database is started; ``store.recovered_from`` then names the moved
    file so the caller can tell the learner. A file written by a newer
    tutor (higher schema version) is left untouched and
    :class:`ProgressStoreError` is raised.
    """
    profile = check_profile(profile)
    folder = Path(data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProgressStoreError(
            f"cannot create the data folder {folder}: {exc.strerror or exc}"
        ) from exc
    with _opening_lock(folder):
        conn, recovered_from, reason = _open_database(folder / DB_NAME)
    return Store(conn, folder / DB_NAME, profile, recovered_from, reason)


@contextmanager
def _opening_lock(folder: Path) -> Iterator[None]:
    """Serialise opening (inspect, move aside, create, migrate) across processes.

    Without it, two apps starting together on a corrupt file could both decide
    to move it aside, and the slower one would move the faster one's fresh
    database. Held only while opening, never while the store is in use.
    """
    from tutor.locking import lock

    try:
        fd = os.open(folder / f"{DB_NAME}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only folder: SQLite will report the real problem
        yield
        return
    try:
        lock(fd)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def check_profile(profile: str) -> str:
    """Return the profile name or raise ValueError saying what is allowed."""
    if not isinstance(profile, str) or not _PROFILE_RE.match(profile) or profile != profile.strip():
        raise ValueError(
            f"profile name {profile!r} is not allowed: use 1 to 64 printable characters "
            "without leading or trailing spaces"
        )
    return profile


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves (the sqlite3 module's
    # implicit transactions would start deferred ones, and executescript commits).
    target = f"{path.resolve().as_uri()}?mode=ro" if read_only else str(path)
    conn = sqlite3.connect(
        target,
        uri=read_only,
        timeout=BUSY_TIMEOUT_S,
        isolation_level=None,
        check_same_thread=False,
    )
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    return conn


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """Only these errors mean "the file is bad"; busy/locked/IO errors must never
    get a learner's file moved aside."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return False
    return (code & 0xFF) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def _inspect(conn: sqlite3.Connection) -> str | None:
    """Read-only look at the file: None if it is ours (or empty), else why not.

    Runs before anything that writes (journal_mode=WAL would rewrite a foreign
    file's header), so a file we move aside keeps its original bytes.
    """
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = _tables(conn)
    if app_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"schema version {version} is newer than this concurrency-tutor knows "
                f"(up to {SCHEMA_VERSION})"
            )
        check = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
        if check != ["ok"]:
            return f"damaged ({'; '.join(check[:3])})"
        missing = EXPECTED_TABLES - tables
        if version == SCHEMA_VERSION and missing:
            # Checked here, before anything writes, so the moved file keeps its bytes.
            return f"damaged (missing tables: {', '.join(sorted(missing))})"
        return None
    if app_id == 0 and version == 0 and not tables:
        return None  # a new, empty file: ours to set up
    listed = ", ".join(sorted(tables)[:5]) or "none"
    return f"not a concurrency-tutor progress file (application_id {app_id}, tables: {listed})"


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")


def _too_new(path: Path, exc: SchemaTooNewError) -> ProgressStoreError:
    return ProgressStoreError(
        f"{path} was written by a newer concurrency-tutor ({exc}); it was left "
        "untouched: upgrade concurrency-tutor or use another --data-dir"
    )


def _inspect_file(path: Path) -> str | None:
    """Decide whether an existing file is ours, through a read-only connection.

    Read-only on purpose: closing a read-write connection lets SQLite delete
    or checkpoint the -wal/-shm files, and those are part of what we promise
    to keep when moving a bad file aside. If a read-only look is impossible
    (e.g. a WAL that needs recovery, which only a writer may run), fall back
    to a read-write one: the file is then a real SQLite database anyway.
    """
    try:
        with open(path, "rb") as fh:
            magic = fh.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ProgressStoreError(f"cannot open {path}: {exc.strerror or exc}") from exc
    if not magic:
        return None  # a new, empty file: ours to set up
    if magic != _SQLITE_MAGIC:
        # Not SQLite at all: decided without SQLite, which would otherwise
        # rewrite a leftover -shm even through a read-only connection.
        return "not an SQLite file"
    for read_only in (True, False):
        try:
            conn = _connect(path, read_only=read_only)
        except sqlite3.Error as exc:
            if read_only:
                continue
            raise ProgressStoreError(f"cannot open {path}: {exc}") from exc
        try:
            return _inspect(conn)
        except SchemaTooNewError as exc:
            raise _too_new(path, exc) from exc
        except sqlite3.DatabaseError as exc:
            if _is_corruption(exc):
                return f"unreadable ({exc})"
            if not read_only:
                raise ProgressStoreError(f"cannot use {path}: {exc}") from exc
        finally:
            conn.close()
    raise AssertionError("unreachable")


def _open_database(path: Path) -> tuple[sqlite3.Connection, Path | None, str | None]:
    recovered_from: Path | None = None
    reason: str | None = None
    for attempt in range(2):
        problem = _inspect_file(path)
        if problem is None:
            try:
                conn = _connect(path)
            except sqlite3.Error as exc:
                raise ProgressStoreError(f"cannot open {path}: {exc}") from exc
            handed_over = False
            try:
                _configure(conn)
                # migrate() re-reads the version under the write lock: another
                # process may have created or upgraded the file meanwhile.
                migrate(conn)
                missing = EXPECTED_TABLES - _tables(conn)
                if not missing:
                    handed_over = True
                    return conn, recovered_from, reason
                problem = f"damaged (missing tables: {', '.join(sorted(missing))})"
            except SchemaTooNewError as exc:
                raise _too_new(path, exc) from exc
            except sqlite3.DatabaseError as exc:
                if not _is_corruption(exc):
                    raise ProgressStoreError(f"cannot use {path}: {exc}") from exc
                problem = f"unreadable ({exc})"
            finally:
                if not handed_over:
                    conn.close()
        if attempt:
            raise ProgressStoreError(f"a fresh {path} is still unusable: {problem}")
        recovered_from = _move_aside(path)
        reason = problem
    raise AssertionError("unreachable")


def _move_aside(path: Path) -> Path:
    """Rename a bad database (and its -wal/-shm) out of the way, never over a file."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while any(Path(f"{target}{s}").exists() for s in ("", "-wal", "-shm")):
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    try:
        os.rename(path, target)
        for suffix in ("-wal", "-shm"):
            side = Path(f"{path}{suffix}")
            if side.exists():
                os.rename(side, Path(f"{target}{suffix}"))
    except OSError as exc:
        raise ProgressStoreError(
            f"{path} is unusable and could not be moved aside: {exc.strerror or exc}"
        ) from exc
    return target


# --------------------------------------------------------------------------- values


def _check_id(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_LENGTH:
        raise ValueError(f"{name} must be a non-empty string of at most {MAX_ID_LENGTH} characters")
    return value


def _finite_or_none(value: object, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number or None, not {type(value).__name__}")
    value = float(value)
    # A speedup of inf/NaN (a zero-time run) is not a measurement; keeping it
    # would also make the export invalid JSON.
    return value if math.isfinite(value) else None


def _json_safe(value: Any) -> Any:
    """Replace NaN/inf (not valid JSON) by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _new_uid() -> str:
    """A random 128-bit id for an attempt (what uuid4 gives, without importing uuid)."""
    return os.urandom(16).hex()


def _dump(value: Any) -> str:
    # default=str: losing a learner's attempt because the lab added a value
    # json cannot encode would be worse than storing that value as text.
    return json.dumps(_json_safe(value), default=str, allow_nan=False, separators=(",", ":"))


# --------------------------------------------------------------------------- statistics

_PROFILE_FILTER = "(:pid IS NULL OR profile_id = :pid)"


def _lesson_stats(conn: sqlite3.Connection, pid: int | None) -> dict[tuple[int, str], dict]:
    """Per (profile, lesson) counts, for one profile (pid) or all (None)."""
    stats: dict[tuple[int, str], dict] = {}

    def row(key: tuple[int, str]) -> dict:
        return stats.setdefault(
            key,
            {
                "started_at": None,
                "done_at": None,
                "updated_at": None,
                "challenges_answered": 0,
                "challenges_right": 0,
                "prediction_sum": 0.0,
                "prediction_count": 0,
                "quiz_answered": 0,
                "quiz_right": 0,
                "first_try_right": 0,
                "seconds": 0.0,
            },
        )

    params = {"pid": pid}
    for p, lesson, started, done, updated in conn.execute(
        f"SELECT profile_id, lesson_id, started_at, done_at, updated_at FROM lessons WHERE {_PROFILE_FILTER}",
        params,
    ):
        row((p, lesson)).update(started_at=started, done_at=done, updated_at=updated)
    # Right/answered count the latest attempt per challenge: a learner who got
    # it wrong, understood why and tried again is now right.
    for p, lesson, answered, right in conn.execute(
        f"""
        SELECT profile_id, lesson_id, COUNT(*), SUM(correct) FROM (
            SELECT profile_id, lesson_id, correct, ROW_NUMBER() OVER (
                PARTITION BY profile_id, lesson_id, challenge_id ORDER BY created_at DESC, id DESC
            ) AS rn
            FROM challenge_attempts WHERE {_PROFILE_FILTER}
        ) WHERE rn = 1 GROUP BY profile_id, lesson_id
        """,
        params,
    ):
        row((p, lesson)).update(challenges_answered=answered, challenges_right=right or 0)
    # Prediction accuracy uses every prediction ever made: each one was a real
    # guess before a measurement, and averaging them is what shows calibration.
    for p, lesson, total, count in conn.execute(
        f"""
        SELECT profile_id, lesson_id,
               SUM(abs(predicted_speedup - measured_speedup) / measured_speedup), COUNT(*)
        FROM challenge_attempts
        WHERE {_PROFILE_FILTER} AND predicted_speedup IS NOT NULL AND measured_speedup > 0
        GROUP BY profile_id, lesson_id
        """,
        params,
    ):
        row((p, lesson)).update(prediction_sum=total, prediction_count=count)
    for p, lesson, answered, right, first_right in conn.execute(
        f"""
        SELECT profile_id, lesson_id,
               SUM(rn_last = 1),
               SUM(CASE WHEN rn_last = 1 THEN correct ELSE 0 END),
               SUM(CASE WHEN rn_first = 1 THEN correct ELSE 0 END)
        FROM (
            SELECT profile_id, lesson_id, correct,
                ROW_NUMBER() OVER (PARTITION BY profile_id, lesson_id, question_id
                                   ORDER BY created_at DESC, id DESC) AS rn_last,
                ROW_NUMBER() OVER (PARTITION BY profile_id, lesson_id, question_id
                                   ORDER BY created_at ASC, id ASC) AS rn_first
            FROM quiz_attempts WHERE {_PROFILE_FILTER}
        ) GROUP BY profile_id, lesson_id
        """,
        params,
    ):
        row((p, lesson)).update(
            quiz_answered=answered, quiz_right=right, first_try_right=first_right
        )
    for p, lesson, seconds in conn.execute(
        f"SELECT profile_id, lesson_id, SUM(seconds) FROM lesson_time WHERE {_PROFILE_FILTER} GROUP BY profile_id, lesson_id",
        params,
    ):
        row((p, lesson))["seconds"] = float(seconds)
    return stats


def _to_progress(lesson_id: str, s: dict) -> LessonProgress:
    count = s["prediction_count"]
    return LessonProgress(
        lesson_id=lesson_id,
        started=True,
        done=s["done_at"] is not None,
        challenges_answered=s["challenges_answered"],
        challenges_right=s["challenges_right"],
        quiz_answered=s["quiz_answered"],
        quiz_right=s["quiz_right"],
        first_try_right=s["first_try_right"],
        prediction_error=(s["prediction_sum"] / count) if count else None,
        seconds=s["seconds"],
        last_activity=s["updated_at"],
    )


def _challenge_rows(conn: sqlite3.Connection, pid: int, lesson_id: str | None) -> list[dict]:
    rows = conn.execute(
        """
        SELECT uid, lesson_id, challenge_id, choice, predicted_speedup, measured_speedup,
               winner, correct, result, created_at
        FROM challenge_attempts
        WHERE profile_id = :pid AND (:lesson IS NULL OR lesson_id = :lesson)
        ORDER BY created_at, id
        """,
        {"pid": pid, "lesson": lesson_id},
    )
    return [
        {
            "uid": r[0],
            "lesson_id": r[1],
            "challenge_id": r[2],
            "choice": r[3],
            "predicted_speedup": r[4],
            "measured_speedup": r[5],
            "winner": r[6],
            "correct": bool(r[7]),
            "result": json.loads(r[8]),
            "created_at": r[9],
        }
        for r in rows
    ]


def _quiz_rows(conn: sqlite3.Connection, pid: int, lesson_id: str | None) -> list[dict]:
    rows = conn.execute(
        """
        SELECT uid, lesson_id, question_id, chosen, correct, hint_used, created_at
        FROM quiz_attempts
        WHERE profile_id = :pid AND (:lesson IS NULL OR lesson_id = :lesson)
        ORDER BY created_at, id
        """,
        {"pid": pid, "lesson": lesson_id},
    )
    return [
        {
            "uid": r[0],
            "lesson_id": r[1],
            "question_id": r[2],
            "chosen": json.loads(r[3]),
            "correct": bool(r[4]),
            "hint_used": bool(r[5]),
            "created_at": r[6],
        }
        for r in rows
    ]


# --------------------------------------------------------------------------- the store


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
            raise ProgressStoreError("the progress store is closed")
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
                    f"progress could not be saved to {self.path}: {exc}"
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
                    f"progress could not be read from {self.path}: {exc}"
                ) from exc

    @staticmethod
    def _touch(conn: sqlite3.Connection, pid: int, lesson_id: str, now: float) -> None:
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
        _check_id("lesson_id", lesson_id)
        _check_id("challenge_id", challenge_id)
        _check_id("choice", choice)
        _check_id("winner", winner)
        if not isinstance(result, dict):
            raise TypeError("result must be a dict (the lab's measured data)")
        predicted = _finite_or_none(predicted_speedup, "predicted_speedup")
        measured = _finite_or_none(measured_speedup, "measured_speedup")
        payload = _dump(result)
        now = time.time()
        with self._write() as (conn, pid):
            conn.execute(
                """
                INSERT INTO challenge_attempts (uid, profile_id, lesson_id, challenge_id, choice,
                    predicted_speedup, measured_speedup, winner, correct, result, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    _new_uid(),
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
        _check_id("lesson_id", lesson_id)
        _check_id("question_id", question_id)
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
                    _new_uid(),
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
        _check_id("lesson_id", lesson_id)
        value = _finite_or_none(seconds, "seconds")
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
        _check_id("lesson_id", lesson_id)
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
        _check_id("key", key)
        with self._read() as (conn, pid):
            if pid is None:
                return None
            found = conn.execute(
                "SELECT value FROM settings WHERE profile_id = ? AND key = ?", (pid, key)
            ).fetchone()
        return found[0] if found else None

    def set_setting(self, key: str, value: str) -> None:
        """Remember a preference of this profile (the theme, for example)."""
        _check_id("key", key)
        _check_id("value", value)
        with self._write() as (conn, pid):
            conn.execute(
                """
                INSERT INTO settings (profile_id, key, value, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (profile_id, key) DO UPDATE SET
                    value = excluded.value, updated_at = excluded.updated_at
                """,
                (pid, key, value, time.time()),
            )

    def mark_done(self, lesson_id: str) -> None:
        """Mark a lesson done (the first time counts; calling it again is harmless)."""
        _check_id("lesson_id", lesson_id)
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
            stats = _lesson_stats(conn, pid)
        return {lesson: _to_progress(lesson, s) for (_, lesson), s in sorted(stats.items())}

    def challenge_attempts(self, lesson_id: str | None = None) -> list[dict]:
        """Every challenge attempt (oldest first, as in the export), optionally for one lesson."""
        with self._read() as (conn, pid):
            return [] if pid is None else _challenge_rows(conn, pid, lesson_id)

    def quiz_attempts(self, lesson_id: str | None = None) -> list[dict]:
        """Every quiz answer (oldest first, as in the export), optionally for one lesson."""
        with self._read() as (conn, pid):
            return [] if pid is None else _quiz_rows(conn, pid, lesson_id)

    # -- reset, export, import

    def reset(self, lesson_id: str | None = None) -> None:
        """Forget this profile's progress: one lesson, or everything."""
        if lesson_id is not None:
            _check_id("lesson_id", lesson_id)
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
            if pid is None:
                return data
            pos = conn.execute(
                "SELECT lesson_id, anchor, updated_at FROM positions WHERE profile_id = ?", (pid,)
            ).fetchone()
            if pos:
                data["position"] = {"lesson_id": pos[0], "anchor": pos[1], "updated_at": pos[2]}
            data["lessons"] = [
                {"lesson_id": r[0], "started_at": r[1], "done_at": r[2], "updated_at": r[3]}
                for r in conn.execute(
                    "SELECT lesson_id, started_at, done_at, updated_at FROM lessons "
                    "WHERE profile_id = ? ORDER BY lesson_id",
                    (pid,),
                )
            ]
            data["time"] = [
                {"lesson_id": r[0], "origin": r[1], "seconds": r[2], "updated_at": r[3]}
                for r in conn.execute(
                    "SELECT lesson_id, origin, seconds, updated_at FROM lesson_time "
                    "WHERE profile_id = ? ORDER BY lesson_id, origin",
                    (pid,),
                )
            ]
            data["challenge_attempts"] = _challenge_rows(conn, pid, None)
            data["quiz_attempts"] = _quiz_rows(conn, pid, None)
        return data

    def import_(self, data: dict) -> None:
        """Merge an export into this profile (see :meth:`merge`)."""
        self.merge(data)

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
            lessons: dict[str, list[float | None]] = {}

            def seen(
                lesson: str, started: float, updated: float, done: float | None = None
            ) -> None:
                cur = lessons.setdefault(lesson, [started, None, updated])
                cur[0] = min(cur[0], started)
                cur[2] = max(cur[2], updated)
                if done is not None:
                    cur[1] = done if cur[1] is None else min(cur[1], done)

            for lesson in clean["lessons"]:
                seen(
                    lesson["lesson_id"],
                    lesson["started_at"],
                    lesson["updated_at"],
                    lesson["done_at"],
                )
            added_challenges = added_quiz = 0
            for a in clean["challenge_attempts"]:
                cur = conn.execute(
                    """
                    INSERT INTO challenge_attempts (uid, profile_id, lesson_id, challenge_id, choice,
                        predicted_speedup, measured_speedup, winner, correct, result, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (profile_id, uid) DO NOTHING
                    """,
                    (
                        a["uid"],
                        pid,
                        a["lesson_id"],
                        a["challenge_id"],
                        a["choice"],
                        a["predicted_speedup"],
                        a["measured_speedup"],
                        a["winner"],
                        int(a["correct"]),
                        _dump(a["result"]),
                        a["created_at"],
                    ),
                )
                added_challenges += cur.rowcount
                seen(a["lesson_id"], a["created_at"], a["created_at"])
            for a in clean["quiz_attempts"]:
                cur = conn.execute(
                    """
                    INSERT INTO quiz_attempts (uid, profile_id, lesson_id, question_id, chosen, correct,
                        hint_used, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (profile_id, uid) DO NOTHING
                    """,
                    (
                        a["uid"],
                        pid,
                        a["lesson_id"],
                        a["question_id"],
                        json.dumps(a["chosen"]),
                        int(a["correct"]),
                        int(a["hint_used"]),
                        a["created_at"],
                    ),
                )
                added_quiz += cur.rowcount
                seen(a["lesson_id"], a["created_at"], a["created_at"])
            for t in clean["time"]:
                conn.execute(
                    """
                    INSERT INTO lesson_time (profile_id, lesson_id, origin, seconds, updated_at)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (profile_id, lesson_id, origin) DO UPDATE SET
                        seconds = max(seconds, excluded.seconds),
                        updated_at = max(updated_at, excluded.updated_at)
                    """,
                    (pid, t["lesson_id"], t["origin"], t["seconds"], t["updated_at"]),
                )
                seen(t["lesson_id"], t["updated_at"], t["updated_at"])
            pos = clean["position"]
            if pos is not None:
                # The more recent resume point wins.
                conn.execute(
                    """
                    INSERT INTO positions (profile_id, lesson_id, anchor, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (profile_id) DO UPDATE SET
                        lesson_id = excluded.lesson_id, anchor = excluded.anchor,
                        updated_at = excluded.updated_at
                    WHERE excluded.updated_at > positions.updated_at
                    """,
                    (pid, pos["lesson_id"], pos["anchor"], pos["updated_at"]),
                )
                seen(pos["lesson_id"], pos["updated_at"], pos["updated_at"])
            for lesson, (started, done, updated) in lessons.items():
                conn.execute(
                    """
                    INSERT INTO lessons (profile_id, lesson_id, started_at, done_at, updated_at)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (profile_id, lesson_id) DO UPDATE SET
                        started_at = min(started_at, excluded.started_at),
                        done_at = CASE
                            WHEN done_at IS NULL THEN excluded.done_at
                            WHEN excluded.done_at IS NULL THEN done_at
                            ELSE min(done_at, excluded.done_at) END,
                        updated_at = max(updated_at, excluded.updated_at)
                    """,
                    (pid, lesson, started, done, updated),
                )
        return ImportSummary(
            challenge_attempts_added=added_challenges,
            quiz_attempts_added=added_quiz,
            challenge_attempts_seen=len(clean["challenge_attempts"]),
            quiz_attempts_seen=len(clean["quiz_attempts"]),
            lessons=len(lessons),
        )

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


# --------------------------------------------------------------------------- import validation


def validate_export(data: object) -> dict:
    """Check an export and return it normalised; ProgressImportError names the first problem."""
    if not isinstance(data, dict):
        raise ProgressImportError(f"expected a JSON object, not {_kind(data)}")
    if data.get("format") != EXPORT_FORMAT:
        raise ProgressImportError(
            f"not a concurrency-tutor progress export: 'format' must be {EXPORT_FORMAT!r}"
        )
    version = data.get("version")
    if (
        not isinstance(version, int)
        or isinstance(version, bool)
        or not 1 <= version <= EXPORT_VERSION
    ):
        raise ProgressImportError(
            f"export format version {version!r} is not supported: this tutor reads version "
            f"{EXPORT_VERSION} (upgrade concurrency-tutor to import newer files)"
        )
    v = _Validator()
    out: dict[str, Any] = {"profile": v.opt_str(data, "profile", "")}
    out["lessons"] = [
        {
            "lesson_id": v.ident(item, "lesson_id", where),
            "started_at": v.num(item, "started_at", where),
            "done_at": v.num(item, "done_at", where, optional=True),
            "updated_at": v.num(item, "updated_at", where),
        }
        for where, item in v.items(data, "lessons")
    ]
    out["time"] = [
        {
            "lesson_id": v.ident(item, "lesson_id", where),
            "origin": v.ident(item, "origin", where),
            "seconds": v.num(item, "seconds", where, minimum=0.0),
            "updated_at": v.num(item, "updated_at", where),
        }
        for where, item in v.items(data, "time")
    ]
    out["challenge_attempts"] = [
        {
            "uid": v.ident(item, "uid", where),
            "lesson_id": v.ident(item, "lesson_id", where),
            "challenge_id": v.ident(item, "challenge_id", where),
            "choice": v.ident(item, "choice", where),
            "predicted_speedup": v.num(item, "predicted_speedup", where, optional=True),
            "measured_speedup": v.num(item, "measured_speedup", where, optional=True),
            "winner": v.ident(item, "winner", where),
            "correct": v.boolean(item, "correct", where),
            "result": v.obj(item, "result", where),
            "created_at": v.num(item, "created_at", where),
        }
        for where, item in v.items(data, "challenge_attempts")
    ]
    out["quiz_attempts"] = [
        {
            "uid": v.ident(item, "uid", where),
            "lesson_id": v.ident(item, "lesson_id", where),
            "question_id": v.ident(item, "question_id", where),
            "chosen": v.int_list(item, "chosen", where),
            "correct": v.boolean(item, "correct", where),
            "hint_used": v.boolean(item, "hint_used", where),
            "created_at": v.num(item, "created_at", where),
        }
        for where, item in v.items(data, "quiz_attempts")
    ]
    position = data.get("position")
    if position is None:
        out["position"] = None
    elif isinstance(position, dict):
        out["position"] = {
            "lesson_id": v.ident(position, "lesson_id", "position"),
            "anchor": v.opt_str(position, "anchor", None, "position"),
            "updated_at": v.num(position, "updated_at", "position"),
        }
    else:
        raise ProgressImportError(f"'position' must be an object or null, not {_kind(position)}")
    return out


def _kind(value: object) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "true/false",
        type(None): "null",
    }
    return names.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


class _Validator:
    """Small helpers so every message names the exact field (e.g. quiz_attempts[3].correct)."""

    @staticmethod
    def items(data: dict, key: str) -> Iterator[tuple[str, dict]]:
        value = data.get(key, [])
        if not isinstance(value, list):
            raise ProgressImportError(f"'{key}' must be a list, not {_kind(value)}")
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            if not isinstance(item, dict):
                raise ProgressImportError(f"{where} must be an object, not {_kind(item)}")
            yield where, item

    @staticmethod
    def ident(item: dict, key: str, where: str) -> str:
        value = item.get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_LENGTH:
            raise ProgressImportError(
                f"{where}.{key} must be a non-empty string of at most {MAX_ID_LENGTH} characters"
            )
        return value

    @staticmethod
    def opt_str(item: dict, key: str, default: str | None, where: str = "") -> str | None:
        value = item.get(key, default)
        if value is not None and not isinstance(value, str):
            name = f"{where}.{key}" if where else f"'{key}'"
            raise ProgressImportError(f"{name} must be a string or null, not {_kind(value)}")
        return value

    @staticmethod
    def num(
        item: dict, key: str, where: str, *, optional: bool = False, minimum: float | None = None
    ) -> Any:
        value = item.get(key)
        if value is None and optional:
            return None
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or (minimum is not None and value < minimum):
            what = "a finite number" + (f" >= {minimum:g}" if minimum is not None else "")
            raise ProgressImportError(
                f"{where}.{key} must be {what}{' or null' if optional else ''}, not {value!r}"[:200]
            )
        return float(value)

    @staticmethod
    def boolean(item: dict, key: str, where: str) -> bool:
        value = item.get(key)
        if not isinstance(value, bool):
            raise ProgressImportError(f"{where}.{key} must be true or false, not {_kind(value)}")
        return value

    @staticmethod
    def obj(item: dict, key: str, where: str) -> dict:
        value = item.get(key)
        if not isinstance(value, dict):
            raise ProgressImportError(f"{where}.{key} must be an object, not {_kind(value)}")
        return value

    @staticmethod
    def int_list(item: dict, key: str, where: str) -> list[int]:
        value = item.get(key)
        if not isinstance(value, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in value
        ):
            raise ProgressImportError(f"{where}.{key} must be a list of whole numbers")
        return list(value)


# --------------------------------------------------------------------------- many profiles


@contextmanager
def _read_only(data_dir: Path | str) -> Iterator[sqlite3.Connection | None]:
    """A connection for readers of every profile (the instructor's board).

    It never creates, migrates or moves anything: a missing file yields None,
    and a file that is not a current progress database raises
    ProgressStoreError, because the board must not touch learners' data.
    ``query_only`` makes any accidental write fail.
    """
    path = Path(data_dir) / DB_NAME
    if not path.exists():
        yield None
        return
    try:
        conn = _connect(path)
    except sqlite3.Error as exc:
        raise ProgressStoreError(f"cannot open {path}: {exc}") from exc
    try:
        conn.execute("PRAGMA query_only = ON")
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id == 0 and version == 0 and not _tables(conn):
            yield None  # created a moment ago and not set up yet
            return
        if app_id != APPLICATION_ID or version != SCHEMA_VERSION:
            raise ProgressStoreError(
                f"{path} is not a progress database of this concurrency-tutor version "
                f"(application_id {app_id}, schema {version}, expected {SCHEMA_VERSION}); "
                "open it with `tutor progress show` to upgrade or recover it"
            )
        conn.execute("BEGIN")
        yield conn
    except sqlite3.Error as exc:
        raise ProgressStoreError(f"cannot read {path}: {exc}") from exc
    finally:
        conn.close()


def list_profiles(data_dir: Path | str) -> list[str]:
    """Names of the profiles with saved progress in ``data_dir``, sorted."""
    with _read_only(data_dir) as conn:
        if conn is None:
            return []
        return [name for (name,) in conn.execute("SELECT name FROM profiles ORDER BY name")]


def board_rows(data_dir: Path | str) -> list[dict]:
    """One summary row per profile, for the instructor's board. Read-only.

    Keys: ``profile``, ``lesson`` and ``anchor`` (the resume point, or None),
    ``lessons_started``, ``lessons_done``, ``challenges_right``,
    ``challenges_answered``, ``prediction_error`` (mean relative error of every
    prediction, or None), ``quiz_right``, ``quiz_answered`` (latest answer per
    question), ``seconds``, ``last_activity`` (epoch seconds or None).
    """
    with _read_only(data_dir) as conn:
        if conn is None:
            return []
        profiles = conn.execute(
            "SELECT id, name, created_at FROM profiles ORDER BY name"
        ).fetchall()
        positions = {
            pid: (lesson, anchor, updated)
            for pid, lesson, anchor, updated in conn.execute(
                "SELECT profile_id, lesson_id, anchor, updated_at FROM positions"
            )
        }
        stats = _lesson_stats(conn, None)
    rows = []
    for pid, name, _created in profiles:
        mine = [s for (p, _), s in stats.items() if p == pid]
        pos = positions.get(pid)
        count = sum(s["prediction_count"] for s in mine)
        activity = [s["updated_at"] for s in mine if s["updated_at"] is not None]
        if pos:
            activity.append(pos[2])
        rows.append(
            {
                "profile": name,
                "lesson": pos[0] if pos else None,
                "anchor": pos[1] if pos else None,
                "lessons_started": len(mine),
                "lessons_done": sum(1 for s in mine if s["done_at"] is not None),
                "challenges_right": sum(s["challenges_right"] for s in mine),
                "challenges_answered": sum(s["challenges_answered"] for s in mine),
                "prediction_error": (sum(s["prediction_sum"] for s in mine) / count)
                if count
                else None,
                "quiz_right": sum(s["quiz_right"] for s in mine),
                "quiz_answered": sum(s["quiz_answered"] for s in mine),
                "seconds": sum(s["seconds"] for s in mine),
                "last_activity": max(activity) if activity else None,
            }
        )
    return rows
