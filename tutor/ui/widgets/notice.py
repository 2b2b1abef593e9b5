"""A message shown on request (hint, feedback, problem) that the learner must not miss."""

from __future__ import annotations

from textual import events
from textual.content import Content
from textual.widgets import Static


class Notice(Static):
    """Scrolls itself into view when it has something new to say, and again when it gets its size.

    One scroll after `update()` is too early when the text changes size: it is
    not laid out yet, and the scrollbar it may bring narrows it and lays it out
    again. At 80x24 a quiz's feedback ended below the edge that way. A resize
    comes after each of those layouts.
    """

    DEFAULT_CSS = """
    Notice { display: none; }
    Notice.-shown { display: block; }
    """

    _has_text = False

    def say(self, content: str | Content) -> None:
        self.update(content)
        self._has_text = bool(content)
        # Empty, it takes no room (its margin left blank lines between the choices and the rest).
        self.set_class(self._has_text, "-shown")
        if self._has_text:
            # Enough when the size stays the same (no resize will follow).
            self.scroll_visible(animate=False)

    def clear(self) -> None:
        self.say("")

    def on_resize(self, event: events.Resize) -> None:
        if self._has_text:
            self.scroll_visible(animate=False)
