"""`tutor serve web`: textual-serve, plus the process cleanup it leaves out.

textual-serve starts one game per browser tab and stops it only when that tab
disconnects. Measured with a tab open: SIGTERM left the server and the game
running for over 10 s (aiohttp waits for open websockets), and after SIGKILL of
the server the game ran on for good (its input thread just ends at end of file).
So the games are stopped on shutdown here, and each game watches its server
(`TUTOR_EXIT_WITH_PARENT`, see `tutor.ui.app`).
"""

from __future__ import annotations

import contextlib
import os

import psutil
from aiohttp import web
from textual_serve.server import Server

STOP_TIMEOUT_S = 3.0
"""A game gets this long to cancel its lab run and leave before it is killed."""


class TutorWebServer(Server):
    async def on_shutdown(self, app: web.Application) -> None:
        # The games are direct children (the command starts with `exec`). Each
        # one's SIGTERM handler cancels its lab run; their websockets then close.
        games = psutil.Process().children()
        for game in games:
            with contextlib.suppress(psutil.NoSuchProcess):
                game.terminate()
        _, alive = psutil.wait_procs(games, timeout=STOP_TIMEOUT_S)
        for game in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                game.kill()


def game_environment() -> dict[str, str]:
    """What each game started by this server needs to leave with it."""
    return {"TUTOR_EXIT_WITH_PARENT": str(os.getpid())}
