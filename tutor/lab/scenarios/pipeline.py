"""A pipeline: download files (waiting), then post-process each (CPU work).

Threads are right for the first stage, processes for the second; ``hybrid``
uses each for what it is good at, against threads-only and processes-only.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tutor.lab.report import COMPUTE, IDLE, WAIT, phase
from tutor.lab.scenarios.crunch import calibrate, crunch
from tutor.lab.scenarios.downloads import fetch, start_server, stop_server


def post_process(task: int, data: bytes, steps: int) -> str:
    """CPU-heavy work on a downloaded file: pure Python, so it needs the GIL."""
    phase(COMPUTE, task)
    crunch(steps)
    digest = hashlib.sha256(data).hexdigest()[:12]
    phase(IDLE, task)
    return digest


def download(task: int, port: int) -> bytes:
    phase(WAIT, task)
    data = fetch(port, f"/file{task}")
    phase(IDLE, task)
    return data


def fetch_and_process(task: int, port: int, steps: int) -> str:
    return post_process(task, download(task, port), steps)


def prepare(ctx: Any) -> None:
    ctx.state["port"] = start_server(ctx, ctx.params["delay"], 64)
    ctx.sized("steps_per_task", lambda: calibrate(ctx.params["task_s"]))
    ctx.note(
        f"{ctx.tasks} files: {ctx.params['delay']:g} s to download each, "
        f"then {ctx.params['task_s']:g} s of CPU to process it"
    )


def run(ctx: Any) -> dict:
    port, steps = ctx.state["port"], ctx.work["steps_per_task"]
    n = ctx.tasks
    if ctx.strategy != "hybrid":
        digests = ctx.run_tasks(fetch_and_process, [(i, port, steps) for i in range(n)])
        return {"files": len(digests), "steps_per_task": steps}
    # Threads download; each file goes to the process pool as soon as it arrives.
    with ctx.process_pool(min(n, max(1, ctx.cores))) as cpu, ThreadPoolExecutor(n) as io:
        downloads = [io.submit(download, i, port) for i in range(n)]
        processed = [
            cpu.submit(post_process, i, f.result(), steps) for i, f in enumerate(downloads)
        ]
        digests = [f.result() for f in processed]
    return {
        "files": len(digests),
        "steps_per_task": steps,
        "cpu_processes": min(n, max(1, ctx.cores)),
    }


def finish(ctx: Any) -> None:
    stop_server(ctx)
