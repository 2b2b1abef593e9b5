"""`tutor progress show | export FILE | import FILE | reset [--lesson ID]`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from tutor.errors import UsageError
from tutor.progress.rules import next_lesson
from tutor.progress.store import (
    LessonProgress,
    ProgressImportError,
    ProgressStoreError,
    Store,
    open_store,
    parse_export,
)
from tutor.progress.values import printable
from tutor.wording import DONE_RULE, NONE, duration, percent_off, score

MAX_IMPORT_BYTES = 64 * 1024 * 1024  # far above any real export; stops a wrong file eating memory


def progress_command(args: argparse.Namespace) -> int:
    """Handler for `tutor progress ACTION` (see tutor/cli.py)."""
    from tutor.paths import data_dir, profile_name

    action = args.action
    handlers = {"show": _show, "export": _export, "import": _import, "reset": _reset}
    if action not in handlers:
        raise UsageError(f"unknown progress action {action!r}: use show, export, import or reset")
    folder = data_dir(args.data_dir)
    profile = profile_name(args.profile)
    try:
        store = open_store(folder, profile)
    except ValueError as exc:  # a bad --profile
        raise UsageError(str(exc)) from exc
    except ProgressStoreError as exc:
        print(f"tutor: error: {exc}", file=sys.stderr)
        return 1
    with store:
        if store.recovered_from is not None:
            print(
                f"tutor: warning: the progress file was unusable ({store.recovered_reason}); "
                f"it was moved to {store.recovered_from} and a fresh one was started",
                file=sys.stderr,
            )
        try:
            return handlers[action](args, store)
        except ProgressStoreError as exc:
            print(f"tutor: error: {exc}", file=sys.stderr)
            return 1


# --------------------------------------------------------------------------- show


def _catalog_lessons(args: argparse.Namespace) -> list[Any]:
    """The catalog's lessons (objects with .id and .title), or [] if unavailable.

    Progress must stay viewable even when the lessons cannot be loaded (a
    broken lesson folder, a bug in the loader): then lessons are listed by id.
    """
    try:
        from tutor.lessons import load_catalog

        catalog = load_catalog(
            extra_dirs=args.lessons,
            builtin=not args.only_lessons,
        )
        return list(catalog.lessons)
    except Exception:
        return []


def _count(lesson: Any, attribute: str) -> int | None:
    try:
        return len(getattr(lesson, attribute))
    except Exception:
        return None


def _rows(args: argparse.Namespace, store: Store) -> list[dict]:
    progress = store.all_progress()
    rows = []
    listed: set[str] = set()
    for lesson in _catalog_lessons(args):
        lesson_id = str(lesson.id)
        listed.add(lesson_id)
        rows.append(
            _row(
                progress.get(lesson_id, LessonProgress(lesson_id=lesson_id)),
                title=str(getattr(lesson, "title", lesson_id)),
                challenges_total=_count(lesson, "challenges"),
                quiz_total=_count(lesson, "quiz"),
            )
        )
    # Progress for lessons the catalog does not have (removed, or from a
    # --lessons folder not given this time) is still the learner's: show it.
    for lesson_id, lp in sorted(progress.items()):
        if lesson_id not in listed:
            rows.append(_row(lp, title=lesson_id, challenges_total=None, quiz_total=None))
    return rows


def _row(
    lp: LessonProgress, *, title: str, challenges_total: int | None, quiz_total: int | None
) -> dict:
    return {
        "id": lp.lesson_id,
        "title": title,
        "state": lp.state,
        "challenges_right": lp.challenges_right,
        "challenges_answered": lp.challenges_answered,
        "challenges_total": challenges_total,
        "quiz_right": lp.quiz_right,
        "quiz_answered": lp.quiz_answered,
        "quiz_total": quiz_total,
        "quiz_first_try_right": lp.first_try_right,
        "prediction_error": lp.prediction_error,
        "seconds": lp.seconds,
        "last_activity": lp.last_activity,
    }


def _overall(store: Store, rows: list[dict]) -> dict:
    return {
        "lessons": len(rows),
        "lessons_done": sum(r["state"] == "done" for r in rows),
        "lessons_started": sum(r["state"] != "not started" for r in rows),
        "challenges_right": sum(r["challenges_right"] for r in rows),
        "challenges_answered": sum(r["challenges_answered"] for r in rows),
        "challenges_total": _total(rows, "challenges_total"),
        "quiz_right": sum(r["quiz_right"] for r in rows),
        "quiz_answered": sum(r["quiz_answered"] for r in rows),
        "quiz_total": _total(rows, "quiz_total"),
        # Over every prediction, as the game's progress screen computes it.
        "prediction_error": store.prediction_error(),
        "seconds": sum(r["seconds"] for r in rows),
    }


def _total(rows: list[dict], key: str) -> int | None:
    values = [r[key] for r in rows if r[key] is not None]
    return sum(values) if values else None


_STATE_MARK = {"done": "✓ done", "in progress": "… in progress", "not started": "· not started"}


def _resume_at(args: argparse.Namespace, position: tuple[str, str | None] | None) -> str | None:
    """`Test lesson, at the quiz question “What ...”`: titles, not ids (ids if the lessons are gone)."""
    if position is None:
        return None
    lesson_id, anchor = position
    lesson = next((x for x in _catalog_lessons(args) if x.id == lesson_id), None)
    if lesson is None:
        return lesson_id + (f" ({anchor})" if anchor else "")
    where = str(lesson.title)
    task = next((b for b in [*lesson.challenges, *lesson.quiz] if b.id == anchor), None)
    if task is not None:
        kind = "challenge" if task in lesson.challenges else "quiz question"
        first = next((line.strip() for line in task.question.splitlines() if line.strip()), "")
        where += f", at the {kind} “{first if len(first) <= 50 else first[:49] + '…'}”"
    return where


def _show(args: argparse.Namespace, store: Store) -> int:
    rows = _rows(args, store)
    overall = _overall(store, rows)
    position = store.position()
    ordered = [r["id"] for r in rows if r["challenges_total"] is not None]
    next_id = next_lesson(ordered, {r["id"] for r in rows if r["state"] == "done"})
    titles = {r["id"]: r["title"] for r in rows}
    if args.json:
        data = {
            "profile": store.profile,
            "database": str(store.path),
            "position": None
            if position is None
            else {"lesson_id": position[0], "anchor": position[1]},
            "lessons": rows,
            "overall": overall,
            "next_lesson_id": next_id,
            "done_rule": DONE_RULE,
        }
        print(json.dumps(data, indent=2))
        return 0

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text, never markup: ids and names come from the store, and an import
    # may have put anything there before ids were checked.
    table = Table(title=Text(f"Progress of {printable(store.profile)}"), title_justify="left")
    table.add_column("Lesson", overflow="fold")
    # States are words, not just colours, so NO_COLOR and monochrome terminals read the same.
    table.add_column("State", no_wrap=True)
    table.add_column("Challenges", justify="right", no_wrap=True)
    table.add_column("Quiz", justify="right", no_wrap=True)
    table.add_column("Prediction", justify="right", no_wrap=True)
    table.add_column("Time", justify="right", no_wrap=True)
    for r in rows:
        table.add_row(
            Text(printable(r["title"])),
            _STATE_MARK[r["state"]],
            score(r["challenges_right"], r["challenges_answered"], r["challenges_total"]),
            score(r["quiz_right"], r["quiz_answered"], r["quiz_total"]),
            percent_off(r["prediction_error"]),
            duration(r["seconds"]) if r["seconds"] else NONE,
        )
    console = Console()
    if rows:
        console.print(table)
    else:
        console.print(
            f"No progress yet for {printable(store.profile)}: start with `tutor`.",
            markup=False,
            highlight=False,
        )
    # The same words and figures as the game's progress screen.
    challenges = score(
        overall["challenges_right"], overall["challenges_answered"], overall["challenges_total"]
    )
    quiz = score(overall["quiz_right"], overall["quiz_answered"], overall["quiz_total"])
    line = (
        f"Overall: {overall['lessons_done']}/{overall['lessons']} lessons done"
        f" · challenges {challenges} · quiz {quiz}"
        f" · predictions {percent_off(overall['prediction_error'])}"
        f" · time {duration(overall['seconds']) if overall['seconds'] else NONE}"
    )
    console.print(line, highlight=False, markup=False)
    console.print(DONE_RULE, highlight=False, markup=False)
    if next_id is not None:
        console.print(f"Next: {printable(titles[next_id])}", highlight=False, markup=False)
    where = _resume_at(args, position)
    if where is not None:
        console.print(f"Resume at: {printable(where)}", highlight=False, markup=False)
    return 0


# --------------------------------------------------------------------------- export / import


def _export(args: argparse.Namespace, store: Store) -> int:
    data = store.export()
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    target = args.file
    if target == "-":
        sys.stdout.write(text)
        return 0
    path = Path(target).expanduser()
    if path.is_dir():
        raise UsageError(f"cannot export to {target}: it is a folder; give a file name")
    if not path.parent.is_dir():
        raise UsageError(f"cannot export to {target}: the folder {path.parent} does not exist")
    # Write to a temporary file and rename, so an interrupted export never
    # leaves a half-written file where a good one was.
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UsageError(f"cannot export to {target}: {exc.strerror or exc}") from exc
    print(
        f"Exported {len(data['challenge_attempts'])} challenge attempts and "
        f"{len(data['quiz_attempts'])} quiz answers of {store.profile} to {path}",
        file=sys.stderr,
    )
    return 0


def _read_import(source: str) -> Any:
    what = "standard input" if source == "-" else source
    hint = "expected a file written by 'tutor progress export'"
    try:
        if source == "-":
            raw = sys.stdin.buffer.read(MAX_IMPORT_BYTES + 1)
        else:
            with open(Path(source).expanduser(), "rb") as fh:
                raw = fh.read(MAX_IMPORT_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"cannot import {what}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"cannot import {what}: it is a folder; {hint}") from None
    except OSError as exc:
        raise UsageError(f"cannot import {what}: {exc.strerror or exc}") from None
    if len(raw) > MAX_IMPORT_BYTES:
        raise UsageError(
            f"cannot import {what}: larger than {MAX_IMPORT_BYTES // 2**20} MB; {hint}"
        )
    try:
        return parse_export(raw)
    except ProgressImportError as exc:
        raise UsageError(f"cannot import {what}: {exc}; {hint}") from None


def _import(args: argparse.Namespace, store: Store) -> int:
    source = args.file
    data = _read_import(source)
    try:
        summary = store.merge(data)
    except ProgressImportError as exc:
        what = "standard input" if source == "-" else source
        raise UsageError(f"cannot import {what}: {exc}") from None
    old_challenges = summary.challenge_attempts_seen - summary.challenge_attempts_added
    old_quiz = summary.quiz_attempts_seen - summary.quiz_attempts_added
    print(
        f"Imported into {store.profile}: {summary.challenge_attempts_added} challenge attempts "
        f"and {summary.quiz_attempts_added} quiz answers added "
        f"({old_challenges + old_quiz} already present), {summary.lessons} lessons merged",
    )
    return 0


# --------------------------------------------------------------------------- reset


def _reset(args: argparse.Namespace, store: Store) -> int:
    lesson = args.lesson
    if lesson is not None:
        touched = sorted(store.all_progress())
        if lesson not in touched:
            # Most likely a typo: say which ids would have done something.
            allowed = ", ".join(touched) if touched else "none (no progress saved yet)"
            raise UsageError(
                f"no progress saved for lesson {lesson!r} of {store.profile}; "
                f"lessons with progress: {allowed}"
            )
    scope = f"lesson {lesson!r}" if lesson is not None else "ALL lessons"
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(
                f"refusing to reset {scope} of {store.profile} without confirmation: "
                "stdin is not a terminal; pass --yes"
            )
        print(
            f"This forgets the progress of {store.profile} in {scope} ({store.path}). "
            "It cannot be undone (export first to keep a copy).",
            file=sys.stderr,
        )
        print("Type 'yes' to reset: ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline()
        if answer.strip().lower() != "yes":
            print("Nothing was reset.", file=sys.stderr)
            return 1
    store.reset(lesson)
    print(f"Reset {scope} for {store.profile}.")
    return 0
