"""Helpers for the web serve tests: the real `tutor serve web` with a lesson of ours."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import psutil
from serve_helpers import free_port

LESSON = """---
id: web-crunch
title: Web crunch
order: 0
summary: A long run to leave in the middle of.
topics: [gil]
minutes: 1
language: en
---

# Web crunch

```challenge
id: web-crunch-run
scenario: crunch
params: {tasks: 8, workers: 2, task_s: 2.5}
question: "Which finishes first?"
choices:
  - strategy: processes
    label: "Processes"
  - strategy: threads
    label: "Threads"
explain:
  threads: "Threads."
  processes: "Processes."
```
"""


def start_server(tmp_path: Path, *options: str) -> tuple[subprocess.Popen[bytes], int]:
    lessons = tmp_path / "lessons"
    lessons.mkdir(exist_ok=True)
    (lessons / "web.md").write_text(LESSON)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tutor", "--data-dir", str(tmp_path / "data")]
        + ["serve", "web", "--port", str(port), "--lessons", str(lessons), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    return proc, port


def tree(pid: int) -> list[int]:
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_all(pids: list[int]) -> None:
    for pid in pids:  # a failed run must not leave them to the next tests
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).kill()
