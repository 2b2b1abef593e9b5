"""Start-up: launch to the first frame showing the lesson map, in a real terminal.

Both programs run in tmux at 80x24, launched the same way, interleaved, several
times each; the clock stops when `tmux capture-pane` first shows the marker text.
The reference is a minimal Textual hello-world, so the ratio is what the game
adds on top of Textual itself (target: <= 1.5x).

    python benchmarks/startup.py [--repeat 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.terminal import Terminal  # noqa: E402 - the one terminal helper, shared with the tests

HELLO = """
from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class Hello(App):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("hello-marker")
        yield Footer()


Hello().run()
"""

MAP_MARKER = "lessons done"
HELLO_MARKER = "hello-marker"


class Launcher:
    """Launches on one tmux server, kept up by an idle pane so its start is never timed."""

    def __init__(self) -> None:
        self.idle = Terminal("idle").start(["sleep", "3600"])

    def time_to_marker(
        self, command: list[str], env: dict[str, str], marker: str, timeout: float = 30
    ) -> tuple[float, float]:
        """(wall seconds, CPU seconds of the program) from launch to the marker on screen."""
        pane = Terminal("bench", socket=self.idle.socket)
        start = time.perf_counter()
        pane.start(command, env=env)
        try:
            pane.wait_for(marker, timeout=timeout, poll=0.005)
            wall = time.perf_counter() - start
            # CPU time barely depends on what else the shared machine does.
            assert pane.pid is not None
            cpu = psutil.Process(pane.pid).cpu_times()
            return wall, cpu.user + cpu.system
        finally:
            pane.end()
            time.sleep(0.2)  # let the killed program go before the next launch

    def close(self) -> None:
        self.idle.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    data = tempfile.mkdtemp(prefix="tutor-bench-")
    hello = os.path.join(data, "hello.py")
    with open(hello, "w") as handle:
        handle.write(HELLO)
    env = {
        "TERM": "xterm-256color",
        "TUTOR_DATA_DIR": data,
        "TUTOR_PROFILE": "bench",
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", data),
    }
    programs = {
        "hello": ([sys.executable, hello], HELLO_MARKER),
        "tutor": ([sys.executable, "-m", "tutor"], MAP_MARKER),
    }
    tmux = Launcher()
    times: dict[str, list[float]] = {name: [] for name in programs}
    cpus: dict[str, list[float]] = {name: [] for name in programs}
    try:
        # One warm-up of each: the first launch pays for a cold disk cache.
        for command, marker in programs.values():
            tmux.time_to_marker(command, env, marker)
        for _ in range(args.repeat):
            for name, (command, marker) in programs.items():
                wall, cpu = tmux.time_to_marker(command, env, marker)
                times[name].append(wall)
                cpus[name].append(cpu)
    finally:
        tmux.close()
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["tutor"] / medians["hello"]
    cpu_medians = {name: statistics.median(values) for name, values in cpus.items()}
    cpu_ratio = cpu_medians["tutor"] / cpu_medians["hello"]
    report = {
        "repeat": args.repeat,
        "hello_median_s": round(medians["hello"], 3),
        "tutor_median_s": round(medians["tutor"], 3),
        "ratio": round(ratio, 2),
        "target_ratio": 1.5,
        "hello_cpu_median_s": round(cpu_medians["hello"], 3),
        "tutor_cpu_median_s": round(cpu_medians["tutor"], 3),
        "cpu_ratio": round(cpu_ratio, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "hello_s": [round(v, 3) for v in times["hello"]],
        "tutor_s": [round(v, 3) for v in times["tutor"]],
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"minimal Textual app : median {medians['hello']:.3f} s  {report['hello_s']}")
        print(f"tutor (lesson map)  : median {medians['tutor']:.3f} s  {report['tutor_s']}")
        verdict = "ok" if ratio <= 1.5 else "over target"
        print(f"ratio               : {ratio:.2f}x (target <= 1.5x: {verdict})")
        print(
            f"CPU to first frame  : hello {cpu_medians['hello']:.3f} s, tutor {cpu_medians['tutor']:.3f} s,"
            f" ratio {cpu_ratio:.2f}x (steadier than wall time on a busy machine;"
            f" load average {os.getloadavg()[0]:.1f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
