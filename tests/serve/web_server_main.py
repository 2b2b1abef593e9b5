"""Start the real web server with a stand-in game (run as a separate process).

    python tests/serve/web_server_main.py PORT COMMAND

The same server as ``tutor serve web``; only the game differs, for games that
misbehave in ways the real one does not on demand.
"""

from __future__ import annotations

import sys

from tutor.serve.web import TutorWebServer


def main() -> int:
    port, command = int(sys.argv[1]), sys.argv[2]
    TutorWebServer(command, host="127.0.0.1", port=port, title="test").serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
