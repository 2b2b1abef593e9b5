"""How sure a comparison is: estimates, paired ratios and their intervals.

Small on purpose: a learner waits seconds, not minutes, so a comparison has
one to a handful of rounds. Each round runs every strategy once (in a rotating
order), so round k of two strategies saw the same minute of the machine, and
their ratio is steadier than a ratio of two medians: what the rest of the
machine did that minute slows both sides of a round alike.

The interval of a ratio is a bootstrap over the rounds: every way of drawing
the rounds again with replacement (all of them for up to 5 rounds, which is
exact and needs no random numbers), the estimate recomputed on each, and the
central 90% kept. It is widened to a floor, because even identical repeats say
nothing about the next minute of a shared machine: one run is only known to
about 10%, a few to about 5% (on a shared 2-core machine, repeats of one
single-thread run measured 0.84x to 1.09x of each other).
"""

from __future__ import annotations

import itertools
import random
import statistics
from collections.abc import Callable, Sequence

Estimator = Callable[[Sequence[float]], float]

FASTEST = "fastest"
MEDIAN = "median"

ONE_RUN_FLOOR = 0.10
MANY_RUNS_FLOOR = 0.05
SAME_WITHIN = 0.05
"""Two strategies closer than 5% are practically the same, whatever the statistics say."""

_EXACT_UP_TO = 5
_RESAMPLES = 2000
_LEVEL = 0.90


def estimator_for(kind: str) -> str:
    """Other programs only ever add time to CPU work, so its fastest run is the fair one.

    Waiting-dominated and cost scenarios vary both ways (a server, the
    allocator, the page cache): their median is the fair one.
    """
    return FASTEST if kind in ("cpu", "cpu-c", "mixed") else MEDIAN


def estimate(values: Sequence[float], how: str) -> float:
    if not values:
        raise ValueError("no values to estimate from")
    return min(values) if how == FASTEST else statistics.median(values)


def floor_for(rounds: int) -> float:
    return ONE_RUN_FLOOR if rounds <= 1 else MANY_RUNS_FLOOR


def paired(a: Sequence[float | None], b: Sequence[float | None]) -> list[tuple[float, float]]:
    """Rounds where both strategies produced a value, as (a, b) pairs."""
    return [
        (x, y)
        for x, y in zip(a, b, strict=False)
        if x is not None and y is not None and x > 0 and y > 0
    ]


def ratio_interval(
    pairs: Sequence[tuple[float, float]], how: str
) -> tuple[float, float, float] | None:
    """estimate(a) / estimate(b) over the paired rounds, with its interval (low, point, high)."""
    if not pairs:
        return None
    n = len(pairs)

    def ratio(sample: Sequence[tuple[float, float]]) -> float:
        return estimate([p[0] for p in sample], how) / estimate([p[1] for p in sample], how)

    point = ratio(pairs)
    if n == 1:
        draws = [point]
    elif n <= _EXACT_UP_TO:
        draws = [ratio(s) for s in itertools.product(pairs, repeat=n)]
    else:
        rng = random.Random(n)  # fixed: the same runs always give the same interval
        draws = [ratio([rng.choice(pairs) for _ in range(n)]) for _ in range(_RESAMPLES)]
    draws.sort()
    tail = (1 - _LEVEL) / 2
    low = draws[int(tail * (len(draws) - 1))]
    high = draws[int(round((1 - tail) * (len(draws) - 1)))]
    floor = floor_for(n)
    low = min(low, point * (1 - floor))
    high = max(high, point * (1 + floor))
    return low, point, high


def spread(values: Sequence[float]) -> float | None:
    """(max - min) / median of a strategy's runs: how much they differed."""
    if len(values) < 2:
        return None
    return (max(values) - min(values)) / statistics.median(values)


def separated(slower_over_faster: tuple[float, float, float] | None) -> bool:
    """True when the slower strategy is surely, and more than practically, slower."""
    if slower_over_faster is None:
        return False
    low, point, _ = slower_over_faster
    return low > 1.0 and point > 1.0 + SAME_WITHIN
