"""Read queries shared by one learner's store and the instructor's board."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LessonProgress:
    """What one learner has done in one lesson (computed, never stored as such)."""

    lesson_id: str
    started: bool = False
    done: bool = False
    challenges_answered: int = 0
    challenges_right: int = 0  # challenges with a right verdict (the best attempt counts)
    quiz_answered: int = 0
    quiz_right: int = 0  # questions answered right at least once
    first_try_right: int = 0  # questions whose first attempt was right
    prediction_error: float | None = (
        None  # mean |predicted - measured| / measured (rules.prediction_error)
    )
    seconds: float = 0.0
    last_activity: float | None = None  # epoch seconds

    @property
    def state(self) -> str:
        if self.done:
            return "done"
        if self.started:
            return "in progress"
        return "not started"


_PROFILE_FILTER = "(:pid IS NULL OR profile_id = :pid)"


def lesson_stats(conn: sqlite3.Connection, pid: int | None) -> dict[tuple[int, str], dict]:
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
    # A challenge keeps its best verdict: right once is right, whatever a retry
    # measured later (every attempt stays in the table as its history).
    for p, lesson, answered, right in conn.execute(
        f"""
        SELECT profile_id, lesson_id, COUNT(*), SUM(best) FROM (
            SELECT profile_id, lesson_id, MAX(correct) AS best
            FROM challenge_attempts WHERE {_PROFILE_FILTER}
            GROUP BY profile_id, lesson_id, challenge_id
        ) GROUP BY profile_id, lesson_id
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
    # A quiz question counts as right once it was answered right (the done rule
    # in tutor.progress.rules); the first attempt is kept apart as "first try".
    for p, lesson, answered, right, first_right in conn.execute(
        f"""
        SELECT profile_id, lesson_id, COUNT(*), SUM(best), SUM(first_right) FROM (
            SELECT profile_id, lesson_id, MAX(correct) AS best,
                   MAX(CASE WHEN rn_first = 1 THEN correct ELSE 0 END) AS first_right
            FROM (
                SELECT profile_id, lesson_id, question_id, correct,
                    ROW_NUMBER() OVER (PARTITION BY profile_id, lesson_id, question_id
                                       ORDER BY created_at ASC, id ASC) AS rn_first
                FROM quiz_attempts WHERE {_PROFILE_FILTER}
            ) GROUP BY profile_id, lesson_id, question_id
        ) GROUP BY profile_id, lesson_id
        """,
        params,
    ):
        row((p, lesson)).update(
            quiz_answered=answered, quiz_right=right or 0, first_try_right=first_right or 0
        )
    for p, lesson, seconds in conn.execute(
        f"SELECT profile_id, lesson_id, SUM(seconds) FROM lesson_time WHERE {_PROFILE_FILTER} GROUP BY profile_id, lesson_id",
        params,
    ):
        row((p, lesson))["seconds"] = float(seconds)
    return stats


@dataclass(frozen=True)
class TaskStates:
    """One lesson's tasks as answered so far: task id -> answered right at least once."""

    challenges: dict[str, bool] = field(default_factory=dict)
    questions: dict[str, bool] = field(default_factory=dict)


def task_states(conn: sqlite3.Connection, pid: int, lesson_id: str) -> TaskStates:
    params = {"pid": pid, "lesson": lesson_id}
    challenges = {
        task: bool(best)
        for task, best in conn.execute(
            "SELECT challenge_id, MAX(correct) FROM challenge_attempts"
            " WHERE profile_id = :pid AND lesson_id = :lesson GROUP BY challenge_id",
            params,
        )
    }
    questions = {
        task: bool(best)
        for task, best in conn.execute(
            "SELECT question_id, MAX(correct) FROM quiz_attempts"
            " WHERE profile_id = :pid AND lesson_id = :lesson GROUP BY question_id",
            params,
        )
    }
    return TaskStates(challenges, questions)


def overall_prediction_error(conn: sqlite3.Connection, pid: int) -> float | None:
    """Mean relative error over every prediction of the profile (not a mean of lesson means)."""
    total, count = conn.execute(
        """
        SELECT SUM(abs(predicted_speedup - measured_speedup) / measured_speedup), COUNT(*)
        FROM challenge_attempts
        WHERE profile_id = ? AND predicted_speedup IS NOT NULL AND measured_speedup > 0
        """,
        (pid,),
    ).fetchone()
    return total / count if count else None


def to_progress(lesson_id: str, s: dict) -> LessonProgress:
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


def _attempts(
    conn: sqlite3.Connection, columns: str, table: str, pid: int, lesson_id: str | None
) -> sqlite3.Cursor:
    """``columns`` of one profile's attempts in ``table``: of one lesson (all: None), oldest first."""
    return conn.execute(
        f"""
        SELECT {columns}
        FROM {table}
        WHERE profile_id = :pid AND (:lesson IS NULL OR lesson_id = :lesson)
        ORDER BY created_at, id
        """,
        {"pid": pid, "lesson": lesson_id},
    )


def challenge_rows(conn: sqlite3.Connection, pid: int, lesson_id: str | None) -> list[dict]:
    rows = _attempts(
        conn,
        """uid, lesson_id, challenge_id, choice, predicted_speedup, measured_speedup,
           winner, correct, result, created_at, interpreters""",
        "challenge_attempts",
        pid,
        lesson_id,
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
            "interpreters": json.loads(r[10]) if r[10] is not None else None,
        }
        for r in rows
    ]


def quiz_rows(conn: sqlite3.Connection, pid: int, lesson_id: str | None) -> list[dict]:
    rows = _attempts(
        conn,
        "uid, lesson_id, question_id, chosen, correct, hint_used, created_at",
        "quiz_attempts",
        pid,
        lesson_id,
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
