"""Compression in C: zlib releases the GIL while it works, so threads run in parallel.

The data is made inside each worker (cheap C-level byte operations): pickling
large buffers to processes would cost more than the work itself.
"""

from __future__ import annotations

import os
import zlib
from typing import Any

from tutor.lab.report import COMPUTE, IDLE, phase


def make_data(mib: int) -> bytes:
    """Text-like data: random hex repeated in 64 KiB blocks (compresses about 2:1)."""
    block = os.urandom(32 * 1024).hex().encode()
    return block * (mib * 16)


def compress_task(task: int, mib: int) -> int:
    """Compress mib MiB with zlib: C code that releases the GIL while it runs."""
    data = make_data(mib)
    phase(COMPUTE, task)
    size = len(zlib.compress(data, 6))
    phase(IDLE, task)
    return size


def prepare(ctx: Any) -> None:
    ctx.note(f"each task compresses {int(ctx.params['mib'])} MiB with zlib (level 6)")


def run(ctx: Any) -> dict:
    mib = int(ctx.params["mib"])
    sizes = ctx.run_tasks(compress_task, [(i, mib) for i in range(ctx.tasks)])
    total_in = ctx.tasks * mib * 1024 * 1024
    return {"mib_per_task": mib, "ratio": round(total_in / max(1, sum(sizes)), 2)}
