"""Markdown as the game shows it: Textual's widget, with each code block highlighted once.

Textual's code fence highlights its code when it is built and again on every
style update (mounting is one, a focus change nearby is another): the code of a
long lesson went through Pygments three times on each opening.
"""

from __future__ import annotations

from functools import lru_cache

from textual.content import Content
from textual.widgets import Markdown
from textual.widgets._markdown import MarkdownBlock, MarkdownFence


@lru_cache(maxsize=512)
def _highlighted(code: str, language: str, ansi: bool, dark: bool) -> Content:
    return MarkdownFence.highlight(code, language, ansi=ansi, dark=dark)


class CodeFence(MarkdownFence):
    @classmethod
    def highlight(cls, code: str, language: str, ansi: bool = False, dark: bool = False) -> Content:
        return _highlighted(code, language, ansi, dark)


class LessonText(Markdown):
    BLOCKS: dict[str, type[MarkdownBlock]] = {
        **Markdown.BLOCKS,
        "fence": CodeFence,
        "code_block": CodeFence,
    }
