"""The lab runner: the child process that runs one workload and streams events.

Started by :class:`tutor.lab.client.LabRun` as ``python -m tutor.lab.runner``
in its own process group where the platform has them (see
:mod:`tutor.lab.platform`). Protocol:

- stdin: the first line is the run spec (JSON); afterwards stdin stays open
  and its end-of-file means the parent is gone, so the runner ends every
  process it started (on Linux the parent-death signal does the same even faster).
- stdout: JSON Lines events, see ``docs/architecture.md``. Nothing else is
  written there: fd 1 is redirected to stderr so a stray ``print`` in a
  workload cannot corrupt the stream.
- exit status 0 whenever a result was emitted, even for a failed workload:
  a crashing worker is data, not a runner crash.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from typing import TYPE_CHECKING, Any

from tutor.lab import platform, report
from tutor.lab.context import RunContext
from tutor.lab.events import failed_result, result_event, take_figures
from tutor.lab.facts import gil_enabled, machine_facts
from tutor.lab.registry import get_scenario
from tutor.lab.watchdog import LockBook

if TYPE_CHECKING:
    from tutor.lab.sampler import WorkerClock

_out_fd = -1
_out_lock = threading.Lock()


def emit(event: str, **fields: Any) -> None:
    """Write one event line with a raw os.write under our own lock.

    Not sys.stdout: a process forked while another thread held the buffered
    writer's lock would deadlock when it flushes at exit.
    """
    with _out_lock:
        # Stamped under the lock, so timestamps in the stream never go backwards.
        line = json.dumps({"event": event, "t": time.monotonic(), **fields}, default=str) + "\n"
        data = line.encode()
        while data:
            data = data[os.write(_out_fd, data) :]


def _kill_group() -> None:
    platform.kill_own_tree_and_exit()


_runner_pid = os.getpid()


def _on_terminate(signum: int, frame: Any) -> None:
    if os.getpid() != _runner_pid:
        # A forked worker inherits this handler; a pool terminating its workers
        # must only end that worker, not the whole run.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    _kill_group()


def _watch_parent() -> None:
    # stdin is a pipe from the parent: EOF means it exited or was killed.
    # Raw os.read, not sys.stdin: a forked worker closes sys.stdin at start and
    # would deadlock on the buffered reader's lock held by this thread.
    try:
        while os.read(0, 64):
            pass
    except OSError:
        pass
    _kill_group()


def _read_spec() -> dict:
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(0, 1)
        if not chunk:
            break
        line += chunk
    return json.loads(line or b"{}")


def _probe_capacity(cores: int, quick: bool) -> float:
    """What `cores` busy processes get against one: this moment's parallel capacity.

    On shared machines the CPU supply varies run to run (the same 2-process
    probe measured 1.03x to 2.28x in four runs on an idle-looking 2-core
    machine), so verdicts compare against this.
    """
    from tutor.lab.scenarios.crunch import calibrate

    if cores <= 1:
        return 1.0
    n = calibrate(0.03 if quick else 0.06, probes=2)
    import multiprocessing

    ctx = multiprocessing.get_context(platform.probe_start_method())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        single = _timed_processes(ctx, 1, n)
        parallel = _timed_processes(ctx, cores, n)
    best = cores * single / parallel if parallel > 0 else 1.0
    return round(max(0.1, min(float(cores), best)), 2)


def _timed_processes(ctx: Any, count: int, n: int) -> float:
    from tutor.lab.scenarios.crunch import probe_work

    # All pass together once every one has started, so start-up is never timed:
    # under spawn it takes far longer than a short sleep could cover.
    start_gate = ctx.Barrier(count + 1)
    procs = [ctx.Process(target=probe_work, args=(n, start_gate)) for _ in range(count)]
    for p in procs:
        p.start()
    start_gate.wait(timeout=60)
    t0 = time.perf_counter()
    for p in procs:
        p.join()
    return time.perf_counter() - t0


def _drain_reports(
    q: Any,
    lanes: dict[str, str],
    states: dict[str, str],
    lock: threading.Lock,
    clock: WorkerClock | None = None,
) -> None:
    """Turn worker reports into worker_started / phase events, in arrival order.

    Each new thread or process lane is handed to ``clock`` (a WorkerClock) as
    (pid, tid), so samples can say how much CPU it really got.
    """
    while True:
        msg = q.get()
        if msg is None or msg[0] == "stop":
            return
        _, key, phase, task, t, *detail = msg
        with lock:
            lane = lanes.get(key)
            if lane is None:
                lane = lanes[key] = f"w{len(lanes) + 1}"
                # asyncio tasks (a…) all share the main thread, whose time says
                # nothing about one task; their phases are truthful anyway, since
                # a coroutine is never pre-empted.
                if clock is not None and key[0] in "tp" and key[1:].isdigit():
                    # A t-key is a thread of this runner; a p-key is a process's main thread.
                    pid, tid = (_runner_pid, int(key[1:])) if key[0] == "t" else (int(key[1:]),) * 2
                    clock.watch(lane, pid, tid)
                kind = {"t": "thread", "p": "process", "a": "task"}.get(key[0], "worker")
                if key == f"p{_runner_pid}":
                    label = "main thread"
                elif kind == "process":
                    label = f"process {key[1:]}"
                else:
                    label = f"{kind} {len(lanes)}"
                emit("worker_started", worker=lane, label=label)
            states[lane] = phase
        emit(
            "phase",
            worker=lane,
            phase=phase,
            task=task,
            at=t,
            **({"detail": detail[0]} if detail else {}),
        )


def main() -> int:
    global _out_fd
    spec = _read_spec()
    _out_fd = os.dup(1)
    os.dup2(2, 1)  # stray prints from workloads go to stderr, never the event stream
    signal.signal(signal.SIGTERM, _on_terminate)
    signal.signal(signal.SIGINT, _on_terminate)
    # Everything this run starts (workers, fork server, HTTP server) inherits it
    # and checks, once its own death signal is armed, that the runner still lives.
    os.environ[report.RUNNER_PID_ENV] = str(os.getpid())
    # The stdin watcher (started after the probe) is this process's own parent watch.
    report.die_with_parent(spec.get("parent_pid"), watch=False)

    info = get_scenario(spec["scenario"])
    facts = machine_facts()
    strategy = spec["strategy"]
    uses_processes = strategy in ("processes", "hybrid")
    start_method = (
        (spec.get("start_method") or facts["default_start_method"]) if uses_processes else None
    )
    emit(
        "started",
        scenario=info.name,
        strategy=strategy,
        tasks=spec["tasks"],
        workers=spec["workers"],
        start_method=start_method,
        quick=spec.get("quick", False),
        params=spec.get("params", {}),
        work={"tasks": spec["tasks"], **spec.get("params", {}), **(spec.get("work") or {})},
        facts=facts,
    )
    capacity = None
    if spec.get("probe", True):
        capacity = _probe_capacity(facts["cores"], spec.get("quick", False))
        emit("probe", parallel_capacity=capacity, cores=facts["cores"])
    # Threads start only now: forking the probe from a single-threaded process
    # avoids the fork-with-threads hazard (a DeprecationWarning from 3.12).
    threading.Thread(target=_watch_parent, name="lab-watchdog", daemon=True).start()

    from tutor.lab.sampler import MEMORY_KIND, PeriodicSampler, TreeSampler, WorkerClock

    tree = TreeSampler()
    clock = WorkerClock()
    lanes: dict[str, str] = {}
    states: dict[str, str] = {}
    lock = threading.Lock()
    started = time.monotonic()

    def on_sample(cpu: float, mem: int, shares: dict[str, float]) -> None:
        with lock:
            snapshot = dict(states)
        emit(
            "sample",
            elapsed_s=round(time.monotonic() - started, 3),
            cpu_percent=round(cpu, 1),
            mem_bytes=mem,
            cores=facts["cores"],
            workers=snapshot,
            cpu_share={lane: round(share, 3) for lane, share in shares.items()},
        )

    ctx = RunContext(
        scenario=info.name,
        strategy=strategy,
        tasks=spec["tasks"],
        workers=spec["workers"],
        quick=spec.get("quick", False),
        start_method=start_method or facts["default_start_method"],
        params=spec.get("params", {}),
        cores=facts["cores"],
        note=lambda text: emit("note", text=text),
        exclude_pid=tree.exclude,
        measure_memory=tree.memory_bytes,
        work=dict(spec.get("work") or {}),
    )
    if uses_processes or info.kind in ("demo", "cost"):
        ctx.report_queue = report.ProcessChannel(ctx.mp())
        report.install(ctx.report_queue)
    else:
        ctx.thread_queue()
    # The deadlock watchdog, for scenarios that take tracked locks (tutor.lab.watchdog).
    ctx.locks = LockBook.for_run(
        ctx.params,
        lane_of=lambda key: lanes.get(key, key),
        on_deadlock=lambda d: emit("note", text="deadlock: " + d["text"]),
    )
    module = importlib.import_module(info.module)
    # Checked again after every import and at the end: on a free-threaded build an
    # extension module that is not ready for it switches the GIL back on, for good.
    gil_seen = [facts["gil_enabled"], gil_enabled()]
    drain = threading.Thread(
        target=_drain_reports,
        args=(ctx.report_queue, lanes, states, lock, clock),
        name="lab-reports",
        daemon=True,
    )
    drain.start()

    limit = spec.get("time_limit_s") or info.time_limit_s

    def done_spec() -> dict:
        # What this run really did: the sizes it was given or calibrated itself.
        return dict(spec, work=ctx.work)

    def on_timeout() -> None:
        result = failed_result(
            done_spec(),
            f"stopped: the workload ran longer than its time limit of {limit:g} s",
            facts,
            start_method=start_method,
            parallel_capacity=capacity,
            wall_s=round(time.monotonic() - started, 4),
        )
        emit("result", **{k: v for k, v in result.items() if k not in ("event", "t")})
        _kill_group()

    watchdog = threading.Timer(limit, on_timeout)
    watchdog.daemon = True
    details: dict[str, Any] = {}
    error = None
    sampler = None
    try:
        with warnings.catch_warnings():
            # fork with threads running warns from 3.12; we record the start method instead.
            warnings.simplefilter("ignore", DeprecationWarning)
            prepare = getattr(module, "prepare", None)
            if prepare:
                prepare(ctx)
            sampler = PeriodicSampler(tree, on_sample, workers=clock)
            watchdog.start()
            emit("measuring")
            started = time.monotonic()
            sampler.start()
            t0 = time.perf_counter()
            details = module.run(ctx) or {}
            wall = time.perf_counter() - t0
    except Exception as exc:  # a failing workload is reported as data
        wall = time.monotonic() - started
        error = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    finally:
        watchdog.cancel()
        ctx.locks.close()
        totals = sampler.stop() if sampler else {}
        finish = getattr(module, "finish", None)
        if finish:
            try:
                finish(ctx)
            except Exception:
                traceback.print_exc()
    ctx.report_queue.put(("stop",))
    drain.join(timeout=2)
    with lock:
        for lane in lanes.values():
            emit("worker_finished", worker=lane, ok=error is None, error=None)
    gil_seen.append(gil_enabled())
    if any(gil_seen) and not gil_seen[0]:
        emit("note", text="the GIL came back on during this run (an extension module enabled it)")
    facts = dict(facts, gil_enabled=any(gil_seen))
    foreign = totals.get("foreign_load_percent")
    peak = details.pop("peak_mem_bytes", None) or totals.get("peak_mem_bytes")
    result = result_event(
        done_spec(),
        facts,
        ok=error is None,
        error=error,
        start_method=start_method,
        parallel_capacity=capacity,
        # A deadlocked run never finished: it has no wall time, only its deadlock.
        wall_s=None if ctx.locks.report else round(wall, 4),
        deadlock=ctx.locks.report,
        **take_figures(details),
        cpu_percent=round(totals["cpu_percent"], 1) if "cpu_percent" in totals else None,
        peak_mem_bytes=peak,
        memory_kind=MEMORY_KIND,
        noisy=bool(foreign is not None and foreign > 15.0),
        sampler_cpu_percent=totals.get("sampler_cpu_percent"),
        foreign_load_percent=round(foreign, 1) if foreign is not None else None,
        details=details,
    )
    emit("result", **{k: v for k, v in result.items() if k not in ("event", "t")})
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except Exception:
        traceback.print_exc()
        code = 3
    sys.stderr.flush()
    # Skip interpreter teardown: daemon threads may still hold queues.
    os._exit(code)
