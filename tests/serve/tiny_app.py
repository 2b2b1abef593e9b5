"""A tiny Textual app standing in for the game in serve tests.

It shows what a served session must get right: a first frame, keys arriving
unmangled, the window size, and the environment the server built.
"""

from __future__ import annotations

import os

from textual.app import App, ComposeResult
from textual.events import Key, Resize
from textual.widgets import Static


class TinyApp(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static("Lessons (tiny stand-in app)", id="title")
        yield Static("keys:", id="keys")
        yield Static("size: ?", id="size")
        env = " ".join(
            f"{k}={os.environ.get(k, '-')}"
            for k in ("TUTOR_PROFILE", "TUTOR_SERVED", "LANG", "COLORTERM")
        )
        yield Static(env, id="env")
        yield Static(f"leak={os.environ.get('SERVER_SECRET', 'none')}", id="leak")

    def on_key(self, event: Key) -> None:
        keys = self.query_one("#keys", Static)
        keys.update(f"{keys.content} {event.key}")

    def on_resize(self, event: Resize) -> None:
        self.query_one("#size", Static).update(f"size: {event.size.width}x{event.size.height}")


if __name__ == "__main__":
    TinyApp().run()
