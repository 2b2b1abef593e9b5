"""`tutor lint` and `tutor lessons`: check and list lessons without starting the UI.

Neither command imports Textual. `tutor lint --run` starts real workloads, one
child process at a time: :mod:`tutor.lessons.reproduce` runs and judges them,
this module prints what it finds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from tutor.errors import UsageError, whole_number
from tutor.lessons.loader import load_catalog
from tutor.lessons.model import Catalog, Challenge, Lesson, LessonError
from tutor.wording import count

CLEAR_LINE = "\x1b[2K"


def _shown(path: Path) -> str:
    """A path as the user most likely typed it: relative when under the current folder."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def lesson_dirs(args: argparse.Namespace, *, named_paths: bool = False) -> tuple[list[Path], bool]:
    """The --lessons folders and whether the built-in lessons are read too.

    The one check for every command that reads lessons (the game included): a
    folder that does not exist is a usage error, never silently skipped.
    """
    extra = [Path(d).expanduser() for d in args.lessons]
    for d in extra:
        if not d.is_dir():
            raise UsageError(
                f"--lessons {d}: no such folder; give a folder that holds lesson .md files"
            )
    only = args.only_lessons
    if only and not extra and not named_paths:
        raise UsageError("--only-lessons needs at least one --lessons DIR to read lessons from")
    return extra, not only


def _catalog_for_lint(args: argparse.Namespace) -> Catalog:
    paths = [Path(p) for p in args.paths]
    extra, builtin = lesson_dirs(args, named_paths=bool(paths))
    for p in paths:
        if not p.exists():
            raise UsageError(
                f"no such file or folder: {p}; give lesson .md files or folders of them"
            )
        if p.is_dir() and not any(p.glob("*.md")):
            raise UsageError(f"no lesson files (*.md) in folder {p}")
    if paths:
        # Named paths are checked on their own (plus any --lessons folders), not
        # against the built-in lessons: an instructor linting a copy of a
        # built-in lesson should not be told its ids clash with the original.
        return load_catalog([*paths, *extra], builtin=False)
    return load_catalog(extra, builtin=builtin)


def _print_problems(problems: list[LessonError], stream: Any) -> None:
    for problem in problems:
        print(problem.display(_shown(problem.path)), file=stream)


def lint_command(args: argparse.Namespace) -> int:
    """Check lessons; print `file:line:col: message` per problem. Exit 1 when any error."""
    repeat = whole_number(args.repeat, "--repeat", 20)  # bad input fails before any work
    catalog = _catalog_for_lint(args)
    _print_problems(catalog.errors, sys.stdout)
    _print_problems(catalog.warnings, sys.stdout)
    bad_files = {e.path for e in catalog.errors}
    n_ch = len(catalog.challenges)
    n_q = len(catalog.quiz_questions)
    summary = (
        f"{count(len(catalog.files), 'lesson file')} checked: {len(catalog.lessons)} ok, {len(bad_files)} with errors; "
        f"{count(n_ch, 'challenge')}, {count(n_q, 'quiz question')}; "
        f"{count(len(catalog.errors), 'error')}, {count(len(catalog.warnings), 'warning')}"
    )
    print(summary)
    status = 1 if catalog.errors else 0
    if args.run:
        sys.stdout.flush()
        failed = _lint_run(catalog, repeat)
        if failed:
            status = 1
    return status


# -- tutor lint --run ----------------------------------------------------------


def _lint_run(catalog: Catalog, repeat: int) -> int:
    """Print what `tutor.lessons.reproduce` finds, challenge by challenge; returns how many could not be measured."""
    from tutor.lessons.reproduce import run_challenges

    out = sys.stdout
    pairs = catalog.challenges
    if not pairs:
        print("no challenges to run", file=out)
        return 0
    print(
        f"running {count(len(pairs), 'challenge')}, quick sizes, at most {count(repeat, 'round')} of every strategy...",
        file=out,
    )
    failed = agree = differ = tied = 0
    tty = out.isatty()
    clear = CLEAR_LINE if tty else ""

    def running(challenge: Challenge, strategies: list[str]) -> None:
        if tty:
            print(
                f"{CLEAR_LINE}running {challenge.id}: {', '.join(strategies)}...",
                end="\r",
                file=out,
                flush=True,
            )

    for checked in run_challenges(catalog, repeat, running):
        challenge = checked.challenge
        where = f"{_shown(checked.lesson.path)}:{challenge.line}"
        if checked.status == "skipped":
            print(f"{clear}{where}: {challenge.id}: skipped: {checked.line}", file=out, flush=True)
            continue
        if checked.status == "cannot-run":
            print(
                f"{clear}{where}: {challenge.id}: cannot run: {checked.line}", file=out, flush=True
            )
            failed += 1
            continue
        if checked.failed_runs:
            failed += 1
        for s in checked.failed_runs:
            print(
                f"{clear}{where}: {challenge.id}: "
                f"{s.get('variant') or s['strategy']} run failed: {s.get('error')}",
                file=out,
            )
        differ += checked.status == "differs"
        agree += checked.status == "agrees"
        tied += checked.status == "tied"
        print(f"{clear}{where}: {checked.line}", file=out)
        for reason in checked.reasons:
            print(f"    why: {reason}", file=out)
        out.flush()
    print(
        f"{count(agree, 'challenge')} reproduce the textbook, {tied} too close to call, "
        f"{differ} differ on this machine, {failed} failed to run",
        file=out,
    )
    return failed


# -- tutor lessons -------------------------------------------------------------


def _lesson_row(lesson: Lesson) -> dict[str, Any]:
    return {
        "id": lesson.id,
        "title": lesson.title,
        "order": lesson.order,
        "summary": lesson.summary,
        "topics": list(lesson.topics),
        "minutes": lesson.minutes,
        "language": lesson.language,
        "path": str(lesson.path),
        "challenges": len(lesson.challenges),
        "quiz_questions": len(lesson.quiz),
    }


def lessons_command(args: argparse.Namespace) -> int:
    """List the lessons that load (broken ones are counted on stderr: see `tutor lint`)."""
    extra, builtin = lesson_dirs(args)
    catalog = load_catalog(extra, builtin=builtin)
    rows = [_lesson_row(lesson) for lesson in catalog.lessons]
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from rich import box
        from rich.console import Console
        from rich.table import Table

        # No vertical borders: at 80 columns every character goes to the content.
        table = Table(title="Lessons", title_justify="left", box=box.SIMPLE_HEAD)
        for name, kwargs in (
            ("#", {"justify": "right", "no_wrap": True}),
            ("id", {"no_wrap": True}),
            ("title", {"min_width": 14}),
            ("challenges", {"justify": "right", "no_wrap": True}),
            ("quiz", {"justify": "right", "no_wrap": True}),
        ):
            table.add_column(name, **kwargs)
        # The folders once below the table, not a path per row: a path column
        # folds mid-word at 80 columns (`--json` has every file's path).
        folders = sorted({_shown(lesson.path.parent) for lesson in catalog.lessons})
        for row in rows:
            table.add_row(
                str(row["order"]),
                row["id"],
                row["title"],
                str(row["challenges"]),
                str(row["quiz_questions"]),
            )
        console = Console()
        console.print(table)
        for folder in folders:
            console.print(f"files in {folder}", highlight=False, markup=False, soft_wrap=True)
        console.print(
            f"{len(rows)} lessons, {sum(r['challenges'] for r in rows)} challenges, "
            f"{sum(r['quiz_questions'] for r in rows)} quiz questions",
            highlight=False,
        )
    if catalog.errors:
        broken = len({e.path for e in catalog.errors})
        print(
            f"tutor: {count(broken, 'lesson file')} with errors not listed; run '{catalog.lint_command()}' to see them",
            file=sys.stderr,
        )
    return 0
