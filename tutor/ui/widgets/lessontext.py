"""Markdown as the game shows it: Textual's widget, with each code block highlighted once.

Textual's code fence highlights its code when it is built and again on every
style update (mounting is one, a focus change nearby is another): the code of a
long lesson went through Pygments three times on each opening.

Its code lines were also cut at the right edge with no sign of it (the fence
scrolls sideways with a hidden scrollbar, and nothing in a lesson takes the
focus to scroll it). Here a long line wraps at the fence's width, and each
continuation starts with ``↪`` so it is never mistaken for a line of its own.
"""

from __future__ import annotations

from functools import lru_cache

from textual import events
from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import Label, Markdown
from textual.widgets._markdown import MarkdownBlock, MarkdownFence

CONTINUED = "↪ "
"""Starts each continuation of a code line too long for the screen."""


@lru_cache(maxsize=512)
def _highlighted(code: str, language: str, ansi: bool, dark: bool) -> Content:
    return MarkdownFence.highlight(code, language, ansi=ansi, dark=dark)


def wrap_code(code: Content, width: int) -> Content:
    """``code`` with every line longer than ``width`` cells wrapped, continuations marked."""
    if width <= len(CONTINUED) + 8:
        return code  # too narrow to help
    lines: list[Content] = []
    for line in code.split("\n", allow_blank=True):
        text = line.plain
        # Continuations keep the line's indentation, so the code's shape stays readable.
        indent = " " * min(len(text) - len(text.lstrip(" ")), width // 2)
        while line.cell_length > width:
            lines.append(line[:width])
            line = Content.assemble(indent, (CONTINUED, "dim"), line[width:])
        lines.append(line)
    return Content("\n").join(lines)


class CodeFence(MarkdownFence):
    DEFAULT_CSS = """
    CodeFence { overflow: hidden hidden; }
    """

    _wrapped_at = -1

    @classmethod
    def highlight(cls, code: str, language: str, ansi: bool = False, dark: bool = False) -> Content:
        return _highlighted(code, language, ansi, dark)

    def set_content(self, content: Content) -> None:
        # Textual calls this with the whole lines (a theme change, an update).
        self._content = content
        self._wrapped_at = -1
        self._wrap()

    def on_resize(self, event: events.Resize) -> None:
        self._wrap()

    def on_mount(self) -> None:
        # A resize may come before the code's label is there: wrap once laid out too.
        self.call_after_refresh(self._wrap)

    def _wrap(self) -> None:
        try:
            label = self.query_one("#code-content", Label)
        except NoMatches:
            return
        width = self.size.width - label.styles.gutter.width
        if width <= 0 or width == self._wrapped_at:
            return
        self._wrapped_at = width
        label.update(wrap_code(self._highlighted_code, width))


class LessonText(Markdown):
    BLOCKS: dict[str, type[MarkdownBlock]] = {
        **Markdown.BLOCKS,
        "fence": CodeFence,
        "code_block": CodeFence,
    }
