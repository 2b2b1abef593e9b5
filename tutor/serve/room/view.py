"""The room view: what the whole room measured, per challenge, as plain data and text.

For each challenge, every machine counts once (its latest verdict): how many
measured each winner, the speedups of the room's usual winner by core count
(a dot plot that fits 80 columns), and the machines that measured otherwise,
with what about them explains it (one core, free-threaded, spawn, heavy load).
The board shows it; the export writes the same reports. No Textual here.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.progress.values import printable
from tutor.serve.room import store

HEAVY_LOAD_PERCENT = 15.0
"""Other programs' share of the machine above which a run counts as under heavy load
(the lab's own "noisy" threshold)."""


@dataclass
class CoreGroup:
    cores: int
    speedups: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.speedups)


@dataclass
class Outlier:
    name: str
    winner: str | None
    cores: int
    reasons: list[str]


@dataclass
class ChallengeView:
    challenge: str
    machines: int
    winners: list[tuple[str, int]]
    """(strategy, machines) for each measured winner, most first; ties count as "tie"."""
    majority: str | None
    plotted: str | None
    """The strategy whose speedups are plotted: the room's usual winner, unless that is the baseline."""
    by_cores: list[CoreGroup] = field(default_factory=list)
    outliers: list[Outlier] = field(default_factory=list)
    unusual: list[Outlier] = field(default_factory=list)
    """Machines that agreed with the room but have a fact that makes them differ (1 core...)."""


@dataclass
class RoomView:
    learners: list[dict[str, Any]]
    challenges: list[ChallengeView]
    reports: int
    version: int
    read_at: float


def machine_reasons(verdict: dict[str, Any]) -> list[str]:
    """What about this machine or run can make its result differ from the room's."""
    machine = verdict.get("machine") or {}
    reasons = []
    if machine.get("cores") == 1:
        reasons.append("1 core")
    if machine.get("free_threaded_build") and not machine.get("gil_enabled"):
        reasons.append("free-threaded")
    if machine.get("start_method") == "spawn":
        reasons.append("spawn")
    load = max(
        (s.get("foreign_load_percent") or 0.0 for s in verdict.get("strategies") or []), default=0.0
    )
    if load > HEAVY_LOAD_PERCENT:
        reasons.append(f"heavy load ({load:.0f}%)")
    return reasons


def _winner(verdict: dict[str, Any]) -> str:
    if verdict.get("tied"):
        return "tie"
    return verdict.get("winner") or "none"


def _speedup(verdict: dict[str, Any], strategy: str | None) -> float | None:
    for s in verdict.get("strategies") or []:
        if s.get("strategy") == strategy and s.get("ok") and not s.get("implausible"):
            return s.get("speedup")
    return None


def challenge_view(challenge: str, latest: list[dict[str, Any]]) -> ChallengeView:
    counts = Counter(_winner(v) for v in latest)
    winners = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    majority = next((w for w, _ in winners if w not in ("tie", "none")), None)
    plotted = majority
    if plotted in (None, "sequential"):
        # A race the baseline won still has a parallel strategy worth plotting.
        names = Counter(
            s.get("strategy") for v in latest for s in v.get("strategies") or [] if s.get("speedup")
        )
        plotted = next((n for n, _ in names.most_common() if n != "sequential"), plotted)
    groups: dict[int, list[float]] = {}
    for v in latest:
        value = _speedup(v, plotted)
        if value is not None:
            groups.setdefault(int((v.get("machine") or {}).get("cores") or 1), []).append(
                float(value)
            )
    view = ChallengeView(
        challenge=challenge,
        machines=len(latest),
        winners=winners,
        majority=majority,
        plotted=plotted,
        by_cores=[CoreGroup(c, sorted(s)) for c, s in sorted(groups.items())],
    )
    for v in latest:
        cores = int((v.get("machine") or {}).get("cores") or 1)
        reasons = machine_reasons(v)
        entry = Outlier(v["name"], v.get("winner"), cores, reasons)
        if majority is not None and _winner(v) not in (majority, "tie"):
            entry.reasons = reasons or ["no known reason: worth a look"]
            view.outliers.append(entry)
        elif reasons:
            view.unusual.append(entry)
    return view


def read_view(data_dir: Path) -> RoomView | None:
    """The whole room now, or None if nobody ever joined."""
    conn = store.open_reader(data_dir)
    if conn is None:
        return None
    try:
        conn.execute("BEGIN")  # one snapshot for everything below
        version = store.data_version(conn)
        learners = store.learners(conn)
        latest, total = store.latest_verdicts(conn)
        conn.execute("COMMIT")
    finally:
        conn.close()
    per: dict[str, list[dict[str, Any]]] = {}
    for v in latest:
        per.setdefault(v["challenge"], []).append(v)
    return RoomView(
        learners=learners,
        challenges=[challenge_view(c, vs) for c, vs in sorted(per.items())],
        reports=total,
        version=version,
        read_at=time.time(),
    )


# -- text for an 80-column terminal -------------------------------------------------------


def challenge_title(challenge: str) -> str:
    if challenge.startswith("run:"):
        return f"{challenge[4:]} (tutor run)"
    return challenge


def dot_plot(view: ChallengeView, width: int = 78) -> list[str]:
    """Speedups by core count: one row per core count, one column per speedup step.

    A cell shows how many machines fall in it (● for one, 2-9, + for more);
    each row ends with its median. Fits ``width`` columns (at least 40).
    """
    if not view.by_cores:
        return ["no speedup within what the machines can give, yet"]
    top = max(max(g.speedups) for g in view.by_cores)
    top = max(2.0, float(int(top) + 1))
    label_w, tail_w = 14, 8
    cells = max(10, width - label_w - tail_w - 2)
    lines = [" " * label_w + _axis(top, cells)]
    for group in view.by_cores:
        bins = [0] * cells
        for value in group.speedups:
            bins[min(cells - 1, int(value / top * cells))] += 1
        row = "".join("·" if n == 0 else "●" if n == 1 else str(n) if n < 10 else "+" for n in bins)
        label = (
            f"{group.cores:>3} core{'s' if group.cores != 1 else ' '} ({len(group.speedups):>3})"
        )
        lines.append(f"{label:<{label_w}}|{row}| {group.median:.2f}x")
    return lines


def _axis(top: float, cells: int) -> str:
    """Tick labels (0x, 1x, ...) above the plot, one column per cell, plus the frame."""
    axis = [" "] * (cells + 2)
    step = 1 if top <= 8 else int(top // 8) + 1
    mark = 0
    while mark <= top:
        col = 1 + min(cells - 1, int(mark / top * cells))
        text = f"{mark}x"
        if col + len(text) <= len(axis):
            axis[col : col + len(text)] = text
        mark += step
    return "".join(axis)


def summary_lines(view: ChallengeView, width: int = 78) -> list[str]:
    """The challenge as text: winners, the dot plot, outliers. Names are made printable."""
    lines = [
        f"{challenge_title(view.challenge)}: {view.machines} machine{'s' if view.machines != 1 else ''}"
    ]
    lines.append("winners: " + ", ".join(f"{w} on {n}" for w, n in view.winners))
    if view.plotted:
        lines.append(
            f"{view.plotted} speedup over one at a time, by usable cores (median at the right):"
        )
        lines += dot_plot(view, width)
    if view.outliers:
        lines.append("measured otherwise:")
        for o in view.outliers[:20]:
            lines.append(
                printable(f"  {o.name}: {o.winner or 'none'} won; {', '.join(o.reasons)}")[:width]
            )
        if len(view.outliers) > 20:
            lines.append(f"  ... and {len(view.outliers) - 20} more (see the export)")
    if view.unusual:
        shown = ", ".join(printable(f"{o.name} ({', '.join(o.reasons)})") for o in view.unusual[:6])
        more = f" and {len(view.unusual) - 6} more" if len(view.unusual) > 6 else ""
        lines.append(f"agreed despite: {shown}{more}"[: width * 2])
    return lines
