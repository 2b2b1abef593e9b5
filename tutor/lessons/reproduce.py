"""Does this machine reproduce what each challenge expects? What `tutor lint --run` does.

Each challenge runs at quick sizes through the plan the game uses
(:func:`tutor.lessons.plan.run_plan`) and is judged by the lab's own verdict
rules, so `lint --run` and the game never disagree. Printing is the command
line's (:mod:`tutor.cli.lessons`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tutor.lab.compare import Comparison, variant_of
from tutor.lab.events import Summary
from tutor.lab.interpreters import lesson_pythons
from tutor.lab.registry import SCENARIOS
from tutor.lab.verdict import judge
from tutor.lessons.model import Catalog, Challenge, Lesson
from tutor.lessons.plan import expected_speedups, interpreter_tags, run_plan


@dataclass
class ChallengeCheck:
    """What `lint --run` found for one challenge."""

    lesson: Lesson
    challenge: Challenge
    status: str
    """:func:`check_challenge`'s status, or "skipped" (this machine lacks a Python
    the challenge compares: no fault of the lesson) or "cannot-run" (the lab refused the plan)."""
    line: str
    """What was measured against the textbook; for "skipped" and "cannot-run", why."""
    reasons: list[str] = field(default_factory=list)
    failed_runs: list[Summary] = field(default_factory=list)


def run_challenges(
    catalog: Catalog, repeat: int, on_start: Callable[[Challenge, list[str]], None]
) -> Iterator[ChallengeCheck]:
    """Run every challenge quickly, one after the other, and judge each as it ends.

    ``on_start(challenge, strategies)`` comes just before a comparison starts:
    one can take a minute (3 s downloads, 3 rounds).
    """
    for lesson, challenge in catalog.challenges:
        tags = interpreter_tags(challenge)
        try:
            pythons = lesson_pythons(tags) if tags else {}
        except ValueError as exc:
            yield ChallengeCheck(lesson, challenge, "skipped", str(exc))
            continue
        plan = run_plan(challenge, quick=True, max_rounds=repeat, budget_s=None, pythons=pythons)
        on_start(challenge, plan.strategies)
        try:
            comparison = Comparison(plan)
        except ValueError as exc:
            yield ChallengeCheck(lesson, challenge, "cannot-run", str(exc))
            continue
        try:
            summaries = comparison.run()
        except KeyboardInterrupt:
            comparison.cancel()
            raise
        status, line, reasons = check_challenge(challenge, summaries)
        yield ChallengeCheck(
            lesson, challenge, status, line, reasons, [s for s in summaries if not s.get("ok")]
        )


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


def check_challenge(challenge: Challenge, summaries: list[Summary]) -> tuple[str, str, list[str]]:
    """(status, line, reasons): what this machine measured against the textbook, and why.

    status is "agrees", "tied" (the expected winner is within the noise of the best),
    "differs", "no-expectation" or "no-result".

    The winner is decided only among the challenge's choices (a sequential
    baseline run for speedups cannot win), by the lab's own verdict rules so
    `lint --run` and the game never disagree.
    """
    by_strategy = {variant_of(s): s for s in summaries}
    results = {s: by_strategy[s] for s in challenge.strategies if s in by_strategy}
    expected = challenge.expect.winner if challenge.expect else None
    verdict = judge(
        results,
        chosen=expected or challenge.strategies[0],
        measure=challenge.measure,
        expected_winner=expected,
    )
    values = {
        s: float(value)
        for s, r in results.items()
        if r.get("ok") and (value := r.get(challenge.measure))
    }
    timings = ", ".join(
        [f"{s} {_fmt(challenge.measure, v)}" for s, v in values.items()]
        # A deadlocked choice has no figure: it never finished.
        + [f"{s} deadlocked" for s, r in results.items() if r.get("ok") and r.get("deadlock")]
    )
    line = f"{challenge.id} ({challenge.scenario}): measured winner {verdict.winner} [{timings}]"
    speedups = {variant_of(s): s["speedup"] for s in summaries if s.get("speedup")}
    textbook = expected_speedups(challenge, by_strategy)
    if textbook and speedups:
        shown = [
            f"{s} {speedups[s]:.1f}x (textbook {x:.1f}x)"
            for s, x in textbook.items()
            if s in speedups
        ]
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
