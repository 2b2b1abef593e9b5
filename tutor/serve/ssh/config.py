"""The server's settings and the small helpers the command line needs before it starts.

No asyncssh here: ``tutor serve ssh`` checks its options with these before it
imports the server or binds a port.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tutor.room.protocol import NAME_RE
from tutor.serve import defaults

USER_RE = NAME_RE
USER_RULE = "user name must be 1-32 characters: letters, digits, '.', '_' or '-'"
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no l/1/o/0 on a projector


def generate_password() -> str:
    groups = ["".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(3)]
    return "-".join(groups)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class ServeConfig:
    data_dir: Path
    host: str = defaults.HOST
    port: int = defaults.PORT
    auth: str = defaults.AUTH  # one of defaults.AUTH_METHODS
    password: str | None = None
    authorized_keys: Path | None = None
    instructor: str | None = None
    instructor_password: str | None = None
    max_sessions: int | None = None
    # Logged-in connections (and games) per address; connections still logging
    # in are counted apart, against max_logging_in.
    max_per_address: int = defaults.MAX_PER_ADDRESS
    # Connections still logging in, all addresses together: each holds a socket
    # and a handshake's memory, so an idle crowd must not exhaust the server.
    max_logging_in: int = defaults.MAX_LOGGING_IN
    login_grace: float = defaults.LOGIN_GRACE
    idle_timeout: float = defaults.IDLE_TIMEOUT
    idle_warning: float | None = None  # seconds of warning before the idle end
    failed_logins_per_connection: int = 6
    # Failures answered at once before the delays start: per (address, name),
    # and per address over all names (a room behind one NAT shares the latter).
    failed_logins_per_name: int = 3
    failed_logins_per_address: int = 20
    failed_login_window: float = 600.0
    failed_login_max_delay: float = 10.0
    keepalive_interval: float = 30.0
    keepalive_count_max: int = 3
    kill_grace: float = 2.0
    # Warm spares for the game (see tutor/serve/ssh/pool.py); 0 = always start cold.
    spares: int = defaults.SPARES
    bench_slots: int | None = None
    # Joined games (tutor join): reports per second and burst per connection (an
    # address gets max_per_address shares), and joined games at once.
    room_reports_per_s: float = 1.0
    room_burst: int = 60
    room_max_joined: int = 1000
    app_args: list[str] = field(default_factory=list)  # e.g. --lessons DIR
    # Injectable for tests and the benchmark; default: the real game and board.
    session_command: list[str] | None = None
    board_command: list[str] | None = None

    def learner_command(self) -> list[str]:
        if self.session_command:
            return list(self.session_command)
        return [sys.executable, "-m", "tutor", *self.app_args]

    def instructor_command(self) -> list[str]:
        if self.board_command:
            return list(self.board_command)
        return [sys.executable, "-m", "tutor", "board", "--data-dir", str(self.data_dir)]

    def warning_lead(self) -> float:
        if self.idle_warning is not None:
            return min(self.idle_warning, self.idle_timeout)
        return min(60.0, self.idle_timeout / 5)

    def spare_count(self) -> int:
        # A stand-in app (tests, benchmarks) is not what a spare pre-imports.
        return self.spares if self.session_command is None else 0
