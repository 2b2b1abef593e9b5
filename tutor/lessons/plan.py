"""How a challenge becomes a comparison: the one rule the game and `tutor lint --run` share."""

from __future__ import annotations

from typing import Any

from tutor.lab.compare import GAME_BUDGET_S, ComparisonPlan
from tutor.lab.events import Results
from tutor.lab.registry import get_scenario
from tutor.lessons.expression import ExpressionError, Situation
from tutor.lessons.model import Challenge

REQUEST_KEYS = ("tasks", "workers", "start_method")
"""Challenge params that size the run itself; the rest are scenario params (or a preset)."""


def run_plan(
    challenge: Challenge,
    chosen: str | None = None,
    *,
    quick: bool = False,
    max_rounds: int = 3,
    budget_s: float | None = GAME_BUDGET_S,
    work: dict[str, int] | None = None,
    pythons: dict[str, str] | None = None,
) -> ComparisonPlan:
    """The runs a challenge needs, the learner's pick (or the first choice) first.

    A speedup (predicted by the learner, or expected by the lesson) is "times
    faster than one at a time", so the sequential baseline is measured too
    even when it is not one of the choices; it never wins (only the choices
    are contenders). ``work`` is what an earlier play of this challenge
    calibrated, so a retry measures the same work. ``pythons`` maps the
    interpreter tags the choices name (:func:`interpreter_tags`; from
    :func:`tutor.lab.interpreters.lesson_pythons`) to paths.
    """
    choices = list(challenge.strategies)  # a choice may name an interpreter: threads@ft
    first = chosen if chosen in choices else choices[0]
    order = list(dict.fromkeys([first, *choices]))
    wants_baseline = challenge.predict == "speedup" or bool(
        challenge.expect and challenge.expect.speedup
    )
    if (
        wants_baseline
        and "sequential" not in order
        and "sequential" in get_scenario(challenge.scenario).strategies
    ):
        order.append("sequential")
    params: dict[str, Any] = dict(challenge.params)
    sizes = {key: params.pop(key) for key in REQUEST_KEYS if key in params}
    return ComparisonPlan(
        challenge.scenario,
        order,
        quick=quick,
        tasks=_int_or_none(sizes.get("tasks")),
        workers=_int_or_none(sizes.get("workers")),
        start_method=str(sizes["start_method"]) if "start_method" in sizes else None,
        params=params,  # scenario parameters and `preset`
        max_rounds=max_rounds,
        budget_s=budget_s,
        work=dict(work) if work else None,
        contenders=choices,
        measure=challenge.measure,
        pythons=dict(pythons or {}),
    )


def interpreter_tags(challenge: Challenge) -> set[str]:
    """The interpreters a challenge's choices name (``threads@ft`` -> ``ft``); empty for most."""
    from tutor.lab.compare import split_variant

    return {tag for s in challenge.strategies if (tag := split_variant(s)[1]) is not None}


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def expected_speedups(challenge: Challenge, results: Results) -> dict[str, float]:
    """The textbook speedups for the runs that were measured, on the machine that measured them.

    Each formula is evaluated with that strategy's own run: the usable cores it
    saw and its tasks and workers (a quick run has fewer tasks). A strategy that
    did not finish, or a formula that cannot be evaluated here, is left out.
    """
    out: dict[str, float] = {}
    if challenge.expect is None:
        return out
    for strategy in challenge.expect.speedup:
        result = results.get(strategy) or {}
        try:
            situation = Situation(
                int(result["cores"]), int(result["tasks"]), int(result["workers"])
            )
            value = challenge.expect.speedup_at(strategy, situation)
        except (KeyError, TypeError, ValueError, ExpressionError):
            continue  # (not measured, or not this machine's figures: nothing to compare)
        if value is not None:
            out[strategy] = round(value, 2)
    return out
