"""Deciding who won, from what was measured, and saying why in this machine's terms.

The textbook's expectation never decides: the measurement does. When the two
disagree, the reasons say what about this machine (cores, the CPU actually
available, load from other programs, the GIL) explains it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TIE_MARGIN = 0.10
"""Strategies within 10% of the best (or within their measured spread) tie..."""

MAX_TIE_MARGIN = 0.30
"""...but never beyond 30%: a wide spread makes a result unreliable, not a tie."""


@dataclass
class Verdict:
    winner: str | None
    correct: bool
    tied: set[str] = field(default_factory=set)
    speedups: dict[str, float | None] = field(default_factory=dict)
    prediction_error: float | None = None
    reasons: list[str] = field(default_factory=list)
    disagrees_with_textbook: bool = False
    unreliable: bool = False
    measure: str = "wall_s"


def _value(result: dict, measure: str) -> float | None:
    if not result.get("ok"):
        return None
    value = result.get(measure)
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def judge(
    results: dict[str, dict],
    chosen: str,
    measure: str = "wall_s",
    expected_winner: str | None = None,
    predicted_speedup: float | None = None,
) -> Verdict:
    """Judge a learner's choice against results keyed by strategy (lower ``measure`` wins)."""
    values = {s: v for s, r in results.items() if (v := _value(r, measure)) is not None}
    if not values:
        return Verdict(None, False, reasons=["No run finished, so nothing could be measured."], measure=measure)
    best_strategy = min(values, key=values.__getitem__)
    best = values[best_strategy]
    spreads = [r.get("spread") or 0.0 for r in results.values()]

    def margin(strategy: str) -> float:
        # Noisy repeats widen the tie, but never so far that 2.7 s "ties" 1.2 s.
        own = results[strategy].get("spread") or 0.0
        leader = results[best_strategy].get("spread") or 0.0
        return min(MAX_TIE_MARGIN, max(TIE_MARGIN, own, leader))

    tied = {s for s, v in values.items() if v <= best * (1 + margin(s))}
    base = _value(results.get("sequential", {}), "wall_s")
    speedups = {
        s: (round(base / w, 2) if base and (w := _value(r, "wall_s")) else None) for s, r in results.items()
    }
    error = None
    measured = speedups.get(chosen)
    if predicted_speedup and measured:
        error = round(abs(predicted_speedup - measured) / measured, 3)
    any_result = next(iter(results.values()))
    noisy = any(r.get("noisy") for r in results.values())
    verdict = Verdict(
        winner=best_strategy,
        correct=chosen in tied,
        tied=tied,
        speedups=speedups,
        prediction_error=error,
        disagrees_with_textbook=bool(expected_winner and expected_winner not in tied),
        unreliable=noisy or max(spreads, default=0) > 0.25,
        measure=measure,
    )
    verdict.reasons = machine_reasons(results, any_result)
    return verdict


def measured_capacity(results: dict[str, dict]) -> float | None:
    """The median parallel capacity probed before the runs (None without a probe)."""
    import statistics

    values = [r["parallel_capacity"] for r in results.values() if r.get("parallel_capacity")]
    return round(statistics.median(values), 2) if values else None


def machine_reasons(results: dict[str, dict], facts: dict) -> list[str]:
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
            f"Right before the run, {cores} busy processes got only {capacity:.1f}x the work of one "
            f"(an idle {cores}-core machine gives about {cores}x): other programs were using the CPU, "
            f"so CPU work could gain at most about {capacity:.1f}x from running in parallel "
            "(waiting still overlaps freely)."
        )
    elif capacity is not None:
        reasons.append(f"Just before the run, {cores} busy processes got {capacity:.1f}x the work of one on the {cores} cores here.")
    loads = [r.get("foreign_load_percent") for r in results.values() if r.get("foreign_load_percent") is not None]
    if any(r.get("noisy") for r in results.values()) and loads:
        reasons.append(
            f"Other programs used up to {max(loads):.0f}% of the machine's CPU during the runs: "
            "timings are noisy, run it again to be sure."
        )
    spreads = [r.get("spread") for r in results.values() if r.get("spread")]
    if spreads and max(spreads) > 0.25:
        reasons.append(f"Repeated runs differed by up to {max(spreads):.0%}: treat close results as a tie.")
    if facts.get("free_threaded_build") and not facts.get("gil_enabled"):
        reasons.append(
            f"This Python ({facts.get('python')}) is a free-threaded build with the GIL off: "
            "threads can run Python code on several cores at once."
        )
    elif facts.get("gil_enabled") is not None:
        reasons.append(
            f"Python {facts.get('python')} with the GIL on: only one thread at a time runs Python code; "
            "threads overlap only while they wait or run C code that releases the GIL."
        )
    methods = {r.get("start_method") for r in results.values() if r.get("start_method")}
    if methods:
        reasons.append(f"Processes were started with the '{', '.join(sorted(methods))}' start method.")
    return reasons
