"""What the lab can run: scenarios, their strategies and parameters, as plain data.

This module is imported by the lesson validator and the command line, so it must
stay cheap: no workload code, no psutil, no Textual. The workload for scenario
``NAME`` lives in ``tutor.lab.scenarios.NAME`` and is only imported inside the
runner child process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STRATEGIES: tuple[str, ...] = (
    "sequential",
    "threads",
    "processes",
    "asyncio",
    "hybrid",
    "opposite",
    "ordered",
    "timeout",
    "pool",
    "blocking",
    "awaiting",
    "to_thread",
    "interpreters",
)
"""Every strategy name the lab knows. `hybrid` = threads for I/O, processes for CPU (pipeline only).

The last seven are the variants of one scenario each, compared like strategies:
`deadlock` takes two locks in `opposite` orders, in one global order (`ordered`)
or gives up after a `timeout`, or has pool tasks wait for tasks of their own `pool`; `event-loop-lag` runs a blocking call in a
coroutine as is (`blocking`), as `await asyncio.sleep` (`awaiting`) or through
`asyncio.to_thread` (`to_thread`).
`interpreters` = subinterpreters (``concurrent.futures.InterpreterPoolExecutor``): it needs
Python 3.14+ where the run happens, and is offered only there
(:func:`tutor.lab.interpreters.interpreter_pool_problem`)."""

LESSON_TAGS: dict[str, str] = {
    "gil": "a Python with the GIL on (the tutor's own when it has one)",
    "ft": "a free-threaded Python with the GIL off",
}
"""Interpreters a lesson's choices may name: ``threads@gil``, ``threads@ft``
(found by :func:`tutor.lab.interpreters.lesson_pythons`)."""

MEASURES: dict[str, str] = {
    "wall_s": "seconds from start to end of the workload",
    "peak_mem_bytes": "peak memory of the whole process tree",
    "lag_s": "the longest an event loop's heartbeat came late (event-loop-lag)",
    "response_s": "median response time of an I/O thread's requests (convoy)",
}
"""What a challenge may compare (lower wins). Each is a key of the ``result`` event;
a comparison's summary adds ``<measure>_runs``, its value by round."""

START_METHODS: tuple[str, ...] = ("fork", "forkserver", "spawn")

MAX_WORKERS = 256


@dataclass(frozen=True)
class ParamSpec:
    """A numeric scenario parameter with its allowed range (inclusive)."""

    name: str
    help: str
    default: float
    quick: float
    minimum: float
    maximum: float
    integer: bool = False

    def check(self, value: float) -> str | None:
        """Return an error message naming what is allowed, or None when fine."""
        if self.integer and int(value) != value:
            return f"{self.name} must be a whole number from {self.minimum:g} to {self.maximum:g}"
        if not (self.minimum <= value <= self.maximum):
            return f"{self.name} must be from {self.minimum:g} to {self.maximum:g}, not {value:g}"
        return None


@dataclass(frozen=True)
class ScenarioInfo:
    name: str
    title: str
    summary: str
    strategies: tuple[str, ...]
    """Strategies that make sense for this scenario; the first is the baseline."""
    tasks: int
    """Default amount of work (files, jobs, dishes, workers to start...)."""
    quick_tasks: int
    max_tasks: int
    time_limit_s: float
    """A run that takes longer than this (full size) is stopped as hung."""
    kind: str
    """'io', 'cpu', 'mixed', 'cpu-c', 'cost', 'demo', 'sync' (threads taking turns on
    locks: mostly waiting) or 'latency' (how late something answers): what it teaches."""
    params: tuple[ParamSpec, ...] = field(default_factory=tuple)
    presets: dict[str, dict[str, float]] = field(default_factory=dict)
    """Named parameter sets, e.g. downloads --preset seed."""
    calibrated: tuple[str, ...] = ()
    """Work sizes measured on this machine (from a ``*_s`` target) by the first run of
    a comparison and then given to every other run, so all strategies do the same work."""
    default_workers: int | None = None
    """Workers when none are asked for; None: one per task (capped), see ``client.default_workers``."""
    measures: tuple[str, ...] = ("wall_s", "peak_mem_bytes")
    """Which of :data:`MEASURES` a run of this scenario reports."""
    headline: str = "wall_s"
    """The measure ``tutor run --compare`` judges by (a challenge names its own)."""

    @property
    def module(self) -> str:
        """The workload's module (scenario names may hold '-', module names may not)."""
        return f"tutor.lab.scenarios.{self.name.replace('-', '_')}"

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)


FILE_DELAY = ParamSpec(
    "delay", "seconds the server waits before answering each file", 0.5, 0.2, 0.0, 10.0
)
"""The local file server's answer delay, shared by downloads and the pipeline."""

SCENARIOS: dict[str, ScenarioInfo] = {
    s.name: s
    for s in (
        ScenarioInfo(
            name="downloads",
            title="Downloads",
            summary="Fetch files over real HTTP from a local server that answers slowly.",
            strategies=("sequential", "threads", "processes", "asyncio"),
            tasks=6,
            quick_tasks=4,
            max_tasks=200,
            time_limit_s=120,
            kind="io",
            params=(
                FILE_DELAY,
                ParamSpec("size_kib", "size of each file in KiB", 64, 16, 1, 65536, integer=True),
                ParamSpec(
                    "bandwidth_kib",
                    "shared link speed in KiB/s (0 = unlimited)",
                    0,
                    0,
                    0,
                    1048576,
                    integer=True,
                ),
            ),
            presets={"seed": {"tasks": 3, "delay": 3.0}},
        ),
        ScenarioInfo(
            name="crunch",
            title="Number crunching",
            summary="Pure-Python arithmetic: every task needs the CPU (and, with a GIL, the GIL).",
            strategies=("sequential", "threads", "processes", "asyncio", "interpreters"),
            tasks=4,
            quick_tasks=2,
            max_tasks=64,
            time_limit_s=180,
            kind="cpu",
            params=(
                ParamSpec(
                    "task_s",
                    "target seconds of CPU per task (calibrated on this machine)",
                    0.6,
                    0.12,
                    0.05,
                    10.0,
                ),
            ),
            calibrated=("steps_per_task",),
        ),
        ScenarioInfo(
            name="chef",
            title="The restaurant kitchen",
            summary="Each dish: prepare (CPU work) then boil (waiting). Mixed work.",
            strategies=("sequential", "threads", "processes", "asyncio"),
            tasks=4,
            quick_tasks=2,
            max_tasks=32,
            time_limit_s=120,
            kind="mixed",
            params=(
                ParamSpec("prep_s", "seconds of CPU to prepare each dish", 0.2, 0.08, 0.01, 5.0),
                ParamSpec("boil_s", "seconds of waiting to boil each dish", 0.5, 0.2, 0.0, 10.0),
            ),
            calibrated=("prep_steps",),
        ),
        ScenarioInfo(
            name="compress",
            title="Compression in C",
            summary="zlib on large in-memory buffers: C code that releases the GIL.",
            strategies=("sequential", "threads", "processes", "interpreters"),
            tasks=4,
            quick_tasks=2,
            max_tasks=32,
            time_limit_s=180,
            kind="cpu-c",
            params=(
                ParamSpec("mib", "MiB of data each task compresses", 24, 4, 1, 512, integer=True),
            ),
        ),
        ScenarioInfo(
            name="startup",
            title="The cost of starting workers",
            summary="Start and join many do-nothing workers.",
            strategies=("threads", "processes", "asyncio"),
            tasks=100,
            quick_tasks=10,
            max_tasks=1000,
            time_limit_s=120,
            kind="cost",
        ),
        ScenarioInfo(
            name="memory",
            title="The memory of idle workers",
            summary="Keep many idle workers alive and measure the memory of the whole process tree.",
            strategies=("threads", "processes", "asyncio"),
            tasks=50,
            quick_tasks=8,
            max_tasks=200,
            time_limit_s=120,
            kind="cost",
            headline="peak_mem_bytes",
        ),
        ScenarioInfo(
            name="sharing",
            title="Sharing state and messages",
            summary="A shared counter with and without a lock; Value, Manager, Queue and Pipe.",
            strategies=("threads", "processes"),
            tasks=4,
            quick_tasks=2,
            max_tasks=32,
            time_limit_s=120,
            kind="demo",
            params=(
                ParamSpec(
                    "increments",
                    "increments per worker",
                    1_000_000,
                    500_000,
                    100,
                    10_000_000,
                    integer=True,
                ),
            ),
        ),
        ScenarioInfo(
            name="crash",
            title="When a worker crashes",
            summary="A worker raises, a worker is killed: what the others and the caller see.",
            strategies=("threads", "processes"),
            tasks=4,
            quick_tasks=4,
            max_tasks=16,
            time_limit_s=60,
            kind="demo",
        ),
        ScenarioInfo(
            name="pipeline",
            title="A download-then-process pipeline",
            summary="Download with threads, then post-process the data with CPU-heavy work.",
            strategies=("sequential", "threads", "processes", "hybrid"),
            tasks=6,
            quick_tasks=4,
            max_tasks=64,
            time_limit_s=180,
            kind="mixed",
            params=(
                FILE_DELAY,
                ParamSpec(
                    "task_s", "seconds of CPU to post-process each file", 0.3, 0.08, 0.01, 10.0
                ),
            ),
            calibrated=("steps_per_task",),
        ),
        ScenarioInfo(
            name="deadlock",
            title="Two locks, two orders",
            summary="Two threads move money between two accounts, each account behind its own lock.",
            strategies=("opposite", "ordered", "timeout", "pool"),
            tasks=20,
            quick_tasks=10,
            max_tasks=1000,
            time_limit_s=60,
            kind="sync",
            params=(
                ParamSpec(
                    "hold_s",
                    "seconds a thread holds its first lock before taking the second",
                    0.002,
                    0.002,
                    0.0005,
                    0.5,
                ),
                ParamSpec(
                    "stall_s",
                    "seconds without progress, every thread waiting on a lock, that count as a deadlock",
                    2.0,
                    1.0,
                    0.3,
                    30.0,
                ),
            ),
            default_workers=2,
        ),
        ScenarioInfo(
            name="producer-consumer",
            title="Producer and consumers",
            summary="One producer feeds consumers through a bounded queue, with sentinels, task_done and join.",
            strategies=("sequential", "threads", "processes"),
            tasks=400,
            quick_tasks=200,
            max_tasks=100_000,
            time_limit_s=180,
            kind="cpu",
            params=(
                ParamSpec(
                    "maxsize", "places in the queue (0 = unbounded)", 8, 8, 0, 100_000, integer=True
                ),
                ParamSpec(
                    "item_s",
                    "seconds of CPU a consumer spends on each item",
                    0.005,
                    0.004,
                    0.0,
                    1.0,
                ),
                ParamSpec(
                    "produce_s",
                    "seconds of CPU the producer spends making each item (the serial part)",
                    0.0,
                    0.0,
                    0.0,
                    1.0,
                ),
            ),
            calibrated=("item_steps", "produce_steps"),
            default_workers=2,
        ),
        ScenarioInfo(
            name="event-loop-lag",
            title="A blocked event loop",
            summary="Coroutines wait with time.sleep, await asyncio.sleep or asyncio.to_thread while a heartbeat measures the loop's lag.",
            strategies=("blocking", "awaiting", "to_thread"),
            tasks=8,
            quick_tasks=6,
            max_tasks=200,
            time_limit_s=120,
            kind="latency",
            params=(
                ParamSpec("block_s", "seconds each job waits", 0.1, 0.08, 0.005, 5.0),
                ParamSpec("tick_s", "the heartbeat's period in seconds", 0.01, 0.01, 0.001, 1.0),
            ),
            measures=("wall_s", "lag_s"),
            headline="lag_s",
        ),
        ScenarioInfo(
            name="convoy",
            title="The convoy effect",
            summary="An I/O thread sends requests to a local server while CPU-bound threads or processes run beside it.",
            strategies=("sequential", "threads", "processes"),
            tasks=60,
            quick_tasks=30,
            max_tasks=10_000,
            time_limit_s=120,
            kind="mixed",  # CPU-bound neighbours: other programs' CPU use disturbs it too
            params=(
                ParamSpec(
                    "gap_s", "seconds the I/O thread pauses between requests", 0.01, 0.01, 0.0, 1.0
                ),
            ),
            default_workers=2,
            measures=("wall_s", "response_s"),
            headline="response_s",
        ),
    )
}


def get_scenario(name: str) -> ScenarioInfo:
    """Look a scenario up; the KeyError message names every scenario allowed."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(
            f"unknown scenario {name!r}; choose one of: {', '.join(SCENARIOS)}"
        ) from None
