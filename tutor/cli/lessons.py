"""`tutor lint` and `tutor lessons`: check and list lessons without starting the UI.

Neither command imports Textual. `tutor lint --run` starts real workloads, one
child process at a time, through :mod:`tutor.lab.compare`.
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

RUN_REPEAT = 3
"""The most rounds per challenge for `lint --run` (it stops earlier once the winner is clear)."""


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
    repeat = _repeat(args.repeat)  # bad input fails before any work
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
        failed = run_challenges(catalog, repeat=repeat)
        if failed:
            status = 1
    return status


# -- tutor lint --run ----------------------------------------------------------


def _fmt(measure: str, value: float) -> str:
    if measure == "peak_mem_bytes":
        return f"{value / 1048576:.1f} MiB"
    if measure in ("lag_s", "response_s"):
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def _quick_sizes(challenge: Challenge, expected: str, winner: str | None) -> list[str]:
    """Say which sizes `--run` shrank, when that is what can tip the balance.

    Quick sizes keep `lint --run` short, but the fixed cost of starting
    processes then weighs more than in the full-size run a lesson describes.
    """
    from tutor.lab.registry import SCENARIOS

    if not {"processes", "hybrid"} & {expected, winner}:
        return []
    info = SCENARIOS[challenge.scenario]
    preset = info.presets.get(str(challenge.params.get("preset")), {})
    fixed = set(challenge.params) | set(preset)
    shrunk = [
        f"{p.name} {p.quick:g} instead of {p.default:g}"
        for p in info.params
        if p.name not in fixed and p.quick < p.default
    ]
    if "tasks" not in fixed and info.quick_tasks < info.tasks:
        shrunk.insert(0, f"{info.quick_tasks} tasks instead of {info.tasks}")
    if not shrunk:
        return []
    return [
        f"quick sizes ({', '.join(shrunk)}): starting processes costs the same as at full size "
        "but the work they share is smaller, so their advantage shrinks"
    ]


def check_challenge(challenge: Challenge, summaries: list[dict]) -> tuple[str, str, list[str]]:
    """(status, line, reasons): what this machine measured against the textbook, and why.

    status is "agrees", "tied" (the expected winner is within the noise of the best),
    "differs", "no-expectation" or "no-result".

    The winner is decided only among the challenge's choices (a sequential
    baseline run for speedups cannot win), by the lab's own verdict rules so
    `lint --run` and the game never disagree.
    """
    from tutor.lab.verdict import judge
    from tutor.lessons.plan import expected_speedups

    by_strategy = {s["strategy"]: s for s in summaries}
    results = {s: by_strategy[s] for s in challenge.strategies if s in by_strategy}
    expected = challenge.expect.winner if challenge.expect else None
    verdict = judge(
        results,
        chosen=expected or challenge.strategies[0],
        measure=challenge.measure,
        expected_winner=expected,
    )
    values = {
        s: float(r[challenge.measure])
        for s, r in results.items()
        if r.get("ok") and r.get(challenge.measure)
    }
    timings = ", ".join(
        [f"{s} {_fmt(challenge.measure, v)}" for s, v in values.items()]
        # A deadlocked choice has no figure: it never finished.
        + [f"{s} deadlocked" for s, r in results.items() if r.get("ok") and r.get("deadlock")]
    )
    line = f"{challenge.id} ({challenge.scenario}): measured winner {verdict.winner} [{timings}]"
    speedups = {s["strategy"]: s["speedup"] for s in summaries if s.get("speedup")}
    textbook = expected_speedups(challenge, by_strategy)
    if textbook and speedups:
        shown = [f"{s} {speedups[s]:.1f}x (textbook {x:.1f}x)" for s, x in textbook.items() if s in speedups]
        if shown:
            line += "; speedup " + ", ".join(shown)
    if verdict.winner is None:
        return "no-result", line + "; nothing finished, nothing to compare", verdict.reasons
    if expected is None:
        return "no-expectation", line + "; no textbook expectation to compare", []
    if verdict.noise:
        # Which wins, the verdict or the noise, said in the same words as the game.
        verdict.reasons.insert(0, verdict.noise)
    if not verdict.disagrees_with_textbook:
        if verdict.winner == expected:
            close = {
                s: values[s] / values[expected] - 1
                for s in sorted(verdict.tied - {expected})
                if s in values
            }
            if close:
                # The lab ties results inside the measured spread, which on a
                # busy machine can be wide: say how far behind, not "narrowly".
                behind = ", ".join(f"{s} {gap:.0%} behind" for s, gap in close.items())
                return (
                    "agrees",
                    line + f"; reproduces the textbook ({expected}), but within the noise of "
                    f"{', '.join(close)}",
                    [f"{behind}, inside this machine's run-to-run spread", *verdict.reasons],
                )
            return "agrees", line + f"; reproduces the textbook ({expected})", []
        others = ", ".join(sorted(verdict.tied - {expected}))
        gap = values[expected] / values[verdict.winner] - 1
        reasons = [
            f"{expected} measured {gap:.0%} behind {verdict.winner}, inside this machine's run-to-run "
            "spread: the textbook is not contradicted, but not confirmed either",
            *_quick_sizes(challenge, expected, verdict.winner),
            *verdict.reasons,
        ]
        return "tied", line + f"; too close to call ({expected} tied with {others})", reasons
    reasons = []
    if expected in values and verdict.winner in values:
        gap = values[expected] / values[verdict.winner] - 1
        reasons.append(f"{expected} measured {gap:.0%} worse than {verdict.winner} here")
    elif expected not in values:
        reasons.append(f"the {expected} runs did not finish")
    reasons.extend(_quick_sizes(challenge, expected, verdict.winner))
    reasons.extend(verdict.reasons)
    if verdict.noisy and not verdict.settled:
        reasons.append(
            "the runs were noisy: run `tutor lint --run` again on a quieter machine to be sure"
        )
    return "differs", line + f"; textbook says {expected}: this machine differs", reasons


def _repeat(raw: str | None) -> int:
    return RUN_REPEAT if raw is None else whole_number(raw, "--repeat", 20)


def run_challenges(catalog: Catalog, out: Any = None, repeat: int = RUN_REPEAT) -> int:
    """Run every challenge quickly and say whether this machine reproduces `expect`.

    Returns how many challenges could not be measured (a run failed).
    """
    from tutor.lab.compare import Comparison
    from tutor.lessons.plan import run_plan

    out = out or sys.stdout
    pairs: list[tuple[Lesson, Challenge]] = catalog.challenges
    if not pairs:
        print("no challenges to run", file=out)
        return 0
    print(
        f"running {count(len(pairs), 'challenge')}, quick sizes, at most {count(repeat, 'round')} of every strategy...",
        file=out,
    )
    failed = agree = differ = tied = 0
    tty = hasattr(out, "isatty") and out.isatty()
    for lesson, challenge in pairs:
        where = f"{_shown(lesson.path)}:{challenge.line}"
        plan = run_plan(challenge, quick=True, max_rounds=repeat, budget_s=None)
        if tty:
            # A challenge can take a minute (3 s downloads, 3 rounds): show which one runs.
            print(
                f"{CLEAR_LINE}running {challenge.id}: {', '.join(plan.strategies)}...",
                end="\r",
                file=out,
                flush=True,
            )
        try:
            comparison = Comparison(plan)
        except ValueError as exc:
            print(
                f"{CLEAR_LINE if tty else ''}{where}: {challenge.id}: cannot run: {exc}",
                file=out,
                flush=True,
            )
            failed += 1
            continue
        try:
            summaries = comparison.run()
        except KeyboardInterrupt:
            comparison.cancel()
            raise
        broken = [s for s in summaries if not s.get("ok")]
        if broken:
            failed += 1
            for s in broken:
                print(
                    f"{CLEAR_LINE if tty else ''}{where}: {challenge.id}: "
                    f"{s['strategy']} run failed: {s.get('error')}",
                    file=out,
                )
        status, line, reasons = check_challenge(challenge, summaries)
        differ += status == "differs"
        agree += status == "agrees"
        tied += status == "tied"
        print(f"{CLEAR_LINE if tty else ''}{where}: {line}", file=out)
        for reason in reasons:
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
