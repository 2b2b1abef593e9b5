"""The defaults of ``tutor serve``: what the parser offers and the servers start from.

Not in :mod:`tutor.serve.ssh`: importing any module of that package imports
asyncssh first (its ``__init__`` re-exports the server), and the parser is
built for every command, ``tutor --help`` included.
"""

from __future__ import annotations

HOST = "127.0.0.1"
PORT = 2222
AUTH_METHODS = ("password", "keys", "open")
AUTH = "password"
IDLE_TIMEOUT = 1800.0
MAX_PER_ADDRESS = 10
MAX_LOGGING_IN = 100
LOGIN_GRACE = 30.0
SPARES = 2

MB = 1024 * 1024
# A session's whole tree (Textual app + a lab run's workers) with headroom; the
# prototype measured ~37 MB RSS for the app alone, 20 idle web tabs 806 MiB.
MEMORY_PER_SESSION = 80 * MB
MOST_SESSIONS = 200
"""The most games the default --max-sessions allows, however much memory is free."""


def default_max_sessions() -> int:
    """Games at once when --max-sessions is not given: as many as free memory holds."""
    import psutil  # not at import: the parser reads this module for every command

    available = psutil.virtual_memory().available
    return max(1, min(MOST_SESSIONS, available // MEMORY_PER_SESSION))
