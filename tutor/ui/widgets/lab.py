"""The live lab's drawings: worker lanes on a time axis, the CPU meter, the comparison.

Each widget renders from a shared :class:`~tutor.ui.labmodel.LabModel`; the
screen calls ``refresh()`` from its 10 Hz timer, never per event.
"""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget

from tutor.ui.format import (
    FIGURE_MEASURES,
    bar,
    cpu_line,
    measured,
    mebibytes,
    seconds,
    strategy_label,
)
from tutor.ui.labmodel import CELL, COMPUTE, IDLE, READY, WAIT, LabModel, RunView

LABEL_WIDTH = 17
MAX_LANES = 24
FIXED_ROWS = 16
"""Rows of the lab screen that are not lanes or comparison rows (at 80x24)."""

STATE_MARK = {"queued": "·", "running": "▶", "done": "✓", "failed": "✗", "cancelled": "⊘"}
PHASE_STYLE = {
    COMPUTE: "$accent",
    WAIT: "$secondary",
    IDLE: "$text-muted",
    READY: "$accent-darken-3",
}


def _axis(span: float, width: int) -> str:
    """'0s ... mid ... end' under the lanes, exactly `width` cells."""
    if width < 12:
        return f"0–{span:g}s"[:width].ljust(width)
    left, mid, right = "0s", f"{span / 2:g}s", f"{span:g}s"
    cells = [" "] * width
    cells[0] = "╵"
    cells[width // 2] = "╵"
    cells[width - 1] = "╵"
    line = list("".join(cells))
    labels = [(0, left), (width // 2 - len(mid) // 2, mid), (width - len(right), right)]
    text = [" "] * width
    for start, label in labels:
        for i, ch in enumerate(label):
            if 0 <= start + i < width:
                text[start + i] = ch
    return "".join(line) + "\n" + "".join(text)


class LanesView(Widget):
    """One lane per worker on a shared time axis: on a CPU (█), ready but not running (▒),
    waiting (░) and idle (·) differ in shape."""

    DEFAULT_CSS = """
    LanesView { height: auto; min-height: 4; }
    """

    def __init__(self, model: LabModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model

    def _run(self) -> RunView | None:
        return self.model.shown

    @property
    def max_lanes(self) -> int:
        """As many lanes as fit the terminal with everything else on the screen."""
        room = self.app.size.height - FIXED_ROWS - len(self.model.order)
        return max(2, min(MAX_LANES, room))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        run = self._run()
        lanes = len(run.lanes) if run else 0
        # Past the limit, the last row says "… and N more workers".
        return max(min(lanes, self.max_lanes), 1) + 4

    def render(self) -> Content:
        width = self.size.width
        run = self._run()
        track = max(width - LABEL_WIDTH - 3, 8)
        span = self.model.span
        lines: list[Content] = []
        if run is not None:
            caption = f"Workers of: {strategy_label(run.strategy)} ({run.state})"
            caption += "   ← → other runs"
            lines.append(Content.styled(caption, "bold"))
        else:
            lines.append(Content(""))
        if run is None or not run.lanes:
            if run is None:
                waiting = "waiting for the first run…"
            elif run.state == "queued":
                waiting = "not started yet: it runs after the others"
            else:
                waiting = "starting the workload…"
            lines.append(Content.assemble(("".ljust(LABEL_WIDTH), ""), (waiting, "$text-muted")))
        else:
            lanes = list(run.lanes.values())
            limit = self.max_lanes
            visible = lanes if len(lanes) <= limit else lanes[: limit - 1]
            for number, lane in enumerate(visible):
                name = lane.label if lane.label and lane.label != lane.worker else ""
                name = name.replace("process ", "pid ")
                if lane.detail:
                    name = lane.detail  # who holds and waits for what says more than "thread 1"
                label = f"{lane.worker} {name}"[: LABEL_WIDTH - 1].ljust(LABEL_WIDTH)
                cells = lane.cells(span, track, run.now, run.origin or 0.0, number / len(lanes))
                parts: list[str | tuple[str, str]] = [label, "│"]
                # Group equal cells so a lane is a handful of spans, not one per cell.
                start = 0
                for i in range(1, len(cells) + 1):
                    if i == len(cells) or cells[i] != cells[start]:
                        chunk = cells[start:i]
                        phase = next((p for p, c in CELL.items() if c == chunk[0]), None)
                        parts.append((chunk, PHASE_STYLE.get(phase, "") if phase else ""))
                        start = i
                end = "✓" if lane.finished and lane.ok else "✗" if lane.finished else "│"
                parts.append(end)
                lines.append(Content.assemble(*parts))
            if len(visible) < len(lanes):
                lines.append(
                    Content(f"{'':<{LABEL_WIDTH}} … and {len(lanes) - len(visible)} more workers")
                )
        axis_top, axis_text = _axis(span, track).split("\n")
        lines.append(Content(" " * LABEL_WIDTH + " " + axis_top))
        lines.append(Content(" " * LABEL_WIDTH + " " + axis_text))
        legend: list[str | tuple[str, str]] = [
            " " * LABEL_WIDTH,
            (CELL[COMPUTE] * 2, PHASE_STYLE[COMPUTE]),
            " computing  ",
            (CELL[WAIT] * 2, PHASE_STYLE[WAIT]),
            " waiting  ",
            (CELL[IDLE] * 2, PHASE_STYLE[IDLE]),
            " idle",
        ]
        if run is not None and run.has_shares:
            legend += ["  ", (CELL[READY] * 2, PHASE_STYLE[READY]), f" {run.ready_words}"]
        lines.append(Content.assemble(*legend))
        return Content("\n").join(lines)


class CpuMeter(Widget):
    """Whole-run CPU against the machine's cores (100% = one core), memory, elapsed time."""

    DEFAULT_CSS = """
    CpuMeter { height: 2; }
    """

    def __init__(self, model: LabModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model

    def render(self) -> Content:
        run = self.model.shown
        if run is None:
            return Content("CPU —")
        cores = max(int(run.cores or 1), 1)
        cpu = run.cpu_percent
        width = max(self.size.width - 2, 10)
        # One bar segment per core, divided by │: "one core's worth" is the first segment.
        meter_width = min(max(width // 3, 2 * cores + cores - 1), width)
        per_core = max((meter_width - (cores - 1)) // cores, 1)
        load = (cpu or 0.0) / 100.0
        segments = []
        for core in range(cores):
            segments.append(bar(min(max(load - core, 0.0), 1.0), per_core, empty="·"))
        meter = "│".join(segments)
        first = Content.assemble("[", (meter, "$accent"), "] ", (cpu_line(cpu, cores), "bold"))
        # One clock: the timed part only (the same as the result's wall time).
        # PSS needs Linux's /proc; elsewhere RSS, which overstates processes: say so.
        kind = run.facts.get("memory_kind", "pss")
        mem = f"mem {mebibytes(run.mem_bytes)}" + ("" if kind == "pss" else f" ({kind.upper()})")
        facts = [mem, f"time {seconds(run.shown_s)}"]
        if run.workers:
            facts.append(f"{run.workers} worker{'s' if run.workers != 1 else ''}")
        if run.start_method:
            facts.append(f"start: {run.start_method}")
        if "@" in run.strategy and run.facts.get("python"):
            # A run under a named interpreter (threads@ft): which Python, and its GIL.
            build = "t" if run.facts.get("free_threaded_build") else ""
            gil = "GIL off" if run.facts.get("gil_enabled") is False else "GIL on"
            facts.append(f"Python {run.facts['python']}{build}, {gil}")
        if run.parallel_capacity:
            # Said in words: "capacity 1.8x" meant nothing to a learner.
            facts.append(f"{cores} busy cores did {run.parallel_capacity:.1f}x one")
        return Content.assemble(first, "\n", " · ".join(facts))


class CompareTable(Widget):
    """The comparison filling in: one row per planned run, bars on the shared time axis."""

    DEFAULT_CSS = """
    CompareTable { height: auto; }
    """

    def __init__(
        self, model: LabModel, chosen: str, measure: str = "wall_s", *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.model = model
        self.chosen = chosen
        self.measure = measure

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.model.order)

    def render(self) -> Content:
        model = self.model
        width = self.size.width
        span = model.span
        name_width = 26
        track = max(width - name_width - 22, 6)
        rows: list[Content] = []
        memory = self.measure == "peak_mem_bytes"
        if memory:
            # Memory challenges compare peak memory: bars against the largest so far.
            peaks = [self._peak(model.runs[s]) for s in model.order]
            longest = max((p for p in peaks if p), default=0.0) or 1.0
        for strategy in model.order:
            run = model.runs[strategy]
            name = strategy_label(strategy) + (" (yours)" if strategy == self.chosen else "")
            mark = STATE_MARK.get(run.state, "?")
            if model.shown is run and (model.finished or model.viewing is not None):
                name = "→ " + name
            if run.state in ("queued", "cancelled", "failed"):
                value_text, fraction = run.state, 0.0
            elif run.result is not None and run.result.get("deadlock"):
                value_text, fraction = "deadlocked", 1.0
            elif self.measure in FIGURE_MEASURES and run.state == "done":
                # Lag and response times: the comparison's median once it is over, else the
                # latest run; bars against the largest shown.
                figure = self._figure(strategy)
                figures = [self._figure(s) for s in model.order]
                top = max((f for f in figures if f), default=0.0) or 1.0
                value_text, fraction = measured(self.measure, figure), (figure or 0.0) / top
            elif memory:
                peak = self._peak(run)
                value_text = mebibytes(peak) + ("" if run.state == "done" else "…")
                fraction = (peak or 0.0) / longest
            elif run.state == "done":
                # Repeats: the comparison's estimate so far, the figure the verdict will use.
                value = model.estimate(strategy) or run.wall_s
                value_text, fraction = seconds(value), (value or 0.0) / span
            else:
                value_text, fraction = seconds(run.shown_s) + "…", run.shown_s / span
            cpu = (
                f"{run.cpu_percent:4.0f}% CPU"
                if run.cpu_percent is not None and run.state != "queued"
                else ""
            )
            style = "bold" if run.state == "running" else ""
            rows.append(
                Content.assemble(
                    (f"{mark} {name[: name_width - 2]:<{name_width - 2}}", style),
                    f"{value_text:>9} ",
                    (bar(fraction, track), "$accent"),
                    f" {cpu:>9}",
                )
            )
        return Content("\n").join(rows)

    def _figure(self, strategy: str) -> float | None:
        summary = self.model.summaries.get(strategy)
        source = summary if summary is not None else self.model.runs[strategy].result or {}
        value = source.get(self.measure)
        return float(value) if isinstance(value, (int, float)) else None

    @staticmethod
    def _peak(run: RunView) -> float | None:
        if run.result is not None and run.result.get("peak_mem_bytes") is not None:
            return float(run.result["peak_mem_bytes"])
        return float(run.mem_bytes) if run.mem_bytes is not None else None
