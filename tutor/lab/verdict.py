"""Deciding who won, from what was measured, and saying why in this machine's terms.

The textbook's expectation never decides: the measurement does. A winner is
named only when its lead is larger than the noise (intervals from
:mod:`tutor.lab.stats`); otherwise the leaders tie, and a learner who picked
any of them is right. When the machine and the textbook disagree, the reasons
say what about this machine (cores, the CPU actually available, load from
other programs, the GIL) explains it; a figure the machine cannot produce is
called so, never presented as what a strategy achieved.

``results`` are keyed by strategy: comparison summaries
(:class:`tutor.lab.events.Summary`, with every round's values) or single
``result`` events (one round each).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from tutor.lab import stats
from tutor.lab.compare import gain, speedup_limit
from tutor.lab.events import Event, Results
from tutor.lab.registry import SCENARIOS

NOISY_SPREAD = 0.25
"""Runs of one strategy that differ by more than this are noisy, whatever the load."""


CPU_KINDS = ("cpu", "cpu-c", "mixed")
"""Work whose timings other programs' CPU use disturbs (waiting work does not care)."""


@dataclass
class Verdict:
    winner: str | None
    """The strategy measured best (fastest, or least memory)."""
    correct: bool
    tied: set[str] = field(default_factory=set)
    """The winner and every strategy within the noise of it."""
    settled: bool = False
    """True when the winner is separated from every other strategy."""
    speedups: dict[str, float | None] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    """strategy -> (low, high) of its speedup against one at a time."""
    implausible: set[str] = field(default_factory=set)
    """Strategies whose speedup is beyond what this machine can give."""
    limits: dict[str, float] = field(default_factory=dict)
    """strategy -> the most it can gain over one at a time here (where a bound holds)."""
    prediction_error: float | None = None
    prediction_within: bool | None = None
    """True when the learner's predicted speedup lies inside the measured interval."""
    reasons: list[str] = field(default_factory=list)
    noise: str | None = None
    """One sentence on the noise, saying plainly whether the verdict holds despite it."""
    noisy: bool = False
    disagrees_with_textbook: bool = False
    measure: str = "wall_s"


def _value(result: Event, measure: str) -> float | None:
    if not result.get("ok"):
        return None
    value = result.get(measure)
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def _runs(result: Event, measure: str) -> list[float | None]:
    """A result's values by round (a single result is one round)."""
    runs = result.get(f"{measure}_runs")
    if isinstance(runs, list) and runs:
        return [float(v) if isinstance(v, (int, float)) and v > 0 else None for v in runs]
    return [_value(result, measure)]


def _kind(results: Results) -> str:
    scenario = next((r.get("scenario") for r in results.values() if r.get("scenario")), None)
    info = SCENARIOS.get(str(scenario))
    return info.kind if info else "cpu"


def _estimator(results: Results, measure: str) -> str:
    if measure != "wall_s":
        return stats.MEDIAN
    named = {str(name) for r in results.values() if (name := r.get("estimator"))}
    return named.pop() if len(named) == 1 else stats.estimator_for(_kind(results))


def judge(
    results: Results,
    chosen: str,
    measure: str = "wall_s",
    expected_winner: str | None = None,
    predicted_speedup: float | None = None,
) -> Verdict:
    """Judge a learner's choice against results keyed by strategy (lower ``measure`` wins)."""
    values = {s: v for s, r in results.items() if (v := _value(r, measure)) is not None}
    if not values:
        return Verdict(
            None, False, reasons=["No run finished, so nothing could be measured."], measure=measure
        )
    how = _estimator(results, measure)
    best = min(values, key=values.__getitem__)
    tied = {best}
    for strategy in values:
        if strategy == best:
            continue
        gap = stats.ratio_interval(
            stats.paired(_runs(results[strategy], measure), _runs(results[best], measure)), how
        )
        if not stats.separated(gap):
            tied.add(strategy)
    speedups, intervals, implausible = _speedups(results, how)
    verdict = Verdict(
        winner=best,
        correct=chosen in tied,
        tied=tied,
        settled=len(tied) == 1,
        speedups=speedups,
        intervals=intervals,
        implausible=implausible,
        disagrees_with_textbook=bool(expected_winner and expected_winner not in tied),
        measure=measure,
    )
    measured = speedups.get(chosen)
    if predicted_speedup and measured:
        verdict.prediction_error = round(abs(predicted_speedup - measured) / measured, 3)
        low, high = intervals.get(chosen, (measured, measured))
        verdict.prediction_within = low <= predicted_speedup <= high
    verdict.limits = _limits(results)
    verdict.noisy, verdict.noise = _noise(results, verdict)
    verdict.reasons = machine_reasons(results, next(iter(results.values())), implausible, speedups)
    return verdict


def _speedups(
    results: Results, how: str
) -> tuple[dict[str, float | None], dict[str, tuple[float, float]], set[str]]:
    """Speedups against the sequential baseline: the comparison's own, or from single runs."""
    speedups: dict[str, float | None] = {}
    intervals: dict[str, tuple[float, float]] = {}
    implausible: set[str] = set()
    base = results.get("sequential")
    for strategy, result in results.items():
        if result.get("speedup") is not None:
            speedups[strategy] = round(float(result["speedup"]), 2)
            low, high = result.get("speedup_low"), result.get("speedup_high")
            if low is not None and high is not None:
                intervals[strategy] = (float(low), float(high))
            if result.get("implausible"):
                implausible.add(strategy)
            continue
        measured = (
            gain(_runs(base, "wall_s"), result, how) if base and _value(result, "wall_s") else None
        )
        if measured is None:
            speedups[strategy] = None
            continue
        low, point, high, beyond = measured
        speedups[strategy] = round(point, 2)
        intervals[strategy] = (low, high)
        if beyond:
            implausible.add(strategy)
    return speedups, intervals, implausible


def _limits(results: Results) -> dict[str, float]:
    return {s: limit for s, r in results.items() if (limit := speedup_limit(r)) is not None}


def _noise(results: Results, verdict: Verdict) -> tuple[bool, str | None]:
    """Is the noise big enough to matter, and which wins, the verdict or the noise?

    CPU-bound work is judged by other programs' CPU use and by its own spread;
    waiting-dominated work only by its own spread (a waiting download does not
    care who else computes).
    """
    kind = _kind(results)
    loads = [
        r["foreign_load_percent"]
        for r in results.values()
        if r.get("foreign_load_percent") is not None
    ]
    spreads = [r["spread"] for r in results.values() if r.get("spread")]
    widest = max(spreads, default=0.0)
    busy = kind in CPU_KINDS and any(r.get("noisy") for r in results.values())
    noisy = busy or widest > NOISY_SPREAD
    label = _label
    winner = verdict.winner or ""
    if sum(1 for r in results.values() if _value(r, verdict.measure) is not None) < 2:
        # Nothing to compare: say only what the noise did to this one figure.
        if busy and loads:
            return True, (
                f"Other programs used up to {max(loads):.0f}% of the CPU during the run: "
                "on a quieter machine it would likely take less time."
            )
        return noisy, f"Its runs differed by up to {widest:.0%}." if noisy else None
    others = sorted(verdict.tied - {winner})
    if not noisy:
        if kind not in CPU_KINDS and loads and max(loads) > 15.0 and len(verdict.tied) >= 1:
            return False, (
                f"Other programs used up to {max(loads):.0f}% of the CPU, but waiting does not need the CPU: "
                "these runs agreed with each other, so the load does not change the outcome."
            )
        if others:
            return False, (
                f"{_and([label(winner), *(label(s) for s in others)])} measured within the noise of "
                "each other: too close to call on this machine."
            )
        return False, None
    cause = (
        f"Other programs used up to {max(loads):.0f}% of the CPU during the runs"
        if busy and loads
        else f"Repeated runs differed by up to {widest:.0%}"
    )
    if verdict.settled:
        return True, f"{cause}, but {label(winner)} won by more than that noise: the verdict holds."
    return True, (
        f"{cause}, so {_and([label(winner), *(label(s) for s in others)])} are too close to call here: "
        "try again on a quieter machine to separate them."
    )


def _and(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _label(strategy: str) -> str:
    """A strategy in words; a variant names its interpreter ("threads@ft": threads without the GIL)."""
    base, at, tag = strategy.partition("@")
    label = {"sequential": "one at a time", "asyncio": "asyncio"}.get(base, base)
    if not at:
        return label
    return f"{label} " + {"gil": "with the GIL", "ft": "without the GIL"}.get(
        tag, f"under Python {tag}"
    )


def measured_capacity(results: Results) -> float | None:
    """The median parallel capacity probed before the runs (None without a probe)."""
    values = [r["parallel_capacity"] for r in results.values() if r.get("parallel_capacity")]
    return round(statistics.median(values), 2) if values else None


CAPACITY_MEANING = (
    "how much more work {cores} busy processes got done than one, "
    "probed just before the runs ({cores}x on an idle {cores}-core machine)"
)


def machine_reasons(
    results: Results,
    facts: Event,
    implausible: set[str] | None = None,
    speedups: dict[str, float | None] | None = None,
) -> list[str]:
    """Plain-language facts about this machine and run that shape the outcome."""
    reasons: list[str] = []
    cores = facts.get("cores") or 1
    capacity = measured_capacity(results)
    if cores == 1:
        reasons.append(
            "This machine lets Python use only 1 core: nothing can compute in parallel here, "
            "so processes cannot beat threads on CPU work."
        )
    elif capacity is not None and capacity < 0.75 * cores:
        reasons.append(
            f"Right before the runs, {cores} busy processes got only {capacity:.1f}x the work of one "
            f"(an idle {cores}-core machine gives about {cores}x): other programs were using the CPU, "
            f"so CPU work could gain at most about {capacity:.1f}x from running in parallel "
            "(waiting still overlaps freely)."
        )
    elif capacity is not None:
        reasons.append(
            f"Just before the runs, {cores} busy processes got {capacity:.1f}x the work of one "
            f"on the {cores} cores here (its parallel capacity)."
        )
    for strategy in sorted(implausible or ()):
        reasons.append(
            _implausible_reason(results[strategy], results, (speedups or {}).get(strategy))
        )
    pythons = {r.get("python_path"): r for r in results.values() if r.get("python_path")}
    if len(pythons) > 1:
        # Threads with a GIL against threads without: one sentence per interpreter.
        for r in pythons.values():
            build = "free-threaded" if r.get("free_threaded_build") else "standard"
            gil = (
                "off: threads can run Python code on several cores at once"
                if r.get("gil_enabled") is False
                else ("on: one thread at a time runs Python code")
            )
            reasons.append(f"Python {r.get('python')} ({build} build) ran with the GIL {gil}.")
    elif facts.get("free_threaded_build") and not facts.get("gil_enabled"):
        reasons.append(
            f"This Python ({facts.get('python')}) is a free-threaded build with the GIL off: "
            "threads can run Python code on several cores at once."
        )
    elif facts.get("gil_enabled") is not None:
        reasons.append(
            f"Python {facts.get('python')} with the GIL on: only one thread at a time runs Python code; "
            "threads overlap only while they wait or run C code that releases the GIL."
        )
    methods = {str(method) for r in results.values() if (method := r.get("start_method"))}
    if methods:
        reasons.append(
            f"Processes were started with the '{', '.join(sorted(methods))}' start method."
        )
    return reasons


def _implausible_reason(result: Event, results: Results, measured: float | None) -> str:
    """Why a figure beyond the machine's limit is not what the strategy achieved."""
    strategy = result["strategy"]
    limit = speedup_limit(result) or 1.0
    x = measured or result.get("speedup") or 0.0
    base = results.get("sequential") or {}
    load = base.get("foreign_load_percent")
    slowed = (
        f"other programs used up to {load:.0f}% of the CPU while it ran"
        if isinstance(load, (int, float)) and load >= 5
        else "the machine gave it less CPU than the later runs got"
    )
    if limit <= 1.0:
        why = (
            "pure-Python threads under a GIL take turns on one core"
            if strategy == "threads"
            else "coroutines that never await run one at a time"
        )
        return (
            f"{_label(strategy).capitalize()} measured {x:.2f}x, but {why}, so they cannot beat one at a time "
            f"on this work: the one-at-a-time runs were slowed ({slowed}). Read it as no real gain."
        )
    return (
        f"{_label(strategy).capitalize()} measured {x:.1f}x, more than this machine can give "
        f"(at most {limit:g}x: {limit:g} of its cores for this work): the one-at-a-time runs were slowed "
        f"({slowed}). Read it as about {limit:g}x at most, not as what {_label(strategy)} achieved."
    )
