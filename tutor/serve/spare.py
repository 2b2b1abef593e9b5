"""A warm spare session: Python with the game already imported, waiting for a learner.

    python -m tutor.serve.spare ORDER_FD READY_FD

Importing Textual and the game takes most of a session's start-up (about half a
second on a 2-core host, more under load). The server keeps a spare or two
running on their own ptys; when a learner connects it sets the spare's window
size, then writes one JSON line on pipe ORDER_FD: ``{"env": {...}, "cwd": ..., "argv": [...]}``.
The spare replaces its whole environment with ``env`` (built from scratch by the
server, exactly as for a cold start) and runs ``tutor`` with ``argv``.

Nothing learner-specific exists before that line arrives, and the modules
imported early read no learner settings at import time (Textual reads TERM and
COLORTERM when the app starts, the game reads TUTOR_* when it needs them).
Once imported, the spare writes one byte on READY_FD.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import runpy
import sys

WARM_MODULES = (
    "tutor.cli",
    "textual.app",
    "tutor.cli.play",
    "tutor.ui.app",
    "tutor.lessons",
    "tutor.progress",
)


def main() -> int:
    fd, ready = int(sys.argv[1]), int(sys.argv[2])
    for name in WARM_MODULES:
        # A module that fails here fails again, visibly, when the game starts.
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    # Tell the server we are warm: it starts the next spare only then.
    with contextlib.suppress(OSError):
        os.write(ready, b"R")
    os.close(ready)
    with os.fdopen(fd, "rb") as pipe:
        line = pipe.readline()
    if not line:
        return 0  # the server retired this spare
    order = json.loads(line)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in order["env"].items()})
    os.chdir(order["cwd"])
    argv = [str(a) for a in order["argv"]]
    sys.argv = ["tutor", *argv]
    # Exactly `python -m tutor ARGV` from here on: the spare is only an early start
    # of the same program (runpy, so the server layer never imports the command line).
    # Its SystemExit (the game's exit status) ends this process as it would that one.
    runpy.run_module("tutor", run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
