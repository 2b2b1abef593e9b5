"""Moving a profile between machines: the export format, reading an import safely, merging.

An import file comes from anywhere, so reading it is bounded (nesting depth,
digits in a number, sizes) and every id must have the syntax the game itself
writes: ids end up on the instructor's terminal and in CSV files.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tutor.progress.errors import ProgressImportError
from tutor.progress.queries import challenge_rows, quiz_rows
from tutor.progress.values import MAX_ID_LENGTH, SLUG_RE, TOKEN_RE, dump, has_control

EXPORT_FORMAT = "concurrency-tutor-progress"
EXPORT_VERSION = 1
# A real export nests 6-8 levels (a result holds the lab's per-strategy data).
MAX_DEPTH = 32
# Digits in a whole number: 64-bit values need 20; more is not a measurement,
# and a 5,000-digit one makes int() refuse and float() overflow.
MAX_INT_DIGITS = 30
MAX_NUMBER_CHARS = 64
MAX_ITEMS = 100_000  # per list: about 100 times a whole workshop's attempts
MAX_RESULT_BYTES = 1 << 20  # one attempt's lab data, as stored
MAX_TEXT = MAX_ID_LENGTH


@dataclass(frozen=True)
class ImportSummary:
    """What ``Store.merge`` added (attempts already present are not counted)."""

    challenge_attempts_added: int
    quiz_attempts_added: int
    challenge_attempts_seen: int
    quiz_attempts_seen: int
    lessons: int


# --------------------------------------------------------------------------- reading a file


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ProgressImportError(
            f"a number has {len(text.lstrip('-'))} digits; at most {MAX_INT_DIGITS} are allowed"
        )
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text) if len(text) <= MAX_NUMBER_CHARS else math.inf
    if not math.isfinite(value):
        raise ProgressImportError(f"a number is too long or too large: {text[:20]}...")
    return value


def _parse_constant(text: str) -> Any:
    raise ProgressImportError(f"{text} is not a number an export may hold")


def parse_export(raw: bytes) -> Any:
    """Decode an import file's bytes as bounded JSON; ProgressImportError says why not."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProgressImportError("not UTF-8 text") from None
    try:
        data = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as exc:
        raise ProgressImportError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        # The decoder itself gives up (cleanly) far below what would hurt.
        raise ProgressImportError(f"nested more than {MAX_DEPTH} levels deep") from None
    check_depth(data)
    return data


def check_depth(data: Any, limit: int = MAX_DEPTH) -> None:
    """Raise ProgressImportError if ``data`` nests deeper than ``limit``.

    Iterative: the point is to refuse what recursive code (ours, json's) would choke on.
    """
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                raise ProgressImportError(f"nested more than {limit} levels deep")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)


# --------------------------------------------------------------------------- export and merge


def export_profile(conn: sqlite3.Connection, pid: int, data: dict[str, Any]) -> dict[str, Any]:
    """Fill ``data`` (the export's header) with profile ``pid``'s rows."""
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
    data["challenge_attempts"] = challenge_rows(conn, pid, None)
    data["quiz_attempts"] = quiz_rows(conn, pid, None)
    return data


def merge_export(conn: sqlite3.Connection, pid: int, clean: dict[str, Any]) -> ImportSummary:
    """Merge a validated export into profile ``pid`` inside the caller's transaction."""
    # lesson -> (first started, first done or None, last updated), over everything merged
    lessons: dict[str, tuple[float, float | None, float]] = {}

    def seen(lesson: str, started: float, updated: float, done: float | None = None) -> None:
        first, first_done, last = lessons.get(lesson, (started, None, updated))
        if done is not None:
            first_done = done if first_done is None else min(first_done, done)
        lessons[lesson] = (min(first, started), first_done, max(last, updated))

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
                dump(a["result"]),
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


# --------------------------------------------------------------------------- validation


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
    # Data handed over by code (not parsed by parse_export) gets the same bound.
    check_depth(data)
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
            "origin": v.token(item, "origin", where),
            "seconds": v.num(item, "seconds", where, minimum=0.0),
            "updated_at": v.num(item, "updated_at", where),
        }
        for where, item in v.items(data, "time")
    ]
    out["challenge_attempts"] = [
        {
            "uid": v.token(item, "uid", where),
            "lesson_id": v.ident(item, "lesson_id", where),
            "challenge_id": v.ident(item, "challenge_id", where),
            "choice": v.token(item, "choice", where),
            "predicted_speedup": v.num(item, "predicted_speedup", where, optional=True),
            "measured_speedup": v.num(item, "measured_speedup", where, optional=True),
            "winner": v.token(item, "winner", where),
            "correct": v.boolean(item, "correct", where),
            "result": v.obj(item, "result", where),
            "created_at": v.num(item, "created_at", where),
        }
        for where, item in v.items(data, "challenge_attempts")
    ]
    out["quiz_attempts"] = [
        {
            "uid": v.token(item, "uid", where),
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
            "anchor": v.opt_slug(position, "anchor", "position"),
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
        if len(value) > MAX_ITEMS:
            raise ProgressImportError(f"'{key}' has more than {MAX_ITEMS} items")
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            if not isinstance(item, dict):
                raise ProgressImportError(f"{where} must be an object, not {_kind(item)}")
            yield where, item

    @staticmethod
    def ident(item: dict, key: str, where: str) -> str:
        """A lesson, challenge or question id: the lessons' own syntax."""
        value = item.get(key)
        if not isinstance(value, str) or len(value) > MAX_ID_LENGTH or not SLUG_RE.match(value):
            raise ProgressImportError(
                f"{where}.{key} must be a non-empty string in the lessons' id syntax "
                f"(a-z, 0-9 and '-', e.g. 'gil-q1'; at most {MAX_ID_LENGTH} characters)"
            )
        return value

    @staticmethod
    def token(item: dict, key: str, where: str) -> str:
        """A machine-made name: an attempt uid, an origin, a strategy."""
        value = item.get(key)
        if not isinstance(value, str) or len(value) > MAX_ID_LENGTH or not TOKEN_RE.match(value):
            raise ProgressImportError(
                f"{where}.{key} must be a non-empty string of letters, digits, '_', '.' or '-' "
                f"(at most {MAX_ID_LENGTH} characters)"
            )
        return value

    @staticmethod
    def opt_slug(item: dict, key: str, where: str) -> str | None:
        value = item.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > MAX_ID_LENGTH or not SLUG_RE.match(value):
            raise ProgressImportError(
                f"{where}.{key} must be a string or null, a string in the lessons' id syntax "
                f"(a-z, 0-9 and '-'; at most {MAX_ID_LENGTH} characters)"
            )
        return value

    @staticmethod
    def opt_str(item: dict, key: str, default: str | None, where: str = "") -> str | None:
        value = item.get(key, default)
        if value is not None and not isinstance(value, str):
            name = f"{where}.{key}" if where else f"'{key}'"
            raise ProgressImportError(f"{name} must be a string or null, not {_kind(value)}")
        if value is not None and (len(value) > MAX_TEXT or has_control(value)):
            name = f"{where}.{key}" if where else f"'{key}'"
            raise ProgressImportError(
                f"{name} must be at most {MAX_TEXT} characters without control characters"
            )
        return value

    @staticmethod
    def num(
        item: dict, key: str, where: str, *, optional: bool = False, minimum: float | None = None
    ) -> Any:
        value = item.get(key)
        if value is None and optional:
            return None
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:  # an int too big for a float
                number = None
        if (
            number is None
            or not math.isfinite(number)
            or (minimum is not None and number < minimum)
        ):
            what = "a finite number" + (f" >= {minimum:g}" if minimum is not None else "")
            # Never repr() the value: a huge int cannot even be turned into text.
            shown = f"{number:g}" if number is not None else _kind(value)
            raise ProgressImportError(
                f"{where}.{key} must be {what}{' or null' if optional else ''}, not {shown}"
            )
        return number

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
        if len(dump(value)) > MAX_RESULT_BYTES:
            raise ProgressImportError(
                f"{where}.{key} is larger than {MAX_RESULT_BYTES // 1024} KiB"
            )
        return value

    @staticmethod
    def int_list(item: dict, key: str, where: str) -> list[int]:
        value = item.get(key)
        if (
            not isinstance(value, list)
            or len(value) > MAX_ITEMS
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in value)
        ):
            raise ProgressImportError(f"{where}.{key} must be a list of whole numbers")
        return list(value)
