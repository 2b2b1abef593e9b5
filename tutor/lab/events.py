"""The lab's events: what the runner child streams and what a comparison returns.

One contract for every producer (the runner, the runner's time-out, the
client when a run dies or is cancelled before it started, a comparison's
summary) and every consumer (the game, ``tutor run``, ``tutor lint --run``,
the board). ``docs/architecture.md`` lists the same keys; a test checks that
every producer emits them.

Events are plain dicts on the wire (JSON Lines); the TypedDicts below give
them names and keys for readers and type checkers.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

Event = Mapping[str, Any]
"""Any event as its consumers read it (one of the TypedDicts below, or one a newer runner added)."""
Results = Mapping[str, Event]
"""What a verdict judges, keyed by strategy: a comparison's summaries, or single runs' results."""


class _Run(TypedDict):
    """Which run an event is about: the keys "started" and "result" begin with."""

    event: str  # "started" | "result"
    t: float
    scenario: str
    strategy: str
    tasks: int
    workers: int
    start_method: str | None


class Started(_Run):
    quick: bool
    params: dict[str, float]
    work: dict[str, Any]
    facts: dict[str, Any]


class Probe(TypedDict):
    event: str  # "probe"
    t: float
    parallel_capacity: float
    cores: int


class Measuring(TypedDict):
    """The timed part starts now: lanes and the elapsed clock count from here."""

    event: str  # "measuring"
    t: float


class WorkerStarted(TypedDict):
    event: str  # "worker_started"
    t: float
    worker: str
    label: str


class Phase(TypedDict):
    event: str  # "phase"
    t: float
    worker: str
    phase: str  # "compute" | "wait" | "idle"
    task: int | None
    at: float
    detail: NotRequired[str]
    """What the worker holds or waits for, in a few words ("has A wants B"); only where it matters."""


class WorkerFinished(TypedDict):
    event: str  # "worker_finished"
    t: float
    worker: str
    ok: bool
    error: str | None


class Sample(TypedDict):
    event: str  # "sample"
    t: float
    elapsed_s: float
    cpu_percent: float
    mem_bytes: int
    cores: int
    workers: dict[str, str]
    cpu_share: NotRequired[dict[str, float]]


class Note(TypedDict):
    event: str  # "note"
    t: float
    text: str


class Queued(TypedDict):
    event: str  # "queued"
    t: float
    position: int
    estimate_s: float | None


class LockWait(TypedDict):
    """One worker caught in a deadlock: what it holds and what it waits for."""

    worker: str  # its lane, "w1"
    holds: list[str]  # lock names, "A"
    waits_for: str
    held_by: str | None  # the lane holding ``waits_for``


class Deadlock(TypedDict):
    """What the deadlock watchdog (:mod:`tutor.lab.watchdog`) saw before it stopped the workers."""

    after_s: float
    """Seconds from the start of the timed part to the detection."""
    stalled_s: float
    """How long no worker had made progress, each one waiting on a lock."""
    cycle: list[LockWait]
    text: str
    """The same in one sentence: "w1 holds A and waits for B, held by w2; ..."."""


class Result(_Run):
    """One run's outcome. ``ok`` false with ``error`` when it failed or was cancelled."""

    cores: int | None
    parallel_capacity: float | None
    python: str | None
    python_path: str | None
    """The interpreter that ran the workload (``--python``; by default the tutor's own)."""
    gil_enabled: bool | None
    """Whether the GIL was on at any point of the run: checked after the runner's
    imports and again at the end (an extension module can switch it back on)."""
    free_threaded_build: bool | None
    quick: bool
    work: dict[str, Any]
    wall_s: float | None
    cpu_percent: float | None
    peak_mem_bytes: int | None
    memory_kind: str | None
    noisy: bool
    sampler_cpu_percent: float | None
    foreign_load_percent: float | None
    lag_s: float | None
    """event-loop-lag: the longest a heartbeat coroutine came late (None elsewhere)."""
    response_s: float | None
    """convoy: the I/O thread's median response time (None elsewhere)."""
    deadlock: Deadlock | None
    """Set when the workers deadlocked: they were stopped, the run never finished, so
    ``wall_s`` is None; ``ok`` stays true (a deadlock seen and stopped is what was measured)."""
    ok: bool
    error: str | None
    details: dict[str, Any]


FIGURES: tuple[str, ...] = ("lag_s", "response_s")
"""Figures besides time and memory that a scenario measures and returns in its details;
the runner lifts them into the result (see :func:`take_figures`)."""


def take_figures(details: dict[str, Any]) -> dict[str, float | None]:
    """Move :data:`FIGURES` out of a scenario's details into result fields."""
    return {key: details.pop(key) for key in FIGURES if key in details}


class Summary(Result):
    """One strategy of a comparison: its runs folded into estimates with intervals.

    ``wall_s`` is the estimate (the fastest run for CPU-bound work, where other
    programs only ever add time; the median otherwise); ``*_runs`` are aligned
    by round (None where that round's run failed), so round k of every
    strategy can be paired. ``speedup`` is against the sequential baseline of
    the same comparison, with ``speedup_low``..``speedup_high`` its interval.
    ``speedup_limit`` is what the machine can physically give this strategy
    (None where no bound applies); ``implausible`` marks a figure above it
    beyond the measured spread.
    """

    variant: str
    """Its key in the comparison: the strategy, or ``strategy@tag`` under a named interpreter."""
    runs: int
    rounds: int
    estimator: str  # "fastest" | "median"
    wall_s_runs: list[float | None]
    peak_mem_bytes_runs: list[int | None]
    lag_s_runs: list[float | None]
    response_s_runs: list[float | None]
    spread: float | None
    speedup: float | None
    speedup_low: float | None
    speedup_high: float | None
    speedup_limit: float | None
    implausible: bool


RESULT_KEYS: frozenset[str] = frozenset(Result.__annotations__)
SUMMARY_KEYS: frozenset[str] = frozenset(Summary.__annotations__) | RESULT_KEYS
EVENT_KEYS: dict[str, frozenset[str]] = {
    "started": frozenset(Started.__annotations__),
    "probe": frozenset(Probe.__annotations__),
    "measuring": frozenset(Measuring.__annotations__),
    "worker_started": frozenset(WorkerStarted.__annotations__),
    "phase": frozenset(k for k in Phase.__annotations__ if k != "detail"),
    "worker_finished": frozenset(WorkerFinished.__annotations__),
    "sample": frozenset(k for k in Sample.__annotations__ if k != "cpu_share"),
    "note": frozenset(Note.__annotations__),
    "queued": frozenset(Queued.__annotations__),
    "result": RESULT_KEYS,
}
"""Keys every event of each kind carries (optional ones, like ``cpu_share``, left out)."""


def run_fields(spec: dict[str, Any], facts: dict[str, Any] | None = None) -> dict[str, Any]:
    """The keys of a result that describe the run, from its resolved spec and the machine."""
    facts = facts or {}
    return {
        "scenario": spec["scenario"],
        "strategy": spec["strategy"],
        "tasks": spec["tasks"],
        "workers": spec["workers"],
        "start_method": None,
        "cores": facts.get("cores"),
        "parallel_capacity": None,
        "python": facts.get("python"),
        "python_path": facts.get("python_path") or spec.get("python"),
        "gil_enabled": facts.get("gil_enabled"),
        "free_threaded_build": facts.get("free_threaded_build"),
        "quick": bool(spec.get("quick", False)),
        "work": {"tasks": spec["tasks"], **(spec.get("params") or {}), **(spec.get("work") or {})},
    }


def result_event(
    spec: dict[str, Any],
    facts: dict[str, Any] | None = None,
    *,
    ok: bool,
    error: str | None = None,
    **measured: Any,
) -> Result:
    """A complete ``result`` event: the run's fields, then what was measured.

    Keys not given in ``measured`` are None (nothing was measured), so a
    failed run and a finished one have the same shape.
    """
    event: dict[str, Any] = {"event": "result", "t": time.monotonic(), **run_fields(spec, facts)}
    for key in (
        "wall_s",
        "cpu_percent",
        "peak_mem_bytes",
        "memory_kind",
        "sampler_cpu_percent",
        "foreign_load_percent",
        *FIGURES,
        "deadlock",
    ):
        event[key] = None
    event.update(noisy=False, details={})
    event.update(measured)
    event.update(ok=ok, error=error)
    return event  # type: ignore[return-value]


def failed_result(
    spec: dict[str, Any], error: str, facts: dict[str, Any] | None = None, **measured: Any
) -> Result:
    """The one way to say a run produced no measurement (failed, hung, cancelled)."""
    return result_event(spec, facts, ok=False, error=error, **measured)
