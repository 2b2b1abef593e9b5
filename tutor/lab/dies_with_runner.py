"""Imported by the fork server (a forkserver preload) so it dies with the runner.

Preload imports are the only code forkserver lets us run in its server. Without
this, a runner killed with SIGKILL left the server and every worker alive: the
server waits until no process holds its "alive" pipe, and each worker holds it
(forkserver hands it to them) while waiting for the server's death.
Harmless anywhere else: in the runner itself and off Linux it does nothing.
"""

from __future__ import annotations

import os

from tutor.lab import report


def _guard() -> None:
    try:
        runner = int(os.environ.get(report.RUNNER_PID_ENV, ""))
    except ValueError:
        return
    if runner == os.getpid():
        return  # imported in the runner (it imports everything it preloads): not a server
    # Forked workers inherit this value: their parent is this server, not the runner.
    report._forkserver_pid = os.getpid()
    report.die_with_parent(runner)


_guard()
