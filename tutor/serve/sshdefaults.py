"""The defaults of ``tutor serve ssh``: what the parser offers and ``ServeConfig`` starts from.

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
# prototype measured ~37 MB RSS for the app alone.
MEMORY_PER_SESSION = 80 * MB
MOST_SESSIONS = 200
"""The most games the default --max-sessions allows, however much memory is free."""
