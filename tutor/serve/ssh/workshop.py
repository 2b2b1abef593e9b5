"""What every connection shares: the sessions, the limits, the spares, ``sessions.json``."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import asyncssh

from tutor.serve.defaults import default_max_sessions
from tutor.serve.ptychild import PtyChild
from tutor.serve.sessions import write_sessions
from tutor.serve.ssh.config import ServeConfig
from tutor.serve.ssh.limits import Admission, LoginThrottle
from tutor.serve.ssh.pool import SparePool

if TYPE_CHECKING:
    from tutor.serve.room.channel import RoomLimits, RoomRecorder
    from tutor.serve.ssh.session import LearnerSession


class Workshop:
    """State shared by every connection: sessions, limits, the sessions file."""

    def __init__(
        self,
        config: ServeConfig,
        authorized: list[asyncssh.SSHKey],
        max_sessions: int | None = None,
    ) -> None:
        self.config = config
        self.authorized = {key.public_data: key for key in authorized}
        self.max_sessions = max_sessions or config.max_sessions or default_max_sessions()
        self.sessions: set[LearnerSession] = set()
        self.admission = Admission(config.max_per_address, config.max_logging_in)
        self.throttle = LoginThrottle(
            free_per_name=config.failed_logins_per_name,
            free_per_address=config.failed_logins_per_address,
            window=config.failed_login_window,
            max_delay=config.failed_login_max_delay,
        )
        self.stopping = False
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.retiring: set[asyncio.Task[None]] = set()
        self.bench_dir = config.data_dir / "bench"
        self.spares = SparePool(self, config.spare_count())
        # Joined games (tutor/serve/room/): set up by serve() once the loop runs.
        self.room: RoomRecorder | None = None
        self.room_limits: RoomLimits | None = None

    def retire(self, child: PtyChild) -> None:
        """End a child no session owns (a spare whose hand-off failed)."""
        task = asyncio.ensure_future(child.terminate(self.config.kill_grace))
        self.retiring.add(task)
        task.add_done_callback(self.retiring.discard)

    # -- the sessions file -------------------------------------------------------
    def publish(self) -> None:
        rows = [s.describe() for s in self.sessions if s.child is not None]
        try:
            write_sessions(self.config.data_dir, rows, self.spares.pids, self.spares.warm_count)
        except OSError as exc:
            print(f"tutor: cannot write sessions.json: {exc}", file=sys.stderr)

    def child_env(self, term: str, colorterm: str | None, profile: str) -> dict[str, str]:
        """The child's whole environment, built from scratch: nothing of ours leaks."""
        home = self.config.data_dir / "homes" / profile
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        env = {
            "TERM": term,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PATH": self.child_path(),
            "HOME": str(home),
            "TUTOR_DATA_DIR": str(self.config.data_dir),
            "TUTOR_PROFILE": profile,
            "TUTOR_SERVED": "1",
            "TUTOR_BENCH_DIR": str(self.bench_dir),
        }
        if colorterm:
            env["COLORTERM"] = colorterm
        return env

    @staticmethod
    def child_path() -> str:
        # Our interpreter's bin dir first, so the game finds its own tools; nothing else.
        return f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"

    async def idle_watch(self) -> None:
        """Warn, then end sessions that had no input for --idle-timeout seconds."""
        timeout = self.config.idle_timeout
        lead = self.config.warning_lead()
        tick = min(1.0, max(0.1, lead / 4)) if lead else 1.0
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for sess in list(self.sessions):
                # The board on a projector sees no keys for hours: never idle it out.
                if sess.child is None or sess.ending or sess.owner.is_instructor:
                    continue
                idle = now - sess.last_input
                if idle >= timeout:
                    sess.end(
                        f"No input for {int(timeout)} s: this session has ended. Reconnect any time; your progress is saved."
                    )
                elif idle >= timeout - lead and not sess.warned:
                    sess.warn_idle(int(round(timeout - idle)))
