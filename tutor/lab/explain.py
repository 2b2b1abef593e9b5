"""One paragraph that says what a comparison's numbers mean on this machine.

Every figure in it is one of the table's figures (the same estimate, the same
workers), a sentence is only written for a strategy that was measured, and a
figure beyond what the machine can give is called so.
"""

from __future__ import annotations

from collections.abc import Sequence

from tutor.lab.events import Event
from tutor.lab.registry import ScenarioInfo, get_scenario
from tutor.lab.verdict import Verdict, judge

WINS = {
    "startup": "was fastest to start",
    "memory": "used the least memory",
    "event-loop-lag": "kept the event loop's lag lowest",
    "convoy": "answered requests fastest",
}
"""What 'best' means for a cost scenario: the headline names what was measured."""


def _x(value: float | None) -> str:
    return f"{value:.1f}x" if value else "-"


def explain(summaries: Sequence[Event]) -> str:
    """Explain a comparison (summaries of :class:`tutor.lab.compare.Comparison`) in plain words."""
    deadlocked = [s for s in summaries if s.get("ok") and s.get("deadlock")]
    ok = [s for s in summaries if s.get("ok") and s.get("wall_s")]
    if not ok and deadlocked:
        return " ".join(_deadlocks(deadlocked))
    if not ok:
        errors = "; ".join(
            f"{s['strategy']}: {s.get('error')}" for s in summaries if s.get("error")
        )
        return f"Nothing finished, so nothing can be compared. {errors}".strip()
    first = ok[0]
    info = get_scenario(first["scenario"])
    by = {s["strategy"]: s for s in ok}
    verdict = judge(by, chosen=first["strategy"], measure=info.headline)
    cores = first.get("cores") or 1
    machine = (
        f"On this machine ({cores} core{'s' if cores != 1 else ''}, Python {first.get('python')}, "
        f"GIL {'on' if first.get('gil_enabled') else 'off'})"
    )
    if len(ok) == 1 or info.kind == "demo":
        lead = machine  # one run, or a demonstration: there is no race to win
    elif verdict.settled:
        lead = f"{machine}, {verdict.winner} {WINS.get(info.name, 'came out best')}"
    else:
        lead = f"{machine}, {' and '.join(sorted(verdict.tied))} were too close to call"
    sentences = [lead + "."]
    sentences += _deadlocks(deadlocked)
    sentences += _body(info, by, verdict, cores)
    if verdict.noise:
        sentences.append(verdict.noise)
    sentences += verdict.reasons
    return " ".join(s for s in sentences if s)


def _gain(strategy: str, verdict: Verdict) -> str:
    """A strategy's speedup as the table shows it, qualified when it cannot be taken at face value."""
    x = verdict.speedups.get(strategy)
    if x is None:
        return "-"
    limit = verdict.limits.get(strategy)
    if strategy in verdict.implausible:
        return f"{x:.1f}x (beyond what this machine can give: see below)"
    low, high = verdict.intervals.get(strategy, (x, x))
    if limit == 1.0 and low <= 1.0 <= high:
        return f"{x:.2f}x (no real gain: within the noise of 1x)"
    if limit is not None and x > limit:
        # Above the limit only within the noise: never a figure beside words that cap it lower.
        return f"{x:.2f}x (about the {limit:g}x most this machine gives, within the noise)"
    return _x(x)


def _body(info: ScenarioInfo, by: dict[str, Event], verdict: Verdict, cores: int) -> list[str]:
    has = by.__contains__
    if info.name in _NEW_SCENARIOS and info.kind != "cpu":
        return _NEW_SCENARIOS[info.name](by)

    def gain(s: str) -> str:
        return _gain(s, verdict)

    out: list[str] = []
    if info.kind == "io":
        if has("threads"):
            out.append(
                f"Threads were {gain('threads')} faster than one at a time: a download is almost all waiting, "
                "and a waiting thread releases the GIL, so all the waits overlap."
            )
        if has("asyncio"):
            out.append(f"Asyncio ({gain('asyncio')}) overlaps the waits in one thread.")
        if has("processes"):
            out.append(
                f"Processes ({gain('processes')}) overlap the waits too, but each costs a whole interpreter."
            )
    elif info.kind == "cpu":
        if has("threads") and by["threads"].get("gil_enabled") is False:
            out.append(
                f"Threads reached {gain('threads')}: with the GIL off they run Python code on several cores "
                f"at once, at most {verdict.limits.get('threads', cores):g}x here."
            )
        elif has("threads"):
            out.append(
                f"Threads managed {gain('threads')}: pure-Python work needs the GIL, so threads take turns."
            )
        if has("interpreters"):
            out.append(
                f"Subinterpreters reached {gain('interpreters')}: each has a GIL of its own, in one process."
            )
        if has("asyncio"):
            out.append(
                f"Asyncio managed {gain('asyncio')}: coroutines that never await run one at a time."
            )
        if has("processes"):
            limit = verdict.limits.get("processes")
            if "processes" in verdict.implausible:
                out.append(f"Processes measured {gain('processes')}.")
            else:
                out.append(
                    f"Processes reached {gain('processes')}, each with its own interpreter and GIL; "
                    f"with {cores} core{'s' if cores != 1 else ''} and {by['processes'].get('workers')} workers "
                    f"they can gain at most {limit:g}x here."
                )
        if cores == 1:
            out.append(
                "With one core, processes cannot win: there is nothing to run them in parallel on."
            )
    elif info.kind == "mixed":
        parts = [f"{s} {gain(s)}" for s in ("threads", "processes", "asyncio", "hybrid") if has(s)]
        if parts:
            out.append(
                "Against one at a time: "
                + ", ".join(parts)
                + ". The waiting overlaps for everyone, but the CPU "
                "part needs the GIL for threads and asyncio, so only processes also compute in parallel."
            )
    elif info.kind == "cpu-c":
        if has("threads"):
            out.append(
                f"Threads reached {gain('threads')}: zlib is C code that releases the GIL while it works, "
                "so threads compress in parallel too."
            )
        if has("processes"):
            out.append(f"Processes reached {gain('processes')}.")
    elif info.name == "startup":
        t, p = by.get("threads", {}).get("wall_s"), by.get("processes", {}).get("wall_s")
        started = (
            by.get("processes", by.get("threads", {})).get("details", {}).get("workers_started")
        )
        count = started or next(iter(by.values())).get("tasks")
        if t and p:
            out.append(
                f"Starting and joining {count} threads took {t * 1000:.0f} ms; {count} processes "
                f"({by['processes'].get('start_method')}) took {p * 1000:.0f} ms, {p / t:.0f}x longer: "
                "a process is a whole interpreter."
            )
    elif info.name == "memory":
        per = {s: (r.get("details") or {}).get("per_worker_bytes") for s, r in by.items()}
        kind = (next(iter(by.values())).get("memory_kind") or "pss").upper()
        shown = [f"{s} {size / 1024:.0f} KiB" for s, size in per.items() if size is not None]
        if shown:
            out.append(
                f"Memory per idle worker: {', '.join(shown)} ({kind} of the whole process tree)."
            )
    elif info.name == "sharing":
        lost = {s: (r.get("details") or {}).get("lost_updates") for s, r in by.items()}
        shown = [f"{s} {v:,}" for s, v in lost.items() if v is not None]
        if shown:
            out.append(
                f"Lost updates without a lock: {', '.join(shown)}. With a lock (or Value.get_lock()) nothing "
                "is lost, at a price in speed."
            )
    elif info.name == "crash":
        out.append(
            "A thread's exception stays in that thread (join() does not re-raise it); a pool hands it to the "
            "caller through Future.result(); a killed worker process breaks a ProcessPoolExecutor, while the "
            "caller survives."
        )
    if info.name in _NEW_SCENARIOS and info.kind == "cpu":
        out += _NEW_SCENARIOS[info.name](by)  # after the speedups: what the queue did
    return out


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f} ms"


def _deadlocks(deadlocked: list[Event]) -> list[str]:
    """A deadlocked strategy never finished: say who held and waited for what, never a time."""
    return [
        f"{s['strategy'].capitalize()} deadlocked: {s['deadlock']['text']}. Nothing moved for "
        f"{s['deadlock']['stalled_s']:.1f} s, so the watchdog stopped the threads; it never finished."
        for s in deadlocked
    ]


def _deadlock_body(by: dict[str, Event]) -> list[str]:
    out = []
    if "ordered" in by:
        out.append(
            f"Taking the locks in one global order finished in {by['ordered']['wall_s']:.2f} s: "
            "no thread can hold the second lock while waiting for the first, so no cycle forms."
        )
    if "timeout" in by:
        retries = (by["timeout"].get("details") or {}).get("retries")
        out.append(
            f"Time-outs finished too ({by['timeout']['wall_s']:.2f} s), after {retries} retries: a thread that "
            "gives up its first lock breaks the cycle, at the price of the work it redoes."
        )
    return out


def _producer_consumer_body(by: dict[str, Event]) -> list[str]:
    out = []
    for strategy in ("threads", "processes"):
        d = (by.get(strategy) or {}).get("details") or {}
        if d:
            out.append(
                f"{strategy.capitalize()}: {d.get('consumers')} consumers handled {d.get('items'):,} items in "
                f"{by[strategy]['wall_s']:.2f} s ({d.get('items_per_s') or 0:,.0f} a second); the producer waited {d.get('producer_blocked_s', 0):.2f} s on a "
                f"full queue of {d.get('maxsize') or 'unbounded'} places and the consumers "
                f"{d.get('consumers_idle_s', 0):.2f} s on an empty one."
            )
    if out:
        out.append(
            "Threads share one GIL, so consumers of pure-Python work take turns; processes work in "
            "parallel but pickle every item through a pipe, which only pays when each item is worth it."
        )
    return out


def _lag_body(by: dict[str, Event]) -> list[str]:
    words = {
        "blocking": "time.sleep in a coroutine held the loop",
        "awaiting": "await asyncio.sleep left the loop free",
        "to_thread": "asyncio.to_thread moved the wait to a thread",
    }
    parts = [f"{words[s]}: lag {_ms(r.get('lag_s'))}" for s, r in by.items() if s in words]
    out = ["The heartbeat's worst lateness: " + "; ".join(parts) + "."] if parts else []
    slow = (by.get("blocking", {}).get("details") or {}).get("slow_callbacks_logged")
    if slow:
        out.append(
            f"asyncio's debug mode logged {slow} slow callbacks while it blocked: that is how to find one."
        )
    return out


def _convoy_body(by: dict[str, Event]) -> list[str]:
    words = {
        "sequential": "alone",
        "threads": "beside CPU threads",
        "processes": "beside CPU processes",
    }
    parts = [f"{words[s]} {_ms(r.get('response_s'))}" for s, r in by.items() if s in words]
    out = ["The I/O thread's median response time: " + ", ".join(parts) + "."] if parts else []
    if "threads" in by:
        out.append(
            "Beside CPU-bound threads, each time its socket call returns the I/O thread must get the GIL back, "
            "and a busy thread lets go only after the switch interval: the convoy effect."
        )
    return out


_NEW_SCENARIOS = {
    "deadlock": _deadlock_body,
    "producer-consumer": _producer_consumer_body,
    "event-loop-lag": _lag_body,
    "convoy": _convoy_body,
}
"""Scenarios whose paragraph is not about speedups (lock orders, queues, lag, response times)."""
