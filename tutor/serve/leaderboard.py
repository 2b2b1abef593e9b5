"""The leaderboard: one ranked row per learner, and the export of a room's results.

Plain data without Textual, for the board and ``tutor board --export``. A
learner's points (:func:`points`) rank them; ``"score"`` stays their name in the
rows and in the exported files, as the board's column and docs/workshop.md say.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

from tutor.progress.values import printable
from tutor.serve.sessions import read_sessions

FIELDS = [
    "rank",
    "profile",
    "connected",
    "lesson",
    "lessons_done",
    "challenges_right",
    "challenges_answered",
    "prediction_accuracy",
    "quiz_right",
    "quiz_answered",
    "score",
    "last_activity",
    "joined",
]


def prediction_accuracy(error: float | None) -> int | None:
    """Percent: 100 = every speed-up predicted exactly; from the mean relative error."""
    if error is None:
        return None
    return max(0, round(100 * (1 - float(error))))


def points(row: dict[str, Any]) -> int:
    """Points for the projector: finished lessons, right challenges, right quiz answers.

    Effort (lessons done) and understanding (challenges, quiz) both count; the
    prediction accuracy only breaks ties, so a bold wrong guess is not punished twice.
    """
    return (
        20 * int(row.get("lessons_done") or 0)
        + 10 * int(row.get("challenges_right") or 0)
        + 5 * int(row.get("quiz_right") or 0)
    )


def _shown(value: Any) -> Any:
    """Store text made safe for a terminal or a file: control characters become ``?``."""
    return printable(value) if isinstance(value, str) else value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A spreadsheet would run a cell starting with = + - @ as a formula: quote it."""
    value = _shown(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(float(epoch), dt.UTC).isoformat(timespec="seconds")


def joined_rows(data_dir: Path) -> list[dict[str, Any]]:
    """Board rows for games joined from learners' machines, from what they mirrored.

    The same rules as the store's: the latest verdict per challenge counts for
    right/answered, every prediction for the accuracy, the latest answer per
    question for the quiz. ``tutor run --join`` results are no challenge.
    """
    from tutor.serve.room import store

    conn = store.open_reader(data_dir)
    if conn is None:
        return []
    try:
        learners = store.learners(conn)
        verdicts = store.verdicts(conn)
    finally:
        conn.close()
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    errors: dict[str, list[float]] = {}
    for v in verdicts:
        if v.get("lesson") is None:
            continue
        latest[(v["name"], v["challenge"])] = v
        measured = next(
            (
                s.get("speedup")
                for s in v.get("strategies") or []
                if s.get("strategy") == v.get("choice") and not s.get("implausible")
            ),
            None,
        )
        predicted = v.get("predicted_speedup")
        if predicted is not None and measured:
            errors.setdefault(v["name"], []).append(abs(predicted - measured) / measured)
    rows = []
    for learner in learners:
        name = learner["name"]
        mine = [v for (who, _), v in latest.items() if who == name]
        error = errors.get(name)
        row = {
            "profile": _shown(name),
            "connected": learner["state"] != "left",
            "lesson": _shown(learner["lesson"]),
            "lessons_done": learner["lessons_done"],
            "challenges_right": sum(1 for v in mine if v.get("correct")),
            "challenges_answered": len(mine),
            "prediction_accuracy": prediction_accuracy(sum(error) / len(error) if error else None),
            "quiz_right": learner["quiz_right"],
            "quiz_answered": learner["quiz_answered"],
            "last_activity": _iso(learner["last_activity"]),
            "joined": True,
        }
        row["score"] = points(row)
        rows.append(row)
    return rows


def collect(data_dir: Path) -> list[dict[str, Any]]:
    """One row per learner, ranked: progress joined with who is connected now."""
    from tutor.progress import board_rows

    connected = {s.get("profile") for s in read_sessions(data_dir)}
    rows: list[dict[str, Any]] = []
    for raw in board_rows(data_dir):
        row = {
            "profile": _shown(raw.get("profile")),
            "connected": raw.get("profile") in connected,
            "lesson": _shown(raw.get("lesson")),
            "lessons_done": raw.get("lessons_done") or 0,
            "challenges_right": raw.get("challenges_right") or 0,
            "challenges_answered": raw.get("challenges_answered") or 0,
            "prediction_accuracy": prediction_accuracy(raw.get("prediction_error")),
            "quiz_right": raw.get("quiz_right") or 0,
            "quiz_answered": raw.get("quiz_answered") or 0,
            "last_activity": _iso(raw.get("last_activity")),
            "joined": False,
        }
        row["score"] = points(row)
        rows.append(row)
    # Learners connected but with nothing saved yet still appear on the board.
    known = {r["profile"] for r in rows}
    for session in read_sessions(data_dir):
        profile = session.get("profile")
        if session.get("role") == "learner" and profile and profile not in known:
            known.add(profile)
            rows.append(
                dict.fromkeys(FIELDS[1:], None)
                | {
                    "profile": _shown(profile),
                    "connected": True,
                    "lessons_done": 0,
                    "challenges_right": 0,
                    "challenges_answered": 0,
                    "quiz_right": 0,
                    "quiz_answered": 0,
                    "score": 0,
                    "joined": False,
                }
            )
    rows += joined_rows(data_dir)
    rows.sort(key=lambda r: (-r["score"], -(r["prediction_accuracy"] or 0), str(r["profile"])))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return [{k: row.get(k) for k in FIELDS} for row in rows]


ROOM_FIELDS = [
    "name",
    "challenge",
    "scenario",
    "lesson",
    "received_at",
    "choice",
    "predicted_speedup",
    "correct",
    "winner",
    "tied",
    "quick",
    "cores",
    "logical_cpus",
    "parallel_capacity",
    "python",
    "implementation",
    "free_threaded_build",
    "gil_enabled",
    "start_method",
    "os",
    "strategy",
    "workers",
    "strategy_start_method",
    "ok",
    "wall_s",
    "speedup",
    "speedup_low",
    "speedup_high",
    "implausible",
    "foreign_load_percent",
]


def room_results(data_dir: Path) -> dict[str, Any]:
    """Every joined learner (joined / playing / left) and every verdict they reported."""
    from tutor.serve.room import store

    conn = store.open_reader(data_dir)
    if conn is None:
        return {"learners": [], "results": []}
    try:
        learners = store.learners(conn)
        results = store.verdicts(conn)
    finally:
        conn.close()
    for row in learners:
        for key in ("first_joined", "last_seen", "last_activity"):
            row[key] = _iso(row[key])
    for row in results:
        row["received_at"] = _iso(row["received_at"])
        row["at"] = _iso(row["at"])
    return {"learners": learners, "results": results}


def _room_csv_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per reported strategy, each with its verdict and machine facts."""
    rows = []
    for result in results:
        base = {k: result.get(k) for k in ROOM_FIELDS[:11]}
        base["tied"] = " ".join(result.get("tied") or [])
        base |= {k: (result.get("machine") or {}).get(k) for k in ROOM_FIELDS[11:20]}
        for figures in result.get("strategies") or []:
            row = dict(base)
            row |= {k: figures.get(k) for k in ROOM_FIELDS[20:]}
            row["strategy_start_method"] = figures.get("start_method")
            rows.append(row)
    return rows


def export_results(data_dir: Path, path: Path) -> int:
    """Write the ranked rows as CSV or JSON (chosen by extension); returns the count.

    The room's results (``tutor join``) go with them: in the JSON under
    ``"room"``, and as a second CSV file beside a CSV (``NAME-room.csv``, one
    row per strategy of each reported verdict, with the machine's facts).
    """
    from tutor.errors import UsageError

    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise UsageError(f"--export: FILE must end in .csv or .json, got {path.name!r}")
    rows = collect(data_dir)
    room = room_results(data_dir)
    if suffix == ".json":
        text = json.dumps(
            {
                "exported_at": _iso(dt.datetime.now(dt.UTC).timestamp()),
                "learners": rows,
                "room": _shown_tree(room),
            },
            indent=2,
        )
        path.write_text(text + "\n", encoding="utf-8")
    else:
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
        with room_csv_path(path).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=ROOM_FIELDS)
            writer.writeheader()
            writer.writerows(
                {k: csv_cell(v) for k, v in row.items()} for row in _room_csv_rows(room["results"])
            )
    return len(rows)


def room_csv_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-room{path.suffix}")


def _shown_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _shown_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown_tree(v) for v in value]
    return _shown(value)
