"""Cutting a lesson's Markdown after what its first frame needs.

Textual builds a widget for every Markdown block, and lists, tables and quotes
are the dear ones: nested widgets for every item (measured on the longest
lesson: its three-item list cost ~100 ms to mount, its 16-line code block ~7 ms
once highlighted, a paragraph 2-3 ms). The reader shows the opening blocks with
its first frame and mounts the rest right after it.
"""

from __future__ import annotations

import re

FIRST_SCREEN_ROWS = 22
"""Rows of text an 80x24 terminal shows under the title and above the keys."""

MIN_ROWS = 6
"""Never cut before this many rows: the first frame shows a real start of the text."""

_LIST_ITEM = re.compile(r"(?:[-*+]|\d{1,9}[.)])(?:\s|$)")


def _fence_marker(line: str) -> str | None:
    stripped = line.lstrip()
    for marker in ("```", "~~~"):
        if stripped.startswith(marker):
            return marker
    return None


def _kind(line: str) -> str:
    """What block a line that starts at the left margin after a blank line opens."""
    if _fence_marker(line):
        return "fence"
    stripped = line.lstrip()
    if _LIST_ITEM.match(stripped):
        return "list"
    if stripped.startswith(("|", ">")):
        return "table or quote"
    if stripped.startswith("#"):
        return "heading"
    return "paragraph"


def _rows(line: str, width: int) -> int:
    return max(1, -(-len(line) // width)) if line.strip() else 1


def _cut(text: str, rows: int, width: int, *, costly_early: bool) -> tuple[str, str]:
    """(head, rest), with `head + "\n" + rest == text` when cut, else (text, "")."""
    lines = text.split("\n")
    fence: str | None = None
    used = 0
    previous_block = ""
    has_text = False  # never an empty head: the rest would be cut at the same place forever
    for index, line in enumerate(lines):
        if fence is None and line.strip() and not line[0].isspace():
            if index > 0 and not lines[index - 1].strip():
                kind = _kind(line)
                costly = kind in ("list", "table or quote")
                continues_list = kind == "list" and previous_block == "list"
                early = costly_early and costly and used >= MIN_ROWS
                if not continues_list and has_text and (early or used >= rows):
                    return "\n".join(lines[: index - 1]), "\n".join(lines[index - 1 :])
                previous_block = kind
            elif index == 0:
                previous_block = _kind(line)
        marker = _fence_marker(line)
        if fence is not None:
            if marker == fence:
                fence = None
        elif marker is not None:
            fence = marker
        used += _rows(line, width)
        has_text = has_text or bool(line.strip())
    return text, ""


def split_screens(text: str, rows: int = FIRST_SCREEN_ROWS, width: int = 76) -> list[str]:
    """The text in pieces that join back with "\n": the first frame's, the rest of the first screen, then a screen each.

    Every cut is at a blank line before a block that starts at the left margin,
    never inside a code block and never between two items of one list, so the
    pieces render as the whole text would. The first piece stops before the
    first list, table or quote once `MIN_ROWS` are used, or after a screenful;
    the second fills the rest of the first screen. Rows are estimated: lines
    wrap at `width`.
    """
    head, rest = _cut(text, rows, width, costly_early=True)
    pieces = [head]
    budget = rows - sum(_rows(line, width) for line in head.split("\n"))
    while rest:
        piece, rest = _cut(rest, max(budget, 1), width, costly_early=False)
        pieces.append(piece)
        budget = rows
    return pieces
