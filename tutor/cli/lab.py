"""`tutor run` and `tutor doctor`: the lab without the game."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tutor.errors import UsageError, whole_number
from tutor.lab.registry import SCENARIOS, ScenarioInfo, get_scenario

if TYPE_CHECKING:
    from tutor.lab.client import LabRun
    from tutor.lab.events import Event, Result, Summary
    from tutor.lab.interpreters import Interpreter
    from tutor.room.client import RoomTarget


def _count(raw: str | None, what: str, maximum: int) -> int | None:
    return None if raw is None else whole_number(raw, what, maximum)


def _params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--set takes KEY=VALUE, not {item!r}")
        params[key.strip()] = value.strip()
    if args.preset:
        params["preset"] = args.preset
    return params


class _Terminated(Exception):
    pass


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated()


def run_command(args: argparse.Namespace) -> int:
    from tutor.lab.client import LabRun, RunRequest
    from tutor.lab.compare import Comparison, ComparisonPlan

    if args.scenario not in SCENARIOS:
        raise UsageError(
            f"unknown scenario {args.scenario!r}; choose one of: {', '.join(SCENARIOS)}"
        )
    info = get_scenario(args.scenario)
    if not args.strategy and not args.compare:
        raise UsageError(f"choose --strategy S (one of: {', '.join(info.strategies)}) or --compare")
    tasks = _count(args.tasks, "--tasks", info.max_tasks)
    from tutor.lab.registry import MAX_WORKERS

    workers = _count(args.workers, "--workers", MAX_WORKERS)
    repeat = _count(args.repeat, "--repeat", 50) or 1
    params = _params(args)
    pythons = _pythons(args)
    if len(pythons) > 1 and not args.compare:
        raise UsageError(
            "several --python need --compare (one --python runs one strategy under it)"
        )
    room = _room_target(args)
    comparison: Comparison | None = None
    single: LabRun | None = None
    left_out: str | None = None
    try:
        if args.compare:
            variants, left_out = _variants(info, pythons)
            comparison = Comparison(
                ComparisonPlan(
                    info.name,
                    variants,
                    quick=args.quick,
                    tasks=tasks,
                    workers=workers,
                    start_method=args.start_method,
                    params=params,
                    probe=not args.no_probe,
                    max_rounds=repeat,
                    pythons={tag: found.path for tag, found in pythons.items()},
                )
            )
        else:
            only = next(iter(pythons.values()), None)
            request = RunRequest(
                info.name,
                args.strategy,
                tasks,
                workers,
                args.quick,
                args.start_method,
                dict(params),
                not args.no_probe,
                python=only.path if only is not None else None,
            )
            request.resolve()
            single = LabRun(request)
    except ValueError as exc:
        raise UsageError(str(exc)) from None

    signal.signal(signal.SIGTERM, _raise_terminated)
    output = (
        _JsonOutput(bool(args.compare))
        if args.json
        else _HumanOutput(info, compare_mode=bool(args.compare))
    )
    try:
        if comparison is not None:
            summaries: list[Summary] | list[Result] = comparison.run(
                on_event=output.event, on_run=output.run_started
            )
        else:
            assert single is not None
            with single:
                summaries = [single.run(output.event)]
    except ValueError as exc:
        # Checked again before each run of a comparison: free memory can fall meanwhile.
        output.close()
        print(f"tutor: stopped: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, _Terminated) as exc:
        if comparison is not None:
            comparison.cancel()
        if single is not None:
            single.cancel()
            single.close()
        output.close()
        print("tutor: run cancelled; every lab process was stopped", file=sys.stderr)
        return 143 if isinstance(exc, _Terminated) else 130
    output.close()
    output.finish(summaries, compared=bool(args.compare), left_out=left_out)
    status = 0 if all(s.get("ok") for s in summaries) else 1
    if room is not None:
        from tutor.room.headless import report_comparison

        # Shown and kept first; the room only gets a copy (exit 1 if it did not).
        status = max(status, 0 if report_comparison(room, summaries) else 1)
    return status


def _room_target(args: argparse.Namespace) -> RoomTarget | None:
    """`--join HOST[:PORT] --name NAME`: checked, and the password asked for, before any run."""
    if args.join is None:
        if args.name or args.fingerprint or args.identity:
            raise UsageError("--name, --fingerprint and --identity go with --join HOST[:PORT]")
        return None
    if not args.compare:
        raise UsageError("--join reports a comparison: add --compare")
    from tutor.paths import data_dir
    from tutor.room.headless import room_target

    return room_target(
        args.join,
        name=args.name,
        fingerprint=args.fingerprint,
        identity=args.identity,
        data_dir=data_dir(args.data_dir),
    )


def _pythons(args: argparse.Namespace) -> dict[str, Interpreter]:
    """tag -> Interpreter for each --python (UsageError naming what was found when one is wrong)."""
    from tutor.lab.interpreters import discover, resolve

    if not args.python:
        return {}
    found = discover() if any(not _is_path(p) for p in args.python) else None
    chosen: dict[str, Interpreter] = {}
    for spec in args.python:
        interpreter = resolve(spec, found)
        tag = interpreter.label
        n = 2
        while tag in chosen:
            if chosen[tag].path == interpreter.path:
                raise UsageError(f"--python {spec} names {interpreter.path} twice")
            tag, n = f"{interpreter.label}-{n}", n + 1
        chosen[tag] = interpreter
    return chosen


def _is_path(spec: str) -> bool:
    import os

    return os.sep in spec or spec.startswith(".")


def _variants(info: ScenarioInfo, pythons: dict[str, Interpreter]) -> tuple[list[str], str | None]:
    """Every strategy under every interpreter where it can run there, and a note on what
    was left out (the interpreters strategy needs 3.14)."""
    from tutor.lab.interpreters import interpreter_pool_problem

    variants: list[str] = []
    skipped: list[str] = []
    for strategy in info.strategies:
        for tag, found in pythons.items() or [(None, None)]:
            if strategy == "interpreters" and interpreter_pool_problem(
                found.path if found else None
            ):
                skipped.append(tag or "this Python")
                continue
            variants.append(f"{strategy}@{tag}" if tag is not None else strategy)
    if not skipped:
        return variants, None
    return variants, (
        f"interpreters: not run under {', '.join(skipped)} "
        "(InterpreterPoolExecutor needs Python 3.14+)"
    )


class _JsonOutput:
    """JSON Lines: every event; with --compare each run's result is a `run_result`
    and one `result` per strategy carries the estimates and intervals."""

    def __init__(self, compare_mode: bool) -> None:
        self.compare = compare_mode

    def event(self, event: Event) -> None:
        if self.compare and event.get("event") == "result":
            event = dict(event, event="run_result")
        sys.stdout.write(json.dumps(event, default=str) + "\n")
        sys.stdout.flush()

    def run_started(self, run: LabRun, round_index: int) -> None:
        pass

    def close(self) -> None:
        pass

    def finish(
        self, summaries: Sequence[Event], compared: bool, left_out: str | None = None
    ) -> None:
        if left_out:
            self.event({"event": "note", "t": time.monotonic(), "text": left_out})
        if compared:
            for s in summaries:
                sys.stdout.write(json.dumps(dict(s, event="result"), default=str) + "\n")
            sys.stdout.flush()


class _HumanOutput:
    def __init__(self, info: ScenarioInfo, compare_mode: bool) -> None:
        from rich.console import Console

        self.console = Console(stderr=False, highlight=False)
        self.err = Console(stderr=True, highlight=False)
        self.info = info
        self.status = (
            self.err.status(f"{info.title}: starting the lab...") if self.err.is_terminal else None
        )
        if self.status:
            self.status.start()
        self.strategy = ""
        self.round = 1
        self.lock = threading.Lock()

    def event(self, event: Event) -> None:
        kind = event.get("event")
        if kind == "started":
            self.strategy = event["strategy"]
            method = f", {event['start_method']}" if event.get("start_method") else ""
            again = f", round {self.round}" if self.round > 1 else ""
            self._say(
                f"{self.info.title}: {self.strategy} ({event['workers']} workers{method}{again})..."
            )
        elif kind == "note":
            self._say(f"{self.info.title}: {self.strategy}: {event['text']}")
        elif kind == "sample":
            self._say(
                f"{self.info.title}: {self.strategy}: {event['elapsed_s']:.1f} s, "
                f"CPU {event['cpu_percent']:.0f}% of {event['cores'] * 100}%"
            )

    def _say(self, text: str) -> None:
        if self.status:
            self.status.update(text)

    def close(self) -> None:
        if self.status:
            self.status.stop()

    def run_started(self, run: LabRun, round_index: int) -> None:
        self.round = round_index + 1

    def finish(
        self, summaries: Sequence[Event], compared: bool, left_out: str | None = None
    ) -> None:
        from rich.table import Table

        from tutor.lab.explain import explain
        from tutor.lab.verdict import CAPACITY_MEANING, measured_capacity

        first = summaries[0]
        rounds = max((s.get("rounds") or 1 for s in summaries), default=1)
        title = f"{self.info.title} ({first.get('tasks')} tasks"
        if compared:
            title += f", {rounds} round{'s' if rounds != 1 else ''} of the same work"
        from tutor.lab.compare import split_variant, variant_of

        tags = list(dict.fromkeys(split_variant(variant_of(s))[1] for s in summaries))
        several = len(tags) > 1
        table = Table(title=title + ")", title_justify="left")
        # Figures never wrap (a number split over lines misreads); notes go under the table.
        table.add_column("strategy", no_wrap=True)
        if several:
            table.add_column("Python", no_wrap=True)
        table.add_column("workers", justify="right", no_wrap=True)
        table.add_column("time", justify="right", no_wrap=True)
        # Cost scenarios have no one-at-a-time baseline: no speedup columns then.
        speeds = any(s.get("speedup") for s in summaries)
        if speeds:
            table.add_column("speedup", justify="right", no_wrap=True)
        if compared and speeds:
            table.add_column("interval", justify="right", no_wrap=True)
        table.add_column("CPU", justify="right", no_wrap=True)
        kind = next((s["memory_kind"] for s in summaries if s.get("memory_kind")), None)
        table.add_column(
            f"memory ({kind.upper()})" if kind else "memory", justify="right", no_wrap=True
        )
        fastest = any(s.get("estimator") == "fastest" for s in summaries)
        methods = {s.get("start_method") for s in summaries if s.get("start_method")}
        notes_by_strategy: list[tuple[str, list[str]]] = []
        for s in summaries:
            wall = f"{s['wall_s']:.3f} s" if s.get("wall_s") else "-"
            notes = []
            if s.get("start_method") and len(methods) > 1:
                notes.append(f"started with {s['start_method']}")
            if s.get("implausible"):
                notes.append(f"⚠ over {s.get('speedup_limit'):g}x: impossible here")
            if s.get("noisy"):
                notes.append(f"noisy {s.get('foreign_load_percent'):.0f}%")
            if s.get("spread") and s["spread"] > 0.25:
                notes.append(f"runs differ {s['spread']:.0%}")
            if s.get("deadlock"):
                notes.append(f"deadlocked: stopped after {s['deadlock']['after_s']:.1f} s")
            for figure, words in (("lag_s", "lag"), ("response_s", "response")):
                if s.get(figure) is not None:
                    notes.append(f"{words} {s[figure] * 1000:.1f} ms")
            if not s.get("ok"):
                notes.append(f"failed: {s.get('error')}")
            if notes:
                notes_by_strategy.append((variant_of(s) if several else s["strategy"], notes))
            speed = [f"{s['speedup']:.2f}x" if s.get("speedup") else "-"] if speeds else []
            interval = [_interval_cell(s)] if compared and speeds else []
            python = [_python_cell(s)] if several else []
            table.add_row(
                s["strategy"],
                *python,
                str(s.get("workers")),
                wall,
                *speed,
                *interval,
                f"{s['cpu_percent']:.0f}%" if s.get("cpu_percent") is not None else "-",
                f"{s['peak_mem_bytes'] / 2**20:.1f} MiB" if s.get("peak_mem_bytes") else "-",
            )
        self.console.print(table)
        for strategy, notes in notes_by_strategy:
            self.console.print(f"{strategy}: {', '.join(notes)}", markup=False, highlight=False)
        if left_out:
            self.console.print(left_out, markup=False, highlight=False)
        cap = measured_capacity({variant_of(s): s for s in summaries})
        legend = [f"CPU: 100% = one core; this machine has {first.get('cores')} usable."]
        if compared and rounds > 1:
            legend.append(
                "time: the fastest of the rounds (other programs only ever add time to CPU work)."
                if fastest
                else "time: the median of the rounds."
            )
        if compared and any(s.get("speedup") for s in summaries):
            legend.append(
                "speedup: against one at a time"
                + (" under the same Python" if several else "")
                + "; interval: where it lies with 90% confidence."
            )
        legend.append(
            "noisy N% = other programs used N% (over 15%) of the machine's CPU during the run."
        )
        if cap:
            legend.append(
                f"Parallel capacity {cap:.2f}x: "
                + CAPACITY_MEANING.format(cores=first.get("cores"))
                + "."
            )
        self.console.print(" ".join(legend), markup=False)
        for s in summaries:
            cases = (s.get("details") or {}).get("cases")
            if cases:
                self.console.print(f"[bold]{s['strategy']}[/bold]:")
                for case in cases:
                    seen = case.get("caller_sees")
                    line = (
                        case["case"]
                        + ": "
                        + (
                            (", ".join(seen) if isinstance(seen, list) else str(seen))
                            if seen is not None
                            else f"{case.get('got'):,} of {case.get('expected'):,} ({case.get('lost'):,} lost), "
                            f"{case.get('per_s') or 0:,}/s"
                        )
                    )
                    self.console.print(f"  - {line}", markup=False)
        self.console.print()
        if not several:
            self.console.print(explain(summaries), markup=False)
            return
        for tag in tags:
            group = [s for s in summaries if split_variant(variant_of(s))[1] == tag]
            self.console.print(
                f"Under Python {_python_cell(group[0])}: " + explain(group), markup=False
            )
        self.console.print(_single_thread_cost(summaries), markup=False)


def _python_cell(summary: Event) -> str:
    """ "3.13.5t, GIL off": which Python ran it and whether threads could run in parallel there."""
    label = f"{summary.get('python') or '?'}{'t' if summary.get('free_threaded_build') else ''}"
    gil = summary.get("gil_enabled")
    return label + (", GIL off" if gil is False else ", GIL on" if gil else "")


def _single_thread_cost(summaries: Sequence[Event]) -> str:
    """One at a time under each Python, against the first: what a build costs a single thread."""
    from tutor.lab.compare import split_variant, variant_of

    seq = [
        s for s in summaries if split_variant(variant_of(s))[0] == "sequential" and s.get("wall_s")
    ]
    if len(seq) < 2:
        return ""
    first = seq[0]
    parts = [
        f"{_python_cell(s)} took {s['wall_s'] / first['wall_s']:.2f}x the time of {_python_cell(first)}"
        for s in seq[1:]
    ]
    return "One at a time, the same work: " + "; ".join(parts) + "."


def _interval_cell(summary: Event) -> str:
    low, high = summary.get("speedup_low"), summary.get("speedup_high")
    if summary.get("strategy") == "sequential" or low is None or high is None:
        return ""
    return f"{low:.2f}-{high:.2f}"


def doctor_command(args: argparse.Namespace) -> int:
    import os
    import shutil

    from tutor.lab.facts import machine_facts
    from tutor.lab.interpreters import discover
    from tutor.paths import data_dir, profile_name

    facts = machine_facts()
    size = shutil.get_terminal_size((0, 0))
    colors = (
        "none (NO_COLOR set)"
        if os.environ.get("NO_COLOR")
        else os.environ.get("COLORTERM") or os.environ.get("TERM", "unknown")
    )
    report = {
        **facts,
        "terminal": {
            "columns": size.columns,
            "lines": size.lines,
            "colors": colors,
            "tty": sys.stdout.isatty(),
        },
        "data_dir": str(data_dir(args.data_dir)),
        "profile": profile_name(args.profile),
        "interpreters": [found.as_json() for found in discover()],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    cores = facts["cores"]
    lines = [
        (
            "Cores Python may use",
            str(cores),
            "processes can compute on at most this many cores at once"
            + (" (only one: processes cannot beat threads on CPU work here)" if cores == 1 else ""),
        ),
        ("Python", f"{facts['implementation']} {facts['python']}", ""),
        (
            "GIL",
            "on" if facts["gil_enabled"] else "off",
            "threads take turns running Python code"
            if facts["gil_enabled"]
            else "free-threaded: threads can compute in parallel",
        ),
        ("Free-threaded build", "yes" if facts["free_threaded_build"] else "no", ""),
        (
            "Default start method",
            facts["default_start_method"],
            {
                "fork": "fast, copies the parent",
                "forkserver": "a clean server process forks each worker",
            }.get(
                facts["default_start_method"], "a fresh interpreter per process: slower to start"
            ),
        ),
        ("Start methods here", ", ".join(facts["start_methods"]), ""),
        (
            "Thread switch interval",
            f"{facts['switch_interval_s'] * 1000:g} ms",
            "how often a busy thread is asked to let another run",
        ),
        (
            "Terminal",
            f"{size.columns}x{size.lines}",
            "the game needs at least 80x24"
            if size.columns and (size.columns < 80 or size.lines < 24)
            else "",
        ),
        ("Colours", colors, ""),
        ("Progress stored in", report["data_dir"], f"profile '{report['profile']}'"),
    ]
    from rich.console import Console
    from rich.table import Table

    table = Table(title="tutor doctor", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_column()
    for row in lines:
        table.add_row(*row)
    console = Console(highlight=False)
    console.print(table)
    console.print(_interpreters_table(report["interpreters"]))
    if not any(i["free_threaded"] and not i["error"] for i in report["interpreters"]):
        console.print(
            "No free-threaded Python found. To watch threads without a GIL: python.org's installer "
            "(option 'free-threaded binaries'), uv python install 3.14t, or pyenv install 3.13t.",
            markup=False,
        )
    return 0


def _interpreters_table(found: list[dict]) -> Any:
    """Usable Pythons one a line ("3.13.5t" = free-threaded); the others in one line each, why not."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title="Pythons the lab can run under (tutor run --python VERSION or PATH)",
        title_justify="left",
        box=None,
        padding=(0, 1),
    )
    for column in ("Python", "GIL", "start", "found in"):
        table.add_column(column, no_wrap=True)
    table.add_column("path", overflow="fold")
    for item in found:
        if not item["error"]:
            gil = "off" if item["gil_enabled"] is False else "on"
            table.add_row(
                item["label"], gil, item["default_start_method"] or "", item["source"], item["path"]
            )
    too_old = [i["version"] for i in found if i["error"] and "too old" in i["error"]]
    broken = [
        f"{i['path']} ({i['error']})" for i in found if i["error"] and "too old" not in i["error"]
    ]
    notes = []
    if any(i["free_threaded"] and not i["error"] for i in found):
        notes.append(Text('A "t" after the version: a free-threaded build, whose GIL can be off.'))
    if too_old:
        notes.append(Text(f"Too old for the lab (it needs 3.11+): {', '.join(too_old)}."))
    if broken:
        notes.append(Text("Not usable: " + "; ".join(broken) + "."))
    return Group(table, *notes)
