"""Lab benchmark: every timed scenario through the lab and, side by side in the
same run, benchmarks/bare.py doing the same work with no lab (no runner, no
events, no sampling). Interleaved, several repeats, medians and ratios.

    python benchmarks/lab.py [--repeat 3] [--quick] [--only crunch,downloads]

Targets on a 2-core machine (issue 3): lab overhead <= 5% of wall time against
the bare script; the 10 Hz sampler <= 2% of one core; crunch processes >= 1.8x
and threads <= 1.1x; downloads threads and asyncio >= 5x; chef processes >= 2.5x;
compress threads >= 1.6x; startup processes (spawn) clearly slower than threads.
The machine is shared: each figure comes with the foreign load seen during the runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tutor.lab.client import LabRun, RunRequest  # noqa: E402
from tutor.lab.facts import machine_facts  # noqa: E402

BARE = Path(__file__).with_name("bare.py")

# (scenario, strategy, start_method)
PLAN = {
    "crunch": [("sequential", None), ("threads", None), ("processes", None), ("asyncio", None)],
    "downloads": [("sequential", None), ("threads", None), ("processes", None), ("asyncio", None)],
    "chef": [("sequential", None), ("threads", None), ("processes", None), ("asyncio", None)],
    "compress": [("sequential", None), ("threads", None), ("processes", None)],
    "startup": [
        ("threads", None),
        ("processes", "fork"),
        ("processes", "forkserver"),
        ("processes", "spawn"),
    ],
    "pipeline": [("sequential", None), ("threads", None), ("processes", None), ("hybrid", None)],
    # The hazard scenarios (no bare twin: their figure is not a speedup, so they get
    # no overhead column; the "figure" column shows what they measure).
    "deadlock": [("opposite", None), ("ordered", None), ("timeout", None), ("pool", None)],
    "producer-consumer": [("sequential", None), ("threads", None), ("processes", None)],
    "event-loop-lag": [("blocking", None), ("awaiting", None), ("to_thread", None)],
    "convoy": [("sequential", None), ("threads", None), ("processes", None)],
}
NO_BARE = {"deadlock", "producer-consumer", "event-loop-lag", "convoy"}


def figure_cell(result: dict) -> str:
    """What a hazard scenario measures besides wall time, in one cell."""
    if result.get("deadlock"):
        return f"deadlocked, stopped after {result['deadlock']['after_s']:.2f} s"
    if result.get("lag_s") is not None:
        return f"lag {result['lag_s'] * 1000:.1f} ms"
    if result.get("response_s") is not None:
        return f"response {result['response_s'] * 1000:.2f} ms"
    return ""


def bare_args(result: dict) -> list[str]:
    d, p = result.get("details") or {}, result.get("params") or {}
    args = [result["scenario"], result["strategy"], str(result["tasks"]), str(result["workers"])]
    if "steps_per_task" in d:
        args += ["--steps", str(d["steps_per_task"])]
    if "prep_steps" in d:
        args += ["--steps", str(d["prep_steps"]), "--boil", str(d["boil_s"])]
    if "delay_s" in d:
        args += ["--delay", str(d["delay_s"])]
    if "mib_per_task" in d:
        args += ["--mib", str(d["mib_per_task"])]
    if result["scenario"] == "pipeline":
        args += ["--delay", str(p.get("delay", 0.5))]
    if result.get("start_method"):
        args += ["--start-method", result["start_method"]]
    return args


def run_bare(result: dict) -> float:
    out = subprocess.run(
        [sys.executable, str(BARE), *bare_args(result)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)["wall_s"]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    plan = {k: v for k, v in PLAN.items() if not a.only or k in a.only.split(",")}
    facts = machine_facts()
    print(
        f"# machine: {facts['cores']} cores, Python {facts['python']}, GIL {'on' if facts['gil_enabled'] else 'off'}, "
        f"default start method {facts['default_start_method']}; repeats {a.repeat}{', quick' if a.quick else ''}"
    )
    rows = []
    data_by: dict[tuple[str, str], dict[str, list]] = {}
    for scenario, variants in plan.items():
        data: dict[tuple, dict[str, list]] = {
            v: {
                "lab": [],
                "bare": [],
                "ratio": [],
                "sampler": [],
                "load": [],
                "cap": [],
                "figure": [],
                "lag": [],
                "response": [],
                "deadlocks": [],
            }
            for v in variants
        }
        for k in range(a.repeat):
            order = variants[k % len(variants) :] + variants[: k % len(variants)]
            for strategy, method in order:
                result = LabRun(
                    RunRequest(scenario, strategy, quick=a.quick, start_method=method)
                ).run()
                if not result["ok"]:
                    print(f"  {scenario}/{strategy}: FAILED {result['error']}")
                    continue
                d = data[(strategy, method)]
                d["figure"].append(figure_cell(result))
                d["lag"].append(result.get("lag_s"))
                d["response"].append(result.get("response_s"))
                if result.get("deadlock"):
                    d["deadlocks"].append(result["deadlock"]["after_s"])
                    continue
                d["lab"].append(result["wall_s"])
                if scenario not in NO_BARE:
                    bare = run_bare(result)
                    d["bare"].append(bare)
                    d["ratio"].append(result["wall_s"] / bare)
                d["sampler"].append(result.get("sampler_cpu_percent") or 0.0)
                d["load"].append(result.get("foreign_load_percent") or 0.0)
                d["cap"].append(result.get("parallel_capacity") or 0.0)
        base = None
        data_by.update(
            {(scenario, strategy): d for (strategy, method), d in data.items() if method is None}
        )
        for (strategy, method), d in data.items():
            if d["deadlocks"] and not d["lab"]:
                rows.append(
                    {
                        "scenario": scenario,
                        "strategy": strategy,
                        "lab_s": None,
                        "bare_s": None,
                        "overhead": None,
                        "speedup": None,
                        "sampler": None,
                        "load": None,
                        "capacity": None,
                        "runs": len(d["deadlocks"]),
                        "figure": f"deadlocked in {len(d['deadlocks'])}/{len(d['deadlocks'])} runs, "
                        f"stopped after {statistics.median(d['deadlocks']):.2f} s (median)",
                    }
                )
                continue
            if not d["lab"]:
                continue
            lab = statistics.median(d["lab"])
            lags = [v for v in d["lag"] if v is not None]
            responses = [v for v in d["response"] if v is not None]
            shown = (
                f"lag {statistics.median(lags) * 1000:.1f} ms (median)"
                if lags
                else f"response {statistics.median(responses) * 1000:.2f} ms (median)"
                if responses
                else ""
            )
            if strategy == "sequential":
                base = lab
            rows.append(
                {
                    "scenario": scenario,
                    "strategy": strategy + (f" ({method})" if method else ""),
                    "lab_s": lab,
                    "bare_s": statistics.median(d["bare"]) if d["bare"] else None,
                    "overhead": statistics.median(d["ratio"]) - 1 if d["ratio"] else None,
                    "figure": shown,
                    "speedup": (base / lab)
                    if base and strategy != "sequential" and scenario != "convoy"
                    else (1.0 if strategy == "sequential" and scenario != "convoy" else None),
                    "sampler": statistics.median(d["sampler"]),
                    "load": max(d["load"]),
                    "capacity": statistics.median(d["cap"]),
                    "runs": len(d["lab"]),
                }
            )
    print()
    print(
        "| scenario | strategy | lab wall (median) | bare wall (median) | lab overhead | speedup vs sequential | sampler (% of a core) | max foreign load | capacity | figure |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        sp = f"{r['speedup']:.2f}x" if r["speedup"] else "-"
        lab = f"{r['lab_s']:.3f} s" if r["lab_s"] is not None else "-"
        bare = f"{r['bare_s']:.3f} s" if r["bare_s"] is not None else "-"
        overhead = f"{r['overhead']:+.1%}" if r["overhead"] is not None else "-"
        print(
            f"| {r['scenario']} | {r['strategy']} | {lab} | {bare} | {overhead} | {sp} | "
            + (
                f"{r['sampler']:.2f}% | {r['load']:.0f}% | {r['capacity']:.2f}x | "
                if r["sampler"] is not None
                else "- | - | - | "
            )
            + f"{r['figure']} |"
        )
    print()
    get = {(r["scenario"], r["strategy"]): r for r in rows}

    def sp(s: str, st: str) -> float:
        r = get.get((s, st))
        return r["speedup"] if r and r["speedup"] else float("nan")

    def speedup_check(s: str, st: str, bound: float, *, at_most: bool = False) -> tuple:
        """(name, met, figure): the speedup of ``st`` on ``s`` against ``bound`` (at least, or at most)."""
        value = sp(s, st)
        met = value <= bound if at_most else value >= bound
        return (f"{s} {st} {'<=' if at_most else '>='} {bound:g}x", met, f"{value:.2f}x")

    overheads = [r["overhead"] for r in rows if r["overhead"] is not None]
    samplers = [r["sampler"] for r in rows if r["sampler"] is not None] or [0.0]
    checks = [
        (
            "lab overhead median <= 5%",
            statistics.median(overheads) <= 0.05 if overheads else None,
            # Only scenarios with a bare twin have an overhead; without any, say so.
            f"{statistics.median(overheads):+.1%} (worst {max(overheads):+.1%})"
            if overheads
            else "no scenario with a bare twin was run",
        ),
        (
            "sampler <= 2% of one core",
            statistics.median(samplers) <= 2.0,
            f"{statistics.median(samplers):.2f}%",
        ),
        speedup_check("crunch", "processes", 1.8),
        speedup_check("crunch", "threads", 1.1, at_most=True),
        speedup_check("downloads", "threads", 5),
        speedup_check("downloads", "asyncio", 5),
        speedup_check("chef", "processes", 2.5),
        speedup_check("compress", "threads", 1.6),
    ]

    def median_of(scenario: str, strategy: str, key: str) -> float | None:
        values = [
            v for v in (data_by.get((scenario, strategy)) or {}).get(key, []) if v is not None
        ]
        return statistics.median(values) if values else None

    opposite = data_by.get(("deadlock", "opposite"))
    if opposite:
        caught = len(opposite["deadlocks"])
        total = caught + len(opposite["lab"])
        checks.append(
            (
                "deadlock opposite orders deadlock every run",
                caught == total,
                f"{caught}/{total} runs",
            )
        )
    if ("producer-consumer", "processes") in get:
        checks.append(speedup_check("producer-consumer", "processes", 1.5))
    blocking, awaiting = (
        median_of("event-loop-lag", "blocking", "lag"),
        median_of("event-loop-lag", "awaiting", "lag"),
    )
    if blocking and awaiting:
        checks.append(
            (
                "event loop lag: blocking >= 10x awaiting",
                blocking >= 10 * awaiting,
                f"{blocking * 1000:.1f} ms vs {awaiting * 1000:.1f} ms",
            )
        )
    threads, procs = (
        median_of("convoy", "threads", "response"),
        median_of("convoy", "processes", "response"),
    )
    if threads and procs:
        checks.append(
            (
                "convoy: response beside threads >= 2x beside processes",
                threads >= 2 * procs,
                f"{threads * 1000:.2f} ms vs {procs * 1000:.2f} ms",
            )
        )
    t, s = get.get(("startup", "threads")), get.get(("startup", "processes (spawn)"))
    if t and s:
        checks.append(
            (
                "startup spawn slower than threads",
                s["lab_s"] > 5 * t["lab_s"],
                f"threads {t['lab_s'] * 1000:.0f} ms, spawn {s['lab_s'] * 1000:.0f} ms ({s['lab_s'] / t['lab_s']:.0f}x)",
            )
        )
    # On a shared machine the CPU supply itself varies: judge parallel CPU
    # speedups also against the capacity probed right before each run.
    for scen, strat in (("crunch", "processes"), ("chef", "processes"), ("compress", "threads")):
        r = get.get((scen, strat))
        if r and r["speedup"] and r["capacity"]:
            checks.append(
                (
                    f"{scen} {strat} against the capacity measured",
                    None,
                    f"{r['speedup']:.2f}x with capacity {r['capacity']:.2f}x ({r['speedup'] / r['capacity']:.0%} of what the machine gave)",
                )
            )
    for name, ok, figure in checks:
        if figure.startswith("nan"):
            continue
        print(f"- {'INFO' if ok is None else 'PASS' if ok else 'MISS'} {name}: {figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
