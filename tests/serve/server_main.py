"""Start the real SSH server with test settings (run as a separate process).

    python tests/serve/server_main.py '{"data_dir": "...", "auth": "open", ...}'

The same ``serve()`` as ``tutor serve ssh``; only knobs the command line does not
offer (a stand-in app, second-scale limits) come from the JSON argument.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tutor.serve.ssh import ServeConfig, serve


def main() -> int:
    raw = json.loads(sys.argv[1])
    raw["data_dir"] = Path(raw["data_dir"])
    if raw.get("authorized_keys"):
        raw["authorized_keys"] = Path(raw["authorized_keys"])
    return asyncio.run(serve(ServeConfig(**raw)))


if __name__ == "__main__":
    raise SystemExit(main())
