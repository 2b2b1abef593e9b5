"""``tutor serve ssh``: an asyncssh server that gives each learner their own app.

Design: one child process per session on its own pty, started
from a clean environment; the server only authenticates, enforces limits and
copies bytes. It refuses everything that is not "an interactive terminal running
the game": exec, subsystems (sftp/scp), forwarding of any kind, sessions without
a pty.

Modules, by responsibility:

- :mod:`.config`: ``ServeConfig`` and what the command line needs (no asyncssh);
- :mod:`.limits`: admission per address and overall, failed-login delays, the
  open-file budget (no asyncssh);
- :mod:`.connection`: one SSH connection (authentication, what it may open);
- :mod:`.session`: one session channel (the game on its pty, or a refusal);
- :mod:`.pool`: warm spares and their hand-off;
- :mod:`.workshop`: state every connection shares, ``sessions.json``, idle ends;
- :mod:`.server`: start-up, the banner, shutdown.
"""

from tutor.serve.ssh.config import (
    PASSWORD_ALPHABET,
    USER_RE,
    USER_RULE,
    ServeConfig,
    generate_password,
    now_iso,
)
from tutor.serve.ssh.connection import LearnerConnection
from tutor.serve.ssh.pool import Spare, SparePool
from tutor.serve.ssh.server import check_fd_limit, load_authorized_keys, serve
from tutor.serve.ssh.session import TERMINAL_RESET, LearnerSession
from tutor.serve.ssh.workshop import Workshop

__all__ = [
    "PASSWORD_ALPHABET",
    "TERMINAL_RESET",
    "USER_RE",
    "USER_RULE",
    "LearnerConnection",
    "LearnerSession",
    "ServeConfig",
    "Spare",
    "SparePool",
    "Workshop",
    "check_fd_limit",
    "generate_password",
    "load_authorized_keys",
    "now_iso",
    "serve",
]
