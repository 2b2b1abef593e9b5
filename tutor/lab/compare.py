"""Fair comparisons: the same work for every strategy, interleaved rounds, honest figures.

The one way the game, ``tutor run --compare`` and ``tutor lint --run`` compare
strategies::

    comparison = Comparison(ComparisonPlan("crunch", ["threads", "processes", "sequential"]))
    summaries = comparison.run(on_event=..., on_run=...)   # one Summary per strategy

Fair: the first run sizes the work (calibrated sizes such as
``steps_per_task``) and every later run, the baseline included, is given
exactly that work; a retry can pass it back in through ``ComparisonPlan.work``.

Sound: each round runs every strategy once, the order rotating, so a slow
minute hurts all alike; figures are estimates over the rounds with intervals
(:mod:`tutor.lab.stats`); rounds stop once the leader is separated from the
runner-up, or at the budget, never "until the expected answer appears".

Across interpreters: ``ComparisonPlan.pythons`` names interpreters by a tag
(``{"3.13.5t": "/path/python3.13t"}``, or a lesson's ``ft`` and ``gil``); a
strategy written ``threads@3.13.5t`` runs under that one. Such a *variant* is
the key of everything a comparison returns (``Summary["variant"]``; a plain
strategy name is its own variant), rounds interleave every (strategy,
interpreter) pair, the work is the same for all, and each speedup is against
one at a time under the same interpreter.

Possible: a CPU-bound speedup is checked against what the machine can give
(:func:`speedup_limit`) and marked ``implausible`` above it.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tutor.lab import stats
from tutor.lab.client import LabRun, RunRequest
from tutor.lab.events import FIGURES, Event, Result, Summary
from tutor.lab.registry import SCENARIOS, get_scenario

GAME_BUDGET_S = 12.0
"""A quick challenge's verdict should come within about this many seconds."""


@dataclass
class ComparisonPlan:
    """What to compare: strategies in first-round order, sizes, and how long to try."""

    scenario: str
    strategies: list[str]
    quick: bool = False
    tasks: int | None = None
    workers: int | None = None
    start_method: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    probe: bool = True
    max_rounds: int = 3
    """The most rounds (``--repeat K``)."""
    min_rounds: int = 2
    """Rounds before an early stop may be considered (never more than ``max_rounds``)."""
    budget_s: float | None = None
    """No new round starts when it would likely end past this many seconds."""
    work: dict[str, int] | None = None
    """Sizes calibrated by an earlier comparison of the same challenge (a retry)."""
    contenders: list[str] | None = None
    """The strategies that may win (a challenge's choices); None: all of them."""
    measure: str | None = None
    """The figure that decides (a challenge's ``measure``); None: the scenario's headline."""
    pythons: dict[str, str] = field(default_factory=dict)
    """Interpreter tag -> path, for variants ``strategy@tag`` in ``strategies``."""

    def request(self, variant: str, probe: bool, work: dict[str, int] | None) -> RunRequest:
        strategy, tag = split_variant(variant)
        if tag is not None and tag not in self.pythons:
            raise ValueError(
                f"no interpreter named {tag!r} in this comparison; named: {', '.join(self.pythons) or 'none'}"
            )
        return RunRequest(
            self.scenario,
            strategy,
            self.tasks,
            self.workers,
            self.quick,
            self.start_method,
            dict(self.params),
            probe,
            work=dict(work) if work else None,
            python=self.pythons.get(tag) if tag is not None else None,
        )


def split_variant(variant: str) -> tuple[str, str | None]:
    """ "threads@3.13.5t" -> ("threads", "3.13.5t"); "threads" -> ("threads", None)."""
    strategy, sep, tag = variant.partition("@")
    return strategy, (tag if sep else None)


def variant_of(result: Mapping[str, object]) -> str:
    """The key of a run or summary in its comparison (its strategy, unless it names an interpreter)."""
    return str(result.get("variant") or result["strategy"])


class Comparison:
    """Runs a :class:`ComparisonPlan`. :meth:`cancel` is safe from any thread."""

    def __init__(self, plan: ComparisonPlan) -> None:
        self.plan = plan
        self.info = get_scenario(plan.scenario)
        if not plan.strategies:
            raise ValueError("nothing to compare: no strategies")
        for strategy in plan.strategies:
            plan.request(
                strategy, plan.probe, plan.work
            ).resolve()  # bad input fails before anything runs
        self.work: dict[str, int] = dict(plan.work or {})
        self.runs: dict[str, list[Result | None]] = {s: [] for s in plan.strategies}
        self._errors: dict[str, Result] = {}
        self.rounds = 0
        self.stopped: str | None = None
        """Why it stopped: "separated", "rounds", "budget", "cancelled" or "failed"."""
        self._lock = threading.Lock()
        self._cancelled = False
        self._current: LabRun | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            run = self._current
        if run is not None:
            run.cancel()

    def run(
        self,
        on_event: Callable[[Event], None] | None = None,
        on_run: Callable[[LabRun, int], None] | None = None,
    ) -> list[Summary]:
        """Run round after round; ``on_run(run, round_index)`` before each run starts."""
        plan = self.plan
        order = list(plan.strategies)
        max_rounds = max(1, plan.max_rounds)
        min_rounds = max(1, min(plan.min_rounds, max_rounds))
        started = time.monotonic()
        for k in range(max_rounds):
            # Rotate so drift in the machine's speed hits every strategy alike;
            # round 1 keeps the given order (the learner's pick runs first).
            rotated = order[k % len(order) :] + order[: k % len(order)]
            for position, strategy in enumerate(rotated):
                # One capacity probe per round is enough to know the machine's mood.
                request = plan.request(strategy, plan.probe and position == 0, self.work)
                run = LabRun(request)
                run.variant = strategy
                with self._lock:
                    if self._cancelled:
                        run.close()
                        self.stopped = "cancelled"
                        return self.summaries()
                    self._current = run
                if on_run:
                    on_run(run, k)
                try:
                    result = run.run(on_event)
                finally:
                    run.close()
                    with self._lock:
                        self._current = None
                if run.cancelled or self._cancelled:
                    self.stopped = "cancelled"
                    self._cancelled = True
                    return self.summaries()
                self.runs[strategy].append(result if result.get("ok") else None)
                if result.get("ok"):
                    self._learn_work(result)
                else:
                    self._errors[strategy] = result
            self.rounds = k + 1
            elapsed = time.monotonic() - started
            if all(not runs or runs[-1] is None for runs in self.runs.values()):
                self.stopped = "failed"
                break
            if self.rounds >= min_rounds and self._separated():
                self.stopped = "separated"
                break
            if (
                plan.budget_s is not None
                and elapsed * (self.rounds + 1) / self.rounds > plan.budget_s
            ):
                self.stopped = "budget"
                break
        else:
            self.stopped = "rounds"
        return self.summaries()

    def _learn_work(self, result: Result) -> None:
        done = result.get("work") or {}
        for key in self.info.calibrated:
            if key not in self.work and isinstance(done.get(key), int):
                self.work[key] = done[key]

    def _separated(self) -> bool:
        from tutor.lab.verdict import judge

        summaries = {variant_of(s): s for s in self.summaries()}
        contenders = {
            s: summaries[s]
            for s in (self.plan.contenders or self.plan.strategies)
            if s in summaries
        }
        if len(contenders) < 2:
            return True
        return judge(
            contenders, next(iter(contenders)), measure=self.plan.measure or self.info.headline
        ).settled

    def summaries(self) -> list[Summary]:
        return summarize(self.runs, self._errors, rounds=self.rounds)


def summarize(
    runs: dict[str, list[Result | None]],
    errors: dict[str, Result] | None = None,
    rounds: int | None = None,
) -> list[Summary]:
    """One :class:`~tutor.lab.events.Summary` per strategy from its rounds' results.

    ``runs[s][k]`` is variant s's result in round k (None when it failed);
    ``errors[s]`` the last failed result, if any. Each variant's speedup is
    against ``sequential`` under the same interpreter (``sequential@tag``).
    """
    errors = errors or {}
    summaries: list[Summary] = []
    capacities = [
        capacity
        for rs in runs.values()
        for r in rs
        if r is not None and (capacity := r.get("parallel_capacity")) is not None and capacity > 0
    ]
    capacity = round(statistics.median(capacities), 2) if capacities else None
    for strategy, results in runs.items():
        good = [r for r in results if r is not None]
        last = good[-1] if good else errors.get(strategy)
        if last is None:
            continue
        info = get_scenario(last["scenario"])
        how = stats.estimator_for(info.kind)
        summary: dict[str, Any] = dict(last)
        summary["variant"] = strategy
        times = [r["wall_s"] if r is not None else None for r in results]
        mems = [r["peak_mem_bytes"] if r is not None else None for r in results]
        ok_times = [t for t in times if t]
        ok_mems = [m for m in mems if m]
        summary["wall_s_runs"] = times
        summary["peak_mem_bytes_runs"] = mems
        summary["wall_s"] = round(stats.estimate(ok_times, how), 4) if ok_times else None
        summary["peak_mem_bytes"] = int(statistics.median(ok_mems)) if ok_mems else None
        for figure in FIGURES:
            # Lag and response times vary both ways (the scheduler, the server): the median.
            values: list[float | None] = [_figure(r, figure) for r in results]
            summary[f"{figure}_runs"] = values
            known = [v for v in values if v is not None]
            summary[figure] = round(statistics.median(known), 6) if known else None
        # A deadlock in any round is what the strategy does: it is never hidden by a lucky round.
        summary["deadlock"] = next(
            (r["deadlock"] for r in reversed(good) if r.get("deadlock")), None
        )
        if summary["deadlock"]:
            summary["wall_s"] = None
        spread = stats.spread(ok_times)
        summary["spread"] = round(spread, 3) if spread is not None else None
        summary["estimator"] = how
        summary["parallel_capacity"] = capacity
        loads = [load for r in good if (load := r.get("foreign_load_percent")) is not None]
        summary["foreign_load_percent"] = round(max(loads), 1) if loads else None
        summary["noisy"] = any(r.get("noisy") for r in good)
        summary["ok"] = bool(good) and len(good) == len(results)
        if not summary["ok"] and strategy in errors:
            summary["error"] = errors[strategy].get("error")
        summary["runs"] = len(results)
        summary["rounds"] = rounds if rounds is not None else len(results)
        summaries.append(summary)  # type: ignore[arg-type]
    bases = {
        split_variant(s["variant"])[1]: s
        for s in summaries
        if split_variant(s["variant"])[0] == "sequential" and s["wall_s"]
    }
    for s in summaries:
        s["speedup"] = s["speedup_low"] = s["speedup_high"] = None
        s["speedup_limit"] = speedup_limit(s)
        s["implausible"] = False
        base = bases.get(split_variant(s["variant"])[1])
        if base is None or not s["wall_s"]:
            continue
        if s is base:
            s["speedup"] = s["speedup_low"] = s["speedup_high"] = 1.0
            continue
        measured = gain(base["wall_s_runs"], s, s["estimator"])
        if measured is None:
            continue
        low, point, high, s["implausible"] = measured
        s["speedup"], s["speedup_low"], s["speedup_high"] = (
            round(point, 3),
            round(low, 3),
            round(high, 3),
        )
    return summaries


def _figure(result: Result | None, key: str) -> float | None:
    value = result.get(key) if result is not None else None
    return float(value) if isinstance(value, (int, float)) else None


def gain(
    base_runs: list[float | None], result: Event, how: str
) -> tuple[float, float, float, bool] | None:
    """A strategy's speedup over one at a time, from the rounds both ran, with its interval.

    Returns (low, point, high, implausible): implausible when even the low end
    is beyond what this machine can give the strategy (:func:`speedup_limit`).
    The one rule for comparison summaries and for the verdict on single runs.
    """
    runs = result.get("wall_s_runs") or [result.get("wall_s")]
    interval = stats.ratio_interval(stats.paired(base_runs, runs), how)
    if interval is None:
        return None
    low, point, high = interval
    limit = speedup_limit(result)
    return low, point, high, limit is not None and low > limit


def speedup_limit(result: Event) -> float | None:
    """The most a strategy can gain over one-at-a-time on CPU-bound work here.

    min(tasks, workers, usable cores) for work that can run in parallel; 1x
    for pure-Python threads under a GIL and for coroutines that never await
    (they take turns on one core). None where no simple bound holds (waiting
    overlaps without limit, mixed work depends on its share of waiting).
    """
    info = SCENARIOS.get(str(result.get("scenario")))
    strategy = result["strategy"]
    if info is None or info.kind not in ("cpu", "cpu-c"):
        return None
    if strategy == "sequential":
        return 1.0
    parallel = float(
        min(result.get("tasks") or 1, result.get("workers") or 1, result.get("cores") or 1)
    )
    if strategy == "asyncio":
        return 1.0
    # Free-threaded with the GIL off, threads run Python code in parallel like processes;
    # each subinterpreter of the interpreters strategy has a GIL of its own.
    if strategy == "threads" and info.kind == "cpu" and result.get("gil_enabled") is not False:
        return 1.0
    return parallel
