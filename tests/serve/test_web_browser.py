"""``tutor serve web`` in a real browser: headless Chromium driven by Playwright.

What a learner does: open the page, press Start, see the lesson map, open a
lesson with the keyboard, close the tab, and the game is gone. And what a page
from another site does: its websocket to the game is refused before any game
starts, and a name rebound to 127.0.0.1 gets no page.

Debian's Chromium (`apt-get install chromium`), never a browser Playwright
downloads: `.ci/run` installs it, and without it these tests skip.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from serve_helpers import stop, wait_gone
from web_helpers import kill_all, start_server, tree

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"no {CHROMIUM}: install Debian's chromium package to run the browser tests",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

# This machine's network is closed: without these Chromium keeps trying Google's hosts.
FLAGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A stranger's name that resolves to this host, as DNS rebinding makes it.
    "--host-resolver-rules=MAP evil.example 127.0.0.1",
]
SGR = re.compile(rb"\x1b\[[0-9;:]*m")
WAIT_S = 60  # generous: a busy 2-core machine starts a game in seconds, not milliseconds


class Screen:
    """What the game sent to this tab's terminal, with colours dropped."""

    def __init__(self, page: sync_api.Page) -> None:
        self.page = page
        self.frames: list[bytes] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._received))

    def _received(self, payload: bytes | str) -> None:
        if isinstance(payload, bytes):
            self.frames.append(payload)

    def text(self) -> bytes:
        return SGR.sub(b"", b"".join(self.frames))

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while text.encode() not in self.text():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never showed in the browser")
            self.page.wait_for_timeout(100)  # lets Playwright deliver the frames


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    server, port = start_server(tmp_path_factory.mktemp("web"), "--only-lessons")
    try:
        yield server.pid, port
    finally:
        kill_all(tree(server.pid))
        stop(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        # launch() gives every run a new empty profile of its own.
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, chromium_sandbox=False, args=FLAGS
        )
        yield chromium
        chromium.close()


def open_page(browser: sync_api.Browser, url: str) -> sync_api.Page:
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    deadline = time.monotonic() + WAIT_S
    while True:  # the server may still be starting
        try:
            page.goto(url)
            return page
        except sync_api.Error:
            if time.monotonic() > deadline:
                raise
            page.wait_for_timeout(200)


def test_a_learner_plays_in_the_browser_and_the_game_ends_with_the_tab(
    served: tuple[int, int], browser: sync_api.Browser, tmp_path: Path
) -> None:
    server_pid, port = served
    page = open_page(browser, f"http://127.0.0.1:{port}/?delay=1")
    screen = Screen(page)
    try:
        page.get_by_role("button", name="Start").click(timeout=WAIT_S * 1000)
        screen.wait_for("lessons done")
        screen.wait_for("Web crunch")
        games = tree(server_pid)
        assert len(games) == 1, f"one tab, one game: {games}"
        page.mouse.click(500, 5)  # into the terminal, on the title line (which does nothing)
        page.keyboard.press("Enter")  # open the recommended lesson
        page.keyboard.press("n")  # its next task: the challenge
        screen.wait_for("Which finishes first?")
    except BaseException:
        page.screenshot(path=str(tmp_path / "failed.png"))
        raise
    page.close()
    wait_gone(games, timeout=15)


class StrangerPage(BaseHTTPRequestHandler):
    """Another site's page: it opens a websocket to the game and says what happened."""

    game_port = 0

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        body = f"""<!doctype html><title>waiting</title><script>
        const ws = new WebSocket("ws://127.0.0.1:{self.game_port}/ws?width=80&height=24");
        ws.onopen = () => {{ document.title = "opened"; ws.send('["stdin", "R"]'); }};
        ws.onclose = (e) => {{ if (document.title !== "opened") document.title = "refused"; }};
        </script>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_page_from_another_site_cannot_start_a_game(
    served: tuple[int, int], browser: sync_api.Browser
) -> None:
    server_pid, port = served
    StrangerPage.game_port = port
    stranger = ThreadingHTTPServer(("127.0.0.1", 0), StrangerPage)
    threading.Thread(target=stranger.serve_forever, daemon=True).start()
    before = tree(server_pid)
    try:
        page = open_page(browser, f"http://127.0.0.1:{stranger.server_port}/")
        page.wait_for_function("document.title !== 'waiting'", timeout=WAIT_S * 1000)
        assert page.title() == "refused"
        assert tree(server_pid) == before, "the other site's page started a game"
        # DNS rebinding: the stranger's name, now pointing here, gets no page either.
        response = page.goto(f"http://evil.example:{port}/")
        assert response is not None and response.status == 403
        assert "refused" in page.content()
        page.close()
    finally:
        stranger.shutdown()
        stranger.server_close()
