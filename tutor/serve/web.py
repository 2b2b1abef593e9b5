"""`tutor serve web`: textual-serve, plus the checks and cleanup it leaves out.

textual-serve starts one game per browser tab and stops it only when that tab
disconnects. Measured with a tab open: SIGTERM left the server and the game
running for over 10 s (aiohttp waits for open websockets), and after SIGKILL of
the server the game ran on for good (its input thread just ends at end of file).
So the games are stopped on shutdown here, and each game watches its server
(`TUTOR_EXIT_WITH_PARENT`, see `tutor.ui.app`).

textual-serve also accepts any websocket from anywhere: a page on any site, open
in a browser on the host, could start and drive games (a cross-site websocket,
or DNS rebinding a name of the attacker's to 127.0.0.1). Browsers send `Origin`
on every websocket and cannot forge it or `Host`, so both are checked here. It
also took any size (a 5000x5000 tab held 245 MiB), had no cap on games, and left
a game that did not quit when asked running for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
from collections.abc import Iterable
from functools import partial
from typing import Any

import psutil
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int
from yarl import URL

from tutor.serve.defaults import default_max_sessions
from tutor.wording import count

log = logging.getLogger("textual-serve")

STOP_TIMEOUT_S = 3.0
"""A game gets this long to leave after its tab closed (or on shutdown) before it is killed."""

MAX_WIDTH, MAX_HEIGHT = 500, 200
"""The largest screen a tab may ask for. Memory grows with cells (5000x5000 cost
245 MiB); 500x200 is 1/250 of that, and more than a 4K monitor shows at the
page's 16 px font (about 400x110)."""


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


def clamp_size(width: object, height: object) -> tuple[int, int] | None:
    """A size a game may get, or None for one that is not a pair of numbers."""
    if isinstance(width, bool) or isinstance(height, bool):
        return None
    try:
        w, h = int(width), int(height)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None
    return max(1, min(MAX_WIDTH, w)), max(1, min(MAX_HEIGHT, h))


def parse_origin(text: str) -> str:
    """`scheme://host:port`, the form compared with a browser's `Origin`; ValueError if not one."""
    try:
        url = URL(text.strip())
    except ValueError as exc:
        raise ValueError(f"not an origin: {text!r}") from exc
    if url.scheme not in ("http", "https") or not url.host or url.path not in ("", "/"):
        raise ValueError(f"not an origin (want http(s)://host[:port]): {text!r}")
    if url.query_string or url.fragment or url.user:
        raise ValueError(f"not an origin (want http(s)://host[:port]): {text!r}")
    host = url.host.lower()
    return f"{url.scheme}://{f'[{host}]' if ':' in host else host}:{url.port}"


def served_names(host: str) -> frozenset[str]:
    """The host names a browser may use for this server: its own, never a stranger's."""
    names = {host.lower().strip("[]")}
    loopback = host == "localhost"
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(host.strip("[]")).is_loopback
    if loopback:
        names |= LOOPBACK_NAMES
    if host in WILDCARD_HOSTS:
        # Bound to every address: any of this machine's addresses and names.
        names |= LOOPBACK_NAMES | {socket.gethostname().lower(), socket.getfqdn().lower()}
        for addresses in psutil.net_if_addrs().values():
            for address in addresses:
                if address.family in (socket.AF_INET, socket.AF_INET6):
                    names.add(address.address.split("%")[0].lower())
    names.discard("")
    return frozenset(names)


async def _close(websocket: web.WebSocketResponse) -> None:
    """AppService wants a close that returns nothing (aiohttp's says whether it closed)."""
    await websocket.close()


class GameService(AppService):
    """One tab's game: output keeps flowing after the tab is gone, and a game that
    will not leave is killed."""

    tab_gone = False

    async def on_data(self, payload: bytes) -> None:
        # textual-serve stopped reading the game's output when the tab went away;
        # the game then blocked writing, and never read the request to quit.
        if self.tab_gone:
            return
        try:
            await self.remote_write_bytes(payload)
        except (ConnectionError, RuntimeError):
            self.tab_gone = True

    async def on_meta(self, data: bytes) -> None:
        if self.tab_gone:
            return
        try:
            await super().on_meta(data)
        except (ConnectionError, RuntimeError):
            self.tab_gone = True

    async def stop(self) -> None:
        self.tab_gone = True
        process = self._process
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_TIMEOUT_S
        with contextlib.suppress(TimeoutError):
            # Asks the game to quit and waits for its output to end.
            await asyncio.wait_for(super().stop(), STOP_TIMEOUT_S)
        if process is None:
            return
        try:
            await asyncio.wait_for(process.wait(), max(0.1, deadline - loop.time()))
        except TimeoutError:
            log.warning("game %s did not leave when its tab closed: killed", process.pid)
            kill_tree(process.pid)
            await process.wait()


def kill_tree(pid: int) -> None:
    try:
        game = psutil.Process(pid)
        procs = [game, *game.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


class TutorWebServer(Server):
    def __init__(
        self,
        command: str,
        *,
        host: str,
        port: int,
        title: str,
        max_sessions: int | None = None,
        allow_origins: Iterable[str] = (),
    ) -> None:
        super().__init__(command, host=host, port=port, title=title)
        self.max_sessions = max_sessions or default_max_sessions()
        self.allow_origins = frozenset(parse_origin(o) for o in allow_origins)
        self.names = served_names(host)
        # A reverse proxy may pass its own name on as Host: the instructor vouched for it.
        self.proxy_names = frozenset(URL(o).host or "" for o in self.allow_origins)
        self.games = 0

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.check_origin)
        return app

    def refusal(self, request: web.Request) -> str | None:
        """Why this request comes from a page or a name that is not ours, or None."""
        try:
            host = URL(f"http://{request.host}")
            if not host.host:
                raise ValueError
        except ValueError:
            return "a Host header that is not a host name"
        name = host.host.lower()
        if not (name in self.proxy_names or (name in self.names and host.port == self.port)):
            return f"Host {request.host!r} is not this server"
        origin = request.headers.get("Origin")
        if origin is None:
            return None  # not a browser, so not a page from another site
        try:
            seen = parse_origin(origin)
        except ValueError:
            return f"Origin {origin!r} is not allowed"
        url = URL(seen)
        if seen in self.allow_origins or (url.host in self.names and url.port == self.port):
            return None
        return f"Origin {origin!r} is not allowed"

    @web.middleware
    async def check_origin(self, request: web.Request, handler: Any) -> web.StreamResponse:
        reason = self.refusal(request)
        if reason is not None:
            peer = request.remote or "?"
            log.warning("refused %s %s from %s: %s", request.method, request.path, peer, reason)
            raise web.HTTPForbidden(
                text=f"refused: {reason} (the instructor can allow it with --allow-origin)\n"
            )
        return await handler(request)

    def full_message(self) -> str:
        return (
            f"The tutor is full ({count(self.max_sessions, 'game')} running): "
            "try again in a few minutes.\n"
        )

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if self.games >= self.max_sessions:
            raise web.HTTPServiceUnavailable(text=self.full_message())
        return await super().handle_index(request)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if self.games >= self.max_sessions:
            log.warning("refused a game: %d running (--max-sessions)", self.games)
            raise web.HTTPServiceUnavailable(text=self.full_message())
        size = clamp_size(
            to_int(request.query.get("width", "80"), 80),
            to_int(request.query.get("height", "24"), 24),
        )
        width, height = size or (80, 24)
        # Counted from here until the game has gone, so a game being killed still counts.
        self.games += 1
        websocket = web.WebSocketResponse(heartbeat=15)
        game: GameService | None = None
        try:
            await websocket.prepare(request)
            game = GameService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=partial(_close, websocket),
                download_manager=self.download_manager,
                debug=self.debug,
            )
            await game.start(width, height)
            await self._process_messages(websocket, game)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:
            log.exception(error)
        finally:
            try:
                if game is not None:
                    await game.stop()
            finally:
                self.games -= 1
        return websocket

    async def _process_messages(
        self, websocket: web.WebSocketResponse, app_service: AppService
    ) -> None:
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = message.json()
            except ValueError:
                continue
            if not isinstance(envelope, list) or not envelope:
                continue
            kind = envelope[0]
            data = envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                size = clamp_size(data.get("width"), data.get("height"))
                if size is not None:
                    await app_service.set_terminal_size(*size)
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()

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
