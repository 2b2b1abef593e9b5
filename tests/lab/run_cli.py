"""`tutor run` in a child process, started the way the lab's command-line tests start it."""

from __future__ import annotations

import subprocess
import sys

TUTOR = [sys.executable, "-m", "tutor"]


def start_json_run(args: list[str] | tuple[str, ...]) -> subprocess.Popen[str]:
    """`tutor run ARGS --json --no-probe`, its events on stdout (one JSON object a line)."""
    return subprocess.Popen(
        [*TUTOR, "run", *args, "--json", "--no-probe"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
