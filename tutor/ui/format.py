"""Plain-text formatting shared by screens and widgets (no Textual here)."""

from __future__ import annotations

from tutor.wording import duration

STRATEGY_LABELS: dict[str, str] = {
    "sequential": "one at a time",
    "threads": "threads",
    "processes": "processes",
    "asyncio": "asyncio",
    "hybrid": "threads + processes",
    "opposite": "opposite orders",
    "ordered": "one order",
    "timeout": "time-outs",
    "pool": "same pool",
    "blocking": "time.sleep",
    "awaiting": "asyncio.sleep",
    "to_thread": "to_thread",
}


INTERPRETER_LABELS: dict[str, str] = {"gil": "GIL", "ft": "no GIL"}
"""Short: the lab's table has 24 cells for a name, "(yours)" included."""


def strategy_label(strategy: str) -> str:
    """ "threads" -> "threads"; a variant under a named interpreter: "threads@ft" -> "threads (no GIL)"."""
    base, at, tag = strategy.partition("@")
    label = STRATEGY_LABELS.get(base, base)
    return f"{label} ({INTERPRETER_LABELS.get(tag, tag)})" if at else label


def seconds(value: float | None) -> str:
    """A duration the way a person reads it (`tutor.wording.duration`, shared with the CLI)."""
    return duration(value)


def mebibytes(value: float | None) -> str:
    if value is None:
        return "—"
    mib = value / (1024 * 1024)
    return f"{mib:.0f} MiB" if mib >= 10 else f"{mib:.1f} MiB"


def speedup(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def bar(fraction: float, width: int, *, full: str = "█", empty: str = " ") -> str:
    """A horizontal bar with eighth-block resolution, exactly `width` cells."""
    width = max(width, 0)
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = int(round(fraction * width * 8))
    whole, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part] if part and full == "█" else ""
    text = full * whole + partial
    return (text + empty * width)[:width]


def cpu_line(cpu_percent: float | None, cores: int | None) -> str:
    """Whole-run CPU against what the machine has: 100% = one core, never per-core bars.

    Per-core bars mislead (two GIL-bound threads look like two half-busy cores);
    one total against "N x 100%" makes "2 threads, one core's worth" obvious.
    """
    cores = max(int(cores or 1), 1)
    if cpu_percent is None:
        return f"CPU —  of {cores * 100}% ({cores} core{'s' if cores != 1 else ''})"
    return f"CPU {cpu_percent:3.0f}% of {cores * 100}% ({cores} core{'s' if cores != 1 else ''})"


FIGURE_MEASURES = ("lag_s", "response_s")
"""Measures that are short durations, shown in milliseconds."""


def measured(measure: str, value: float | None) -> str:
    """A challenge's figure the way it reads best: seconds, MiB, or milliseconds for lag and response."""
    if measure == "peak_mem_bytes":
        return mebibytes(value)
    if measure in FIGURE_MEASURES:
        return "—" if value is None else f"{value * 1000:.1f} ms"
    return seconds(value)
