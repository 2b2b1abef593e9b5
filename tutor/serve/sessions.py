"""``data_dir/sessions.json``: who is connected right now, for the board.

The server rewrites the whole file on every change through a temporary file and
``os.replace``, so a reader (the board, possibly in another process) never sees
a half-written file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

SESSIONS_FILE = "sessions.json"


def write_sessions(
    data_dir: Path,
    sessions: list[dict[str, Any]],
    spares: list[int] | None = None,
    spares_warm: int = 0,
) -> None:
    """Replace the file; ``spares`` are the pids of idle spares (no learner yet),
    ``spares_warm`` how many of them finished warming up."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".sessions-", suffix=".tmp", dir=data_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            doc = {
                "server_pid": os.getpid(),
                "sessions": sessions,
                "spares": spares or [],
                "spares_warm": spares_warm,
            }
            json.dump(doc, fh, indent=1)
        os.replace(tmp, data_dir / SESSIONS_FILE)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def clear_sessions(data_dir: Path) -> None:
    with contextlib.suppress(OSError):
        (data_dir / SESSIONS_FILE).unlink()


def read_sessions(data_dir: Path) -> list[dict[str, Any]]:
    """Connected sessions; empty when no server runs (a stale file is ignored)."""
    try:
        raw = json.loads((data_dir / SESSIONS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(raw, dict):
        return []
    server_pid = raw.get("server_pid")
    # A server killed with SIGKILL cannot remove its file: trust it only while
    # the process that wrote it is alive.
    if not isinstance(server_pid, int) or not _alive(server_pid):
        return []
    sessions = raw.get("sessions")
    return [s for s in sessions if isinstance(s, dict)] if isinstance(sessions, list) else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
