"""``tutor serve web``: a real server, a real browser connection (websocket), and no orphans.

textual-serve alone left the game running after SIGKILL of the server (for
good) and after SIGTERM (until aiohttp gave up on the open websocket).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import psutil
import pytest
from serve_helpers import free_port, stop, wait_gone
from web_helpers import kill_all, start_server, tree


class Browser:
    """One browser tab: the websocket textual-serve's page opens, keys in, screen bytes out."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse):
        self.session = session
        self.ws = ws
        self.seen = b""

    async def wait_for(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} never showed")
            try:
                msg = await asyncio.wait_for(self.ws.receive(), min(left, 1))
            except TimeoutError:
                continue
            if msg.type == aiohttp.WSMsgType.BINARY:
                self.seen += msg.data
            elif msg.type == aiohttp.WSMsgType.TEXT:
                self.seen += msg.data.encode()
            else:
                raise AssertionError(f"the connection ended before {text!r} showed")

    async def press_then_wait(self, text: str, *keys: str, timeout: float = 30) -> None:
        """Press keys, then wait for text that shows only after them."""
        self.seen = b""
        await self.press(*keys)
        await self.wait_for(text, timeout)

    async def press(self, *keys: str) -> None:
        for key in keys:
            await self.ws.send_str(json.dumps(["stdin", key]))
            await asyncio.sleep(0.3)


async def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/static/js/textual.js") as page:
                    await page.read()
                return
            except aiohttp.ClientError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)


async def open_tab(
    port: int, size: str = "width=80&height=24", headers: dict[str, str] | None = None
) -> Browser:
    await wait_listening(port)
    session = aiohttp.ClientSession()
    try:
        async with session.get(f"http://127.0.0.1:{port}/", headers=headers) as page:
            await page.read()
        ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws?{size}", headers=headers)
    except BaseException:
        await session.close()
        raise
    return Browser(session, ws)


async def start_a_lab_run(browser: Browser, server: subprocess.Popen[bytes]) -> list[int]:
    """Map -> lesson -> challenge -> a processes run; returns the processes under the server."""
    await browser.wait_for("lessons done")
    # Each screen is seen before the next key: on a loaded machine a key sent
    # early lands on the screen before.
    await browser.press_then_wait("finishes first", "\r")  # open the lesson
    await browser.press_then_wait("Lab:", "n", "\r")  # the challenge: focus it, open it
    await browser.press("\r", "\r")  # pick, run
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        procs = tree(server.pid)
        if len(procs) >= 3:  # the game, its lab runner, and the runner's workers
            return procs
        await asyncio.sleep(0.1)
    raise AssertionError(f"no lab run started: {tree(server.pid)}")


@pytest.mark.parametrize("how", ["tab closed", "SIGTERM", "SIGINT", "SIGKILL"])
async def test_every_way_out_leaves_no_game_or_lab_process(tmp_path: Path, how: str) -> None:
    server, port = start_server(tmp_path)
    browser = await open_tab(port)
    procs: list[int] = []
    try:
        procs = await start_a_lab_run(browser, server)
        if how == "tab closed":
            await browser.ws.close()
        elif how == "SIGKILL":
            server.kill()
        else:
            started = time.monotonic()
            stop(server, signal.SIGTERM if how == "SIGTERM" else signal.SIGINT)
            assert time.monotonic() - started < 8, "the server took too long to stop"
        # The game leaves within a second of noticing; its lab run with it.
        wait_gone(procs, timeout=10)
        if how == "tab closed":
            assert server.poll() is None, "the server keeps serving other tabs"
    finally:
        await browser.session.close()
        stop(server)
        for pid in procs:  # a failed run must not leave them to the next tests
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()


async def refused(port: int, headers: dict[str, str], path: str = "/ws") -> tuple[int, str]:
    """What the server answers a page or websocket request with these headers."""
    async with aiohttp.ClientSession() as session:
        if path == "/ws":
            try:
                ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws", headers=headers)
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status, exc.message
            await ws.close()
            return 101, "accepted"
        async with session.get(f"http://127.0.0.1:{port}{path}", headers=headers) as page:
            return page.status, await page.text()


EVIL = "https://evil.example"


async def test_pages_and_websockets_from_other_sites_are_refused(tmp_path: Path) -> None:
    server, port = start_server(tmp_path)
    try:
        await wait_listening(port)
        own = f"127.0.0.1:{port}"
        for headers in (
            {"Origin": EVIL, "Host": "evil.example"},  # DNS rebinding
            {"Origin": EVIL, "Host": own},  # a cross-site websocket
            {"Origin": f"http://127.0.0.1:{port + 1}", "Host": own},  # another local server
            {"Origin": "null", "Host": own},  # a sandboxed frame or a file
            {"Host": f"evil.example:{port}"},
        ):
            for path in ("/ws", "/"):
                status, _ = await refused(port, headers, path)
                assert status == 403, f"{path} with {headers} was answered {status}"
        assert tree(server.pid) == [], "a refused websocket started a game"
        # The page's own origin, by any of the loopback names, still plays.
        browser = await open_tab(port, headers={"Origin": f"http://localhost:{port}"})
        try:
            await browser.wait_for("lessons done")
        finally:
            await browser.session.close()
    finally:
        kill_all(tree(server.pid))
        stop(server)


async def test_an_origin_the_instructor_allows_plays(tmp_path: Path) -> None:
    server, port = start_server(tmp_path, "--allow-origin", "https://tutor.example")
    try:
        headers = {"Origin": "https://tutor.example", "Host": "tutor.example"}  # via a proxy
        browser = await open_tab(port, headers=headers)
        try:
            await browser.wait_for("lessons done")
        finally:
            await browser.session.close()
        status, _ = await refused(port, {"Origin": EVIL})
        assert status == 403
    finally:
        kill_all(tree(server.pid))
        stop(server)


CURSOR_ROW = re.compile(rb"\x1b\[(\d+);\d+H")


async def test_a_huge_screen_is_clamped_and_its_game_ends_with_its_tab(tmp_path: Path) -> None:
    server, port = start_server(tmp_path)
    browser = await open_tab(port, size="width=5000&height=5000")
    games: list[int] = []
    try:
        await browser.wait_for("lessons done", timeout=60)
        games = tree(server.pid)
        env = psutil.Process(games[0]).environ()
        assert (env["COLUMNS"], env["ROWS"]) == ("500", "200")
        await browser.ws.send_str(json.dumps(["resize", {"width": 80, "height": 24}]))
        await browser.wait_for("\x1b[24;1H")
        browser.seen = b""
        await browser.ws.send_str(json.dumps(["resize", {"width": 9000, "height": 9000}]))
        await browser.wait_for("\x1b[200;1H")
        rows = [int(m.group(1)) for m in CURSOR_ROW.finditer(browser.seen)]
        assert max(rows) == 200, f"the game drew on row {max(rows)}"
        await browser.ws.close()
        # The tab held 245 MiB for good after it closed.
        wait_gone(games, timeout=15)
    finally:
        await browser.session.close()
        kill_all(games)
        stop(server)


async def test_games_are_capped_and_the_next_learner_is_told(tmp_path: Path) -> None:
    server, port = start_server(tmp_path, "--max-sessions", "1")
    first = await open_tab(port)
    games: list[int] = []
    try:
        await first.wait_for("lessons done")
        games = tree(server.pid)
        for path in ("/ws", "/"):
            status, text = await refused(port, {}, path)
            assert status == 503
            if path == "/":
                assert "The tutor is full (1 game running): try again in a few minutes." in text
        assert tree(server.pid) == games, "a refused tab started a game"
        await first.ws.close()
        wait_gone(games, timeout=15)
        second = await open_tab(port)  # the slot is free again
        try:
            await second.wait_for("lessons done")
        finally:
            await second.session.close()
    finally:
        await first.session.close()
        kill_all(tree(server.pid))
        stop(server)


async def test_a_game_that_will_not_leave_is_killed_after_its_tab_closed(tmp_path: Path) -> None:
    port = free_port()
    game = shlex.join([sys.executable, str(Path(__file__).parent / "stubborn_game.py")])
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "web_server_main.py"), str(port)]
        + ["exec " + game],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    games: list[int] = []
    browser = await open_tab(port)
    try:
        await browser.wait_for("stubborn game ready")
        games = tree(server.pid)
        assert len(games) == 1
        await browser.ws.close()
        took = wait_gone(games, timeout=15)
        assert took < 8, f"the game lived {took:.1f} s after its tab closed"
        assert server.poll() is None, "the server keeps serving other tabs"
    finally:
        await browser.session.close()
        kill_all(games)
        stop(server)
