"""Interpreters side by side: the same work under the installed Python and a free-threaded build.

    python benchmarks/interpreters.py [--python PATH_OR_VERSION] [--repeat 5] [--comparisons 3] [--quick]

For crunch (pure Python) and chef (0.2 s of CPU and 0.5 s of waiting per dish),
one comparison runs sequential, threads and processes under both interpreters,
interleaved (each round runs all six in a rotating order, the comparison
engine of ``tutor.lab.compare``), with the work calibrated once and given to
every run. It reports, per interpreter, each strategy's speedup over one at a
time under the same interpreter (fastest round for CPU-bound work, median for
chef, with the 90% interval), and the free-threaded build's single-thread
cost: its one-at-a-time time over the installed Python's, for the same work.

``--python`` defaults to the free-threaded build ``scripts/free-threaded-python --find`` finds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tutor.lab.compare import Comparison, ComparisonPlan, variant_of  # noqa: E402
from tutor.lab.facts import machine_facts  # noqa: E402
from tutor.lab.interpreters import resolve  # noqa: E402

STRATEGIES = ("sequential", "threads", "processes")


def free_threaded() -> str:
    found = subprocess.run(
        [str(ROOT / "scripts" / "free-threaded-python"), "--find"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        sys.exit("no free-threaded Python found: run scripts/free-threaded-python (it builds one)")
    return found.stdout.strip().splitlines()[-1]


def one(scenario: str, pythons: dict[str, str], repeat: int, quick: bool) -> dict:
    variants = [f"{s}@{tag}" for s in STRATEGIES for tag in pythons]
    plan = ComparisonPlan(
        scenario,
        variants,
        quick=quick,
        max_rounds=repeat,
        min_rounds=repeat,
        pythons=pythons,
        tasks=4,
    )
    t0 = time.monotonic()
    summaries = Comparison(plan).run()
    by = {variant_of(s): s for s in summaries}
    out: dict = {"scenario": scenario, "took_s": round(time.monotonic() - t0, 1), "variants": {}}
    for key, s in by.items():
        out["variants"][key] = {
            "ok": s["ok"],
            "error": s.get("error"),
            "wall_s": s["wall_s"],
            "speedup": s["speedup"],
            "low": s["speedup_low"],
            "high": s["speedup_high"],
            "limit": s["speedup_limit"],
            "gil_enabled": s["gil_enabled"],
            "python": s["python"],
            "foreign_load_percent": s["foreign_load_percent"],
            "work": s["work"],
        }
    seq = {tag: by.get(f"sequential@{tag}", {}).get("wall_s") for tag in pythons}
    tags = list(pythons)
    if all(seq.values()):
        out["single_thread_cost"] = round(seq[tags[1]] / seq[tags[0]], 3)
    out["same_work"] = (
        len({json.dumps(v["work"], sort_keys=True) for v in out["variants"].values()}) == 1
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--python", help="the other interpreter (default: a free-threaded build found here)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="rounds per comparison (default 5)")
    parser.add_argument(
        "--comparisons", type=int, default=3, help="comparisons per scenario (default 3)"
    )
    parser.add_argument("--quick", action="store_true", help="the lab's quick sizes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    other = resolve(args.python) if args.python else resolve(free_threaded())
    pythons = {"installed": sys.executable, other.label: other.path}
    facts = machine_facts()
    print(
        f"machine: {facts['cores']} usable cores, {facts['platform']} {facts['machine']}; "
        f"installed CPython {facts['python']} (GIL on) vs {other.describe()}",
        file=sys.stderr,
    )
    results = []
    for k in range(args.comparisons):
        for scenario in ("crunch", "chef"):
            r = one(scenario, pythons, args.repeat, args.quick)
            results.append(r)
            print(f"comparison {k + 1}, {scenario}: {r['took_s']} s", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    tag = other.label
    print("| scenario | # | Python | threads | processes | one at a time | same work | load |")
    print("|---|---|---|---|---|---|---|---|")
    for i, r in enumerate(results):
        v = r["variants"]
        for t in pythons:

            def cell(s: str, v: dict = v, t: str = t) -> str:
                x = v.get(f"{s}@{t}") or {}
                if x.get("speedup") is None:
                    return "-" if x.get("ok", True) else f"failed: {x.get('error')}"
                return f"{x['speedup']:.2f}x ({x['low']:.2f}-{x['high']:.2f})"

            seq = (v.get(f"sequential@{t}") or {}).get("wall_s")
            name = f"{v[f'sequential@{t}']['python']}{'t' if t == tag else ''}"
            gil = (
                "GIL off" if (v.get(f"threads@{t}") or {}).get("gil_enabled") is False else "GIL on"
            )
            loads = [
                x["foreign_load_percent"]
                for x in v.values()
                if x.get("foreign_load_percent") is not None
            ]
            print(
                f"| {r['scenario']} | {i // 2 + 1} | {name}, {gil} | {cell('threads')} | {cell('processes')} "
                f"| {seq:.3f} s | {'yes' if r['same_work'] else 'NO'} | {max(loads, default=0):.0f}% |"
            )
    for scenario in ("crunch", "chef"):
        costs = [
            r["single_thread_cost"]
            for r in results
            if r["scenario"] == scenario and "single_thread_cost" in r
        ]
        if costs:
            print(
                f"\n{scenario}: one at a time under {tag} took {statistics.median(costs):.2f}x the installed "
                f"Python's time for the same work (median of {len(costs)}; {min(costs):.2f}-{max(costs):.2f})"
            )


if __name__ == "__main__":
    main()
