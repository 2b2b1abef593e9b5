"""Verdict soundness: play every built-in challenge K times, headless, through run_plan.

    python benchmarks/verdicts.py [--plays 5] [--only gil-crunch,kitchen-chef] [--full]

Each play is exactly what the game does for a learner who picks the lesson's
expected winner: ``run_plan`` (the learner's pick first, the baseline when a
speedup is asked for, the game's rounds and 12 s budget), a fresh calibration
per play, then ``judge`` among the challenge's choices. Quick sizes unless
``--full`` (the game's own sizes).

Per challenge it reports how often the verdict agreed with itself (the same
settled winner, or the same tie, as the most common outcome), how often the
expected winner was judged right, the median and worst time to a verdict, the
rounds used, and how many figures were marked implausible. Targets (issue 11,
quiet 2-core machine): gil-crunch agrees with itself in >= 19 of 20 plays; the
median time to a quick challenge's verdict <= 12 s.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tutor.lab.compare import Comparison  # noqa: E402
from tutor.lab.facts import machine_facts  # noqa: E402
from tutor.lab.sampler import system_busy_seconds  # noqa: E402
from tutor.lab.verdict import judge  # noqa: E402
from tutor.lessons.loader import load_catalog  # noqa: E402
from tutor.lessons.plan import run_plan  # noqa: E402


def play(challenge, quick: bool) -> dict:
    chosen = challenge.expect.winner if challenge.expect else challenge.strategies[0]
    plan = run_plan(challenge, chosen, quick=quick)
    t0 = time.monotonic()
    summaries = Comparison(plan).run()
    took = time.monotonic() - t0
    by = {s["strategy"]: s for s in summaries}
    contenders = {s: by[s] for s in challenge.strategies if s in by}
    verdict = judge(contenders, chosen, measure=challenge.measure)
    outcome = (
        "failed"
        if verdict.winner is None
        else verdict.winner
        if verdict.settled
        else "tie:" + "+".join(sorted(verdict.tied))
    )
    return {
        "outcome": outcome,
        "right": verdict.correct,
        "seconds": round(took, 2),
        "rounds": max((s.get("rounds") or 0 for s in summaries), default=0),
        "implausible": sorted(s["strategy"] for s in summaries if s.get("implausible")),
        "speedups": {s["strategy"]: s.get("speedup") for s in summaries},
        "noisy": verdict.noisy,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--plays", type=int, default=5)
    parser.add_argument("--only", default="", help="challenge ids, comma-separated")
    parser.add_argument(
        "--full", action="store_true", help="the game's full sizes instead of quick ones"
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON line per play, then the table"
    )
    args = parser.parse_args()
    catalog = load_catalog()
    wanted = {c for c in args.only.split(",") if c}
    pairs = [(lesson, c) for lesson, c in catalog.challenges if not wanted or c.id in wanted]
    facts = machine_facts()
    print(
        f"# {len(pairs)} challenges x {args.plays} plays, {'full' if args.full else 'quick'} sizes; "
        f"{facts['cores']} cores, Python {facts['python']}, GIL {'on' if facts['gil_enabled'] else 'off'}, "
        f"{facts['default_start_method']}",
        flush=True,
    )
    plays: dict[str, list[dict]] = collections.defaultdict(list)
    busy0, wall0 = system_busy_seconds(), time.monotonic()
    # Interleaved: play 1 of every challenge, then play 2 of every challenge, ...
    for k in range(args.plays):
        for _, challenge in pairs:
            outcome = play(challenge, quick=not args.full)
            plays[challenge.id].append(outcome)
            if args.json:
                print(json.dumps({"challenge": challenge.id, "play": k + 1, **outcome}), flush=True)
    load = 100 * (system_busy_seconds() - busy0) / ((time.monotonic() - wall0) * facts["cores"])
    print(f"# machine busy {load:.0f}% on average during the benchmark (its own runs included)")
    print(
        f"{'challenge':<22}{'agree':>7}{'outcome':>28}{'right':>7}{'median s':>10}{'max s':>7}"
        f"{'rounds':>8}{'implaus.':>9}"
    )
    for _, challenge in pairs:
        results = plays[challenge.id]
        outcomes = collections.Counter(r["outcome"] for r in results)
        top, agree = outcomes.most_common(1)[0]
        seconds = [r["seconds"] for r in results]
        rounds = statistics.median(r["rounds"] for r in results)
        implausible = sum(bool(r["implausible"]) for r in results)
        right = sum(r["right"] for r in results)
        print(
            f"{challenge.id:<22}{agree:>4}/{len(results):<2}{top[:27]:>28}{right:>4}/{len(results):<2}"
            f"{statistics.median(seconds):>10.1f}{max(seconds):>7.1f}{rounds:>8g}{implausible:>6}/{len(results):<2}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
