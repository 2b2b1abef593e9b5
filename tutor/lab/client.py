"""Start lab runs and read their events: the one way the UI and the CLI run workloads.

Modelled on ``concurrent.futures``: a small object with an explicit life cycle.

    run = LabRun(RunRequest("crunch", "threads", quick=True))
    for event in run.events():      # starts the runner child if needed
        ...
    run.result                      # the "result" event

Each run is a separate child process (in its own process group where the
platform has them), so a CPU-heavy or crashing workload can never freeze or
kill the program that watches it, and cancelling ends every process the
workload started (see :mod:`tutor.lab.platform`).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.lab import platform
from tutor.lab.events import Event, Result, failed_result
from tutor.lab.registry import MAX_WORKERS, START_METHODS, STRATEGIES, get_scenario

KILL_GRACE_S = 1.0


@dataclass
class RunRequest:
    """What to run. ``None`` sizes take the scenario's defaults (or quick sizes)."""

    scenario: str
    strategy: str
    tasks: int | None = None
    workers: int | None = None
    quick: bool = False
    start_method: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    probe: bool = True
    time_limit_s: float | None = None
    """Override the scenario's time limit (tests of the hung-workload path)."""
    work: dict[str, int] | None = None
    """Calibrated sizes from an earlier run of the same comparison (e.g. ``steps_per_task``):
    given, the run does exactly this work instead of calibrating its own."""
    python: str | None = None
    """The interpreter to run the workload under (a path, from
    :func:`tutor.lab.interpreters.resolve`); None: the one running the tutor."""

    def resolve(self) -> dict:
        """Validate and fill in defaults; raises ValueError naming what is allowed."""
        try:
            info = get_scenario(self.scenario)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        if self.strategy not in STRATEGIES or self.strategy not in info.strategies:
            raise ValueError(
                f"strategy {self.strategy!r} does not fit scenario {info.name!r}; "
                f"choose one of: {', '.join(info.strategies)}"
            )
        if self.strategy == "interpreters":
            from tutor.lab.interpreters import interpreter_pool_problem

            problem = interpreter_pool_problem(self.python)
            if problem:
                raise ValueError(problem)
        if self.start_method is not None:
            available = platform.start_methods()
            if self.start_method not in START_METHODS or self.start_method not in available:
                raise ValueError(
                    f"start method {self.start_method!r} is not available here; choose one of: {', '.join(available)}"
                )
        params = dict(self.params)
        preset_name = params.pop("preset", None)
        values: dict[str, float] = {
            p.name: (p.quick if self.quick else p.default) for p in info.params
        }
        tasks = self.tasks
        if preset_name is not None:
            if preset_name not in info.presets:
                allowed = ", ".join(info.presets) or "none"
                raise ValueError(
                    f"unknown preset {preset_name!r} for {info.name}; presets: {allowed}"
                )
            preset = dict(info.presets[preset_name])
            if "tasks" in preset and tasks is None:
                tasks = int(preset.pop("tasks"))
            preset.pop("tasks", None)
            values.update(preset)
        for key, value in params.items():
            param = info.param(key)
            if param is None:
                allowed = ", ".join(p.name for p in info.params) or "none"
                raise ValueError(
                    f"unknown parameter {key!r} for {info.name}; parameters: {allowed}"
                )
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{key} must be a number from {param.minimum:g} to {param.maximum:g}"
                ) from None
            problem = param.check(number)
            if problem:
                raise ValueError(problem)
            values[key] = int(number) if param.integer else number
        if tasks is None:
            tasks = info.quick_tasks if self.quick else info.tasks
        if not (1 <= tasks <= info.max_tasks):
            raise ValueError(
                f"tasks must be from 1 to {info.max_tasks} for {info.name}, not {tasks}"
            )
        workers = self.workers
        if info.kind == "cost":
            # Cost scenarios start one worker per task: that is what they measure.
            if workers is not None and workers != tasks:
                raise ValueError(
                    f"{info.name} starts one worker per task: set --tasks, not --workers"
                )
            workers = tasks
        elif workers is None:
            workers = info.default_workers or default_workers(self.strategy, tasks)
        if info.kind != "cost" and not (1 <= workers <= MAX_WORKERS):
            raise ValueError(f"workers must be from 1 to {MAX_WORKERS}, not {workers}")
        if self.strategy == "sequential":
            workers = 1
        work = dict(self.work or {})
        for key, value in work.items():
            if key not in info.calibrated:
                allowed = ", ".join(info.calibrated) or "none"
                raise ValueError(f"unknown work size {key!r} for {info.name}; sizes: {allowed}")
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"work size {key} must be a whole number of at least 1, not {value!r}"
                )
        spec = {
            "scenario": info.name,
            "strategy": self.strategy,
            "tasks": tasks,
            "workers": workers,
            "quick": self.quick,
            "start_method": self.start_method,
            "params": values,
            "probe": self.probe,
            "time_limit_s": self.time_limit_s or info.time_limit_s,
            "work": work,
            "python": self.python,
        }
        from tutor.lab.budget import check_fits

        check_fits(spec)  # a run that cannot fit in memory is refused like any bad input
        return spec


def default_workers(strategy: str, tasks: int) -> int:
    """One worker per task (one cook per dish), capped where workers get expensive."""
    if strategy == "sequential":
        return 1
    if strategy == "asyncio":
        return min(tasks, MAX_WORKERS)
    return max(1, min(tasks, 32))


class LabRun:
    """One workload run in a runner child process. Thread-safe :meth:`cancel`.

    :meth:`close` (or leaving a ``with`` block) ends the runner and every
    process it started; it is idempotent and safe after :meth:`cancel`.
    """

    def __init__(self, request: RunRequest) -> None:
        self.request = request
        self.variant = request.strategy
        """Its key in a comparison (``threads@3.13.5t`` under a named interpreter); set by the comparison."""
        self.spec = request.resolve()
        self.result: Result | None = None
        self.cancelled = False
        self._proc: subprocess.Popen[bytes] | None = None
        # Kept open for the run's whole life (closed in close()): the runner's
        # stderr, read only to explain an unexpected exit.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._lock = threading.Lock()
        self._cancel_wait = threading.Event()
        self._timed_out = False
        # Served to a room, a measured run first waits for a bench slot.
        self._slot_ready = not os.environ.get("TUTOR_BENCH_DIR")
        self._release_slot: Callable[[], None] | None = None
        self._closed = False
        self._tail = ""

    def __enter__(self) -> LabRun:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.result is None:
            self.cancel()
        self.close()

    def start(self) -> None:
        """Start the runner; when served, deferred until events() got a bench slot."""
        with self._lock:
            if self._proc is not None or self.cancelled or not self._slot_ready:
                return
            env = dict(os.environ)
            # The runner must find this very package even when run from elsewhere.
            root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
            python = self.spec.get("python") or sys.executable
            if python != sys.executable:
                # Another interpreter gets only the tutor's source (its runner needs
                # nothing else), never this one's home or start-up settings.
                env["PYTHONPATH"] = root
                for key in (
                    "PYTHONHOME",
                    "PYTHONSTARTUP",
                    "PYTHONEXECUTABLE",
                    "__PYVENV_LAUNCHER__",
                ):
                    env.pop(key, None)
            self._proc = subprocess.Popen(
                [python, "-m", "tutor.lab.runner"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                **platform.new_group_popen_kwargs(),
                env=env,
            )
        spec = dict(self.spec, parent_pid=os.getpid())
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(spec).encode() + b"\n")
        self._proc.stdin.flush()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def events(self) -> Iterator[Event]:
        """Yield events in order until the result; always ends with a result event.

        When served to a room (``TUTOR_BENCH_DIR`` set), the run first waits for
        a slot in the host-wide bench queue and yields ``queued`` events
        (``position``, ``estimate_s``) meanwhile, so measurements don't compete.
        """
        if not self._slot_ready:
            yield from self._wait_for_slot(Path(os.environ["TUTOR_BENCH_DIR"]))
            self._slot_ready = True
        self.start()
        proc = self._proc
        if proc is None:  # cancelled before it started (e.g. while queued)
            self.close()
            self.result = failed_result(self.spec, "cancelled before it started")
            yield self.result
            return
        deadline = threading.Timer(self.spec["time_limit_s"] + 30, self._hung)
        deadline.daemon = True
        deadline.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if event.get("event") == "result":
                    if self.cancelled:
                        event.update(ok=False, error="cancelled")
                    self.result = event
                    yield event
                    break
                yield event
        finally:
            deadline.cancel()
            self.close()
        if self.result is None:
            code = proc.returncode
            if self.cancelled:
                why = "cancelled"
            elif self._timed_out:
                why = f"stopped: no result within {self.spec['time_limit_s'] + 30:g} s"
            else:
                why = f"the lab runner ended unexpectedly (exit status {code}){self._stderr_tail()}"
            self.result = failed_result(self.spec, why)
            yield self.result

    def _wait_for_slot(self, bench_dir: Path) -> Iterator[dict]:
        import queue

        from tutor.lab.benchqueue import QueueCancelled, acquire

        updates: queue.SimpleQueue[tuple[int, float | None] | None] = queue.SimpleQueue()
        release = threading.Event()

        def hold() -> None:
            try:
                with acquire(
                    bench_dir,
                    on_wait=lambda pos, est: updates.put((pos, est)),
                    cancel=self._cancel_wait,
                    label=f"{self.spec['scenario']}/{self.spec['strategy']}",
                ):
                    updates.put(None)
                    release.wait()
            except QueueCancelled:
                updates.put(None)

        # The slot is held by a thread so it stays held while the caller iterates.
        threading.Thread(target=hold, name="lab-bench-slot", daemon=True).start()
        self._release_slot = release.set
        while (item := updates.get()) is not None:
            yield {
                "event": "queued",
                "t": time.monotonic(),
                "position": item[0],
                "estimate_s": item[1],
            }

    def run(self, on_event: Callable[[Event], None] | None = None) -> Result:
        """Run to the end, passing each event to ``on_event``; return the result."""
        for event in self.events():
            if on_event:
                on_event(event)
        assert self.result is not None
        return self.result

    def cancel(self) -> None:
        """Stop the workload and every process it started (safe from any thread)."""
        self._cancel_wait.set()
        with self._lock:
            self.cancelled = True
            proc = self._proc
        if proc is not None and proc.poll() is None:
            _end_run(proc)

    def _hung(self) -> None:
        self._timed_out = True
        self.cancel()

    def close(self, timeout: float = KILL_GRACE_S * 2) -> None:
        """End the runner and its process group; wait up to ``timeout`` before killing.

        Idempotent. Closing stdin tells a runner that already sent its result to
        leave; one that does not within ``timeout`` is killed with its group.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            # A run closed before it started must never start afterwards.
            self.cancelled = self.cancelled or self._proc is None
        self._cancel_wait.set()
        if self._release_slot:
            self._release_slot()
        proc = self._proc
        if proc is not None:
            with contextlib.suppress(OSError):
                if proc.stdin:
                    proc.stdin.close()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                platform.kill_tree(proc.pid)
                proc.wait()
            platform.kill_leftovers(proc.pid)
            if proc.stdout:
                proc.stdout.close()
        # Read now: the tail explains an unexpected exit once the file is gone.
        self._tail = self._read_stderr_tail()
        self._stderr.close()

    def _stderr_tail(self) -> str:
        return self._tail if self._closed else self._read_stderr_tail()

    def _read_stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            lines = [
                ln for ln in self._stderr.read().decode(errors="replace").splitlines() if ln.strip()
            ]
        except (OSError, ValueError):
            return ""
        return f": {lines[-1].strip()}" if lines else ""


def _end_run(proc: subprocess.Popen[bytes]) -> None:
    """Ask the runner to end its run (it then kills its tree); kill the tree after a grace period."""
    platform.end_run(proc.pid)

    def escalate() -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=KILL_GRACE_S)
        if proc.poll() is None:
            platform.kill_tree(proc.pid)
        else:
            platform.kill_leftovers(proc.pid)

    threading.Thread(target=escalate, name="lab-kill", daemon=True).start()
