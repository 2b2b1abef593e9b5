"""A process that takes a bench-queue slot, as a measured run would.

    python queue_worker.py BENCH_DIR NAME HOLD_SECONDS LOG [SLOTS]

Appends "start NAME t" and "end NAME t" lines to LOG (O_APPEND, one write each).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from tutor.lab.benchqueue import acquire


def log(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{text} {time.time():.6f}\n".encode())
    finally:
        os.close(fd)


def main() -> None:
    bench, name, hold, logfile = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    slots = int(sys.argv[5]) if len(sys.argv) > 5 else None
    log(logfile, f"queued {name}")
    with acquire(Path(bench), slots=slots, label=name):
        log(logfile, f"start {name}")
        time.sleep(hold)
        log(logfile, f"end {name}")


if __name__ == "__main__":
    main()
