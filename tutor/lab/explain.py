"""One paragraph that says what a comparison's numbers mean on this machine."""

from __future__ import annotations

from tutor.lab.registry import get_scenario
from tutor.lab.verdict import judge


def _x(value: float | None) -> str:
    return f"{value:.1f}x" if value else "n/a"


def _mib(value: float | None) -> str:
    return f"{value / 2**20:.1f} MiB" if value else "n/a"


def explain(summaries: list[dict]) -> str:
    """Explain a comparison (results of :func:`tutor.lab.client.compare`) in plain words."""
    ok = [s for s in summaries if s.get("ok") and s.get("wall_s")]
    if not ok:
        errors = "; ".join(f"{s['strategy']}: {s.get('error')}" for s in summaries if s.get("error"))
        return f"Nothing finished, so nothing can be compared. {errors}".strip()
    first = ok[0]
    info = get_scenario(first["scenario"])
    by = {s["strategy"]: s for s in summaries}
    measure = "peak_mem_bytes" if info.name == "memory" else "wall_s"
    verdict = judge(by, chosen=ok[0]["strategy"], measure=measure)
    cores = first.get("cores") or 1
    sp = verdict.speedups
    machine = (
        f"On this machine ({cores} core{'s' if cores != 1 else ''}, Python {first.get('python')}, "
        f"GIL {'on' if first.get('gil_enabled') else 'off'})"
    )
    tied = sorted(verdict.tied)
    if len(ok) == 1 or info.kind == "demo":
        lead = machine  # one run, or a demonstration: there is no race to win
    else:
        lead = f"{machine}, {verdict.winner} came out best" + (
            f" (tied with {', '.join(s for s in tied if s != verdict.winner)})" if len(tied) > 1 else ""
        )
    body = ""
    if info.kind == "io":
        body = (
            f"Threads were {_x(sp.get('threads'))} and asyncio {_x(sp.get('asyncio'))} faster than one at a time: "
            "a download is almost all waiting, and a waiting thread releases the GIL, so all the waits overlap. "
            f"Processes ({_x(sp.get('processes'))}) overlap the waits too, but each costs a whole interpreter."
        )
    elif info.kind == "cpu":
        body = (
            f"Threads managed {_x(sp.get('threads'))}: pure-Python work needs the GIL, so threads take turns. "
            f"Processes reached {_x(sp.get('processes'))}, each with its own interpreter and GIL, "
            f"limited by the {cores} core{'s' if cores != 1 else ''} here."
        )
        if cores == 1:
            body += " With one core, processes cannot win: there is nothing to run them in parallel on."
    elif info.kind == "mixed":
        body = (
            f"Threads {_x(sp.get('threads'))}, processes {_x(sp.get('processes'))}"
            + (f", hybrid {_x(sp.get('hybrid'))}" if "hybrid" in sp else f", asyncio {_x(sp.get('asyncio'))}")
            + ": the waiting overlaps for everyone, but the CPU part needs the GIL for threads and asyncio, "
            "so only processes also compute in parallel."
        )
    elif info.kind == "cpu-c":
        body = (
            f"Threads reached {_x(sp.get('threads'))}: zlib is C code that releases the GIL while it works, "
            f"so threads compress in parallel too (processes: {_x(sp.get('processes'))})."
        )
    elif info.name == "startup":
        t, p = by.get("threads", {}).get("wall_s"), by.get("processes", {}).get("wall_s")
        if t and p:
            body = (
                f"Starting and joining {first['tasks']} threads took {t * 1000:.0f} ms; "
                f"{first['tasks']} processes ({by['processes'].get('start_method')}) took {p * 1000:.0f} ms, "
                f"{p / t:.0f}x longer: a process is a whole interpreter."
            )
    elif info.name == "memory":
        per = {s: (r.get("details") or {}).get("per_worker_bytes") for s, r in by.items()}
        body = "Memory per idle worker: " + ", ".join(
            f"{s} {per[s] / 1024:.0f} KiB" for s in per if per[s] is not None
        ) + f" ({(first.get('details') or {}).get('memory_kind', 'pss').upper()} of the whole process tree)."
    elif info.name == "sharing":
        lost = {s: (r.get("details") or {}).get("lost_updates") for s, r in by.items()}
        body = "Lost updates without a lock: " + ", ".join(f"{s} {v:,}" for s, v in lost.items() if v is not None) + (
            ". With a lock (or Value.get_lock()) nothing is lost, at a price in speed."
        )
    elif info.name == "crash":
        body = (
            "A thread's exception stays in that thread (join() does not re-raise it); a pool hands it to the "
            "caller through Future.result(); a killed worker process breaks a ProcessPoolExecutor, while the "
            "caller survives."
        )
    return " ".join(part for part in (lead + ".", body, " ".join(verdict.reasons)) if part)
