"""A real terminal for tests and benchmarks: one pane on a private tmux server.

Every test or benchmark that drives a program the way a person does (keys in,
screen text out) uses this one helper. Each instance runs its own tmux server
(``-L`` socket), so parallel tests never see each other's panes.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence

HAVE_TMUX = shutil.which("tmux") is not None

# A person's pace between keys: Textual reads a lone Escape only after a short
# delay (to tell it from the start of an escape sequence).
KEY_PAUSE_S = 0.15


class Terminal:
    """One pane of a private tmux server, running one command."""

    def __init__(self, name: str = "term", *, socket: str | None = None) -> None:
        """``socket`` shares another Terminal's tmux server (e.g. one kept up by an
        idle pane, so a benchmark never times the server's own start)."""
        self.socket = socket or f"tutor-{name}-{uuid.uuid4().hex[:8]}"
        self.session = name
        self.pid: int | None = None

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True
        ).stdout

    def start(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        size: str = "80x24",
        then: str | None = None,
        cwd: str | None = None,
    ) -> Terminal:
        """Run ``command`` in a new pane of ``size`` (COLSxROWS).

        ``env`` is added to the pane's environment. ``then`` is a shell line run
        after the command ends (e.g. to print its exit status and keep the pane);
        without it the pane stays, dead, so its last screen can still be read.
        """
        cols, rows = size.split("x")
        assignments = [f"{k}={v}" for k, v in (env or {}).items()]
        line = shlex.join(["env", *assignments, *command])
        if then is None:
            line = "exec " + line
        else:
            line += "; " + then
        if cwd is not None:
            line = f"cd {shlex.quote(cwd)} && {line}"
        self.tmux("new-session", "-d", "-s", self.session, "-x", cols, "-y", rows, line)
        self.tmux("set-option", "-t", self.session, "remain-on-exit", "on")
        self.pid = self.pane_pid()
        return self

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def wait_for(self, text: str, timeout: float = 30.0, poll: float = 0.05) -> str:
        """The screen, once it shows ``text``; fails with the last screen otherwise."""
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(poll)
        raise AssertionError(f"never saw {text!r} within {timeout} s; the screen shows:\n{shown}")

    def keys(self, *keys: str, pause: float = KEY_PAUSE_S) -> None:
        """Press keys one at a time (tmux key names: Enter, Escape, Down, C-c...)."""
        for key in keys:
            self.tmux("send-keys", "-t", self.session, key)
            if pause:
                time.sleep(pause)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def resize(self, cols: int, rows: int) -> None:
        self.tmux("resize-window", "-t", self.session, "-x", str(cols), "-y", str(rows))

    def pane_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", self.session, "#{pane_pid}").strip())

    def end(self) -> None:
        """End this pane's session only (the tmux server and its other panes stay)."""
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-session", "-t", self.session], capture_output=True
        )

    def close(self) -> None:
        """Stop the whole tmux server: every pane on this socket."""
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
