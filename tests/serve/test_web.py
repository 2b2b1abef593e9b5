"""``tutor serve web``: a real server, a real browser connection (websocket), and no orphans.

textual-serve alone left the game running after SIGKILL of the server (for
good) and after SIGTERM (until aiohttp gave up on the open websocket).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import psutil
import pytest
from serve_helpers import free_port, stop, wait_gone

LESSON = """---
id: web-crunch
title: Web crunch
order: 0
summary: A long run to leave in the middle of.
topics: [gil]
minutes: 1
language: en
---

# Web crunch

```challenge
id: web-crunch-run
scenario: crunch
params: {tasks: 8, workers: 2, task_s: 2.5}
question: "Which finishes first?"
choices:
  - strategy: processes
    label: "Processes"
  - strategy: threads
    label: "Threads"
explain:
  threads: "Threads."
  processes: "Processes."
```
"""


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

    async def press(self, *keys: str) -> None:
        for key in keys:
            await self.ws.send_str(json.dumps(["stdin", key]))
            await asyncio.sleep(0.3)


async def open_tab(port: int) -> Browser:
    session = aiohttp.ClientSession()
    deadline = time.monotonic() + 30
    while True:
        try:
            async with session.get(f"http://127.0.0.1:{port}/") as page:
                await page.read()
            break
        except aiohttp.ClientError:
            if time.monotonic() > deadline:
                await session.close()
                raise
            await asyncio.sleep(0.2)
    ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws?width=80&height=24")
    return Browser(session, ws)


def start_server(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "web.md").write_text(LESSON)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tutor", "--data-dir", str(tmp_path / "data")]
        + ["serve", "web", "--port", str(port), "--lessons", str(lessons)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    return proc, port


def tree(pid: int) -> list[int]:
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


async def start_a_lab_run(browser: Browser, server: subprocess.Popen[bytes]) -> list[int]:
    """Map -> lesson -> challenge -> a processes run; returns the processes under the server."""
    await browser.wait_for("lessons done")
    await browser.press("\r", "n", "\r", "\r", "\r")  # open, next task, open, pick, run
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
