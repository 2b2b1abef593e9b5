"""What a scenario gets from the runner: its sizes, its strategy, and tools.

The contract for a scenario module ``tutor.lab.scenarios.NAME``:

``prepare(ctx) -> None``
    Untimed set-up: start a server, size the work. A size measured on this
    machine goes through :meth:`RunContext.sized`, so every run of one
    comparison does the same work. Use ``ctx.note``.
``run(ctx) -> dict``
    The measured workload for ``ctx.strategy``; returns scenario details
    (JSON-able) that explain the outcome. Workers report phases with
    :func:`tutor.lab.report.phase`.
``finish(ctx) -> None`` (optional)
    Untimed clean-up.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tutor.lab import report
from tutor.lab.registry import get_scenario

if TYPE_CHECKING:
    from tutor.lab.watchdog import LockBook


@dataclass
class RunContext:
    scenario: str
    strategy: str
    tasks: int
    workers: int
    quick: bool
    start_method: str | None
    params: dict[str, float]
    cores: int
    note: Callable[[str], None]
    exclude_pid: Callable[[int], None]
    measure_memory: Callable[[], int]
    report_queue: Any = None
    state: dict[str, Any] = field(default_factory=dict)
    """Scenario-private values set in prepare() (server port, sizes)."""
    work: dict[str, int] = field(default_factory=dict)
    """Calibrated sizes: given by the comparison, or measured here and reported."""
    locks: LockBook | None = None
    """Tracked locks watched for deadlocks (set by the runner; see :mod:`tutor.lab.watchdog`)."""

    def sized(self, key: str, calibrate: Callable[[], int]) -> int:
        """The comparison's size ``key``, calibrating it only if no earlier run did."""
        if key not in self.work:
            self.work[key] = int(calibrate())
        return self.work[key]

    def mp(self) -> multiprocessing.context.BaseContext:
        """The multiprocessing context for the chosen start method (always explicit)."""
        context = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            # The server imports the scenario once and each worker is forked from it,
            # as forkserver is meant to be used. Without it every worker imported the
            # scenario itself (~140 ms here), which is the lab's cost, not the method's.
            # dies_with_runner: the server has no death signal of its own, and its
            # workers never end while it lives (see that module).
            context.set_forkserver_preload(
                ["tutor.lab.dies_with_runner", "__main__", get_scenario(self.scenario).module]
            )
        return context

    def thread_queue(self) -> None:
        self.report_queue = queue.SimpleQueue()
        report.install(self.report_queue)

    def run_tasks(
        self,
        fn: Callable[..., Any],
        args: Sequence[tuple],
        afn: Callable[..., Coroutine[Any, Any, Any]] | None = None,
    ) -> list[Any]:
        """Run ``fn(*a)`` for each ``a`` with this run's strategy; results in order.

        ``afn`` is the coroutine version used by the asyncio strategy. It gets
        a lane name as its first argument so each task is drawn on its own lane.
        """
        if self.strategy == "sequential":
            return [fn(*a) for a in args]
        if self.strategy == "threads":
            with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="worker") as pool:
                return list(pool.map(fn, *zip(*args, strict=True)))
        if self.strategy == "processes":
            with self.process_pool(self.workers) as pool:
                return list(pool.map(fn, *zip(*args, strict=True)))
        if self.strategy == "interpreters":
            # 3.14+: one subinterpreter per worker, each with its own GIL, in this process.
            # fn and its arguments cross as pickles (fn by module and name); a worker's
            # phase reports stay inside its interpreter, so its lanes are not drawn.
            import concurrent.futures

            with concurrent.futures.InterpreterPoolExecutor(max_workers=self.workers) as ipool:  # type: ignore[attr-defined]
                return list(ipool.map(fn, *zip(*args, strict=True)))
        if self.strategy == "asyncio":
            if afn is None:
                raise ValueError(f"{self.scenario} has no asyncio version")
            return asyncio.run(self._gather(afn, args))
        raise ValueError(f"strategy {self.strategy!r} is not supported by {self.scenario}")

    async def _gather(
        self, afn: Callable[..., Coroutine[Any, Any, Any]], args: Sequence[tuple]
    ) -> list[Any]:
        limit = asyncio.Semaphore(self.workers)

        async def one(i: int, a: tuple) -> Any:
            async with limit:
                return await afn(f"a{i + 1}", *a)

        return await asyncio.gather(*(one(i, a) for i, a in enumerate(args)))

    def process_pool(self, workers: int) -> ProcessPoolExecutor:
        """A pool whose workers report phases to the runner and die with it."""
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=self.mp(),
            initializer=report.install,
            initargs=(self.report_queue,),
        )
