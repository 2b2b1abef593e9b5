"""Read-only queries over every profile, for the instructor's board.

They never create, migrate or move anything: the board must not touch
learners' data, whatever state the file is in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tutor.progress.errors import ProgressStoreError, reason_of
from tutor.progress.opening import DB_NAME, connect, tables
from tutor.progress.queries import lesson_stats
from tutor.progress.schema import APPLICATION_ID, SCHEMA_VERSION


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
        conn = connect(path)
    except sqlite3.Error as exc:
        raise ProgressStoreError(f"cannot open {path}: {exc}", reason_of(exc)) from exc
    try:
        conn.execute("PRAGMA query_only = ON")
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id == 0 and version == 0 and not tables(conn):
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
        raise ProgressStoreError(f"cannot read {path}: {exc}", reason_of(exc)) from exc
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
        stats = lesson_stats(conn, None)
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
