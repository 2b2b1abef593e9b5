"""A process that takes a bench-queue slot, as a measured run would.

    python queue_worker.py BENCH_DIR NAME HOLD LOG [SLOTS]

HOLD is seconds, or ``until:PATH`` to hold the slot until PATH exists.

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
    bench, name, hold_arg, logfile = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    slots = int(sys.argv[5]) if len(sys.argv) > 5 else None
    log(logfile, f"queued {name}")
    with acquire(Path(bench), slots=slots, label=name):
        log(logfile, f"start {name}")
        if hold_arg.startswith("until:"):
            # Hold until the test says so: on a loaded host, fixed sleeps race.
            release = Path(hold_arg.removeprefix("until:"))
            while not release.exists():
                time.sleep(0.02)
        else:
            time.sleep(float(hold_arg))
        log(logfile, f"end {name}")


if __name__ == "__main__":
    main()
