"""Line-level Markdown scanning: front matter, fenced blocks and `##` headings.

Written by hand instead of using markdown-it: importing markdown-it costs more
than loading every lesson, and the loader only needs fences and headings. The
rules follow CommonMark where it matters for lessons: fences of three or more
backticks or tildes, closed only by the same character at least as long, and
a fence may be indented (for instance inside a list item), in which case that
indentation is removed from its content lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INTERACTIVE = ("challenge", "quiz", "include")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# Trailing blanks and closing hashes are stripped in Python: a lazy `.*?` before
# `[ \t]*$` backtracks quadratically on a long line of spaces.
_HEADING = re.compile(r"^ {0,3}(?P<level>#{1,6})(?:[ \t]+(?P<text>.*))?$")


@dataclass(frozen=True)
class Fence:
    info: str
    """First word of the info string (`python`, `challenge`...), may be empty."""
    open_line: int
    """1-based file line of the opening fence."""
    close_line: int | None
    """1-based file line of the closing fence, None when never closed."""
    indent: int
    """Characters of indentation removed from each content line."""
    content: str
    marker: str
    """The opening fence itself (e.g. three backticks), for messages."""


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    line: int


@dataclass(frozen=True)
class TextRun:
    text: str
    line: int


@dataclass(frozen=True)
class Scan:
    """A body cut into plain-Markdown runs and interactive fences, in order."""

    parts: tuple[TextRun | Fence, ...]
    fences: tuple[Fence, ...]
    """All fences, interactive or not (typos in info strings are checked on these)."""
    headings: tuple[Heading, ...]


def _dedent(line: str, indent: int) -> str:
    """Remove up to `indent` leading blanks, as CommonMark does for fence content."""
    n = 0
    while n < indent and n < len(line) and line[n] in " \t":
        n += 1
    return line[n:]


def _heading_text(raw: str) -> str:
    text = raw.strip(" \t")
    unhashed = text.rstrip("#")
    # `## Title ##`: a closing run of hashes counts only after a blank (or alone).
    if unhashed != text and (not unhashed or unhashed[-1] in " \t"):
        text = unhashed.rstrip(" \t")
    return text


def scan_body(lines: list[str], first_line: int) -> Scan:
    """Cut `lines` (which start at file line `first_line`) into text and fences."""
    parts: list[TextRun | Fence] = []
    fences: list[Fence] = []
    headings: list[Heading] = []
    text: list[str] = []
    text_start = first_line

    def flush(next_line: int) -> None:
        nonlocal text, text_start
        # Blank lines around a run carry no meaning; dropping them keeps the
        # run's line pointing at its first visible line.
        start = 0
        while start < len(text) and not text[start].strip():
            start += 1
        end = len(text)
        while end > start and not text[end - 1].strip():
            end -= 1
        if end > start:
            parts.append(TextRun("\n".join(text[start:end]), text_start + start))
        text = []
        text_start = next_line

    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        m = _FENCE.match(line)
        if m and not (m["fence"][0] == "`" and "`" in m["info"]):
            marker = m["fence"]
            indent = len(m["indent"])
            info = m["info"].strip()
            word = info.split(maxsplit=1)[0] if info else ""
            # Some authors write `{challenge}` or `.challenge` (Pandoc style).
            word = word.strip("{}.")
            closer = re.compile(
                "^[ \t]*" + re.escape(marker[0]) + "{" + str(len(marker)) + r",}[ \t]*$"
            )
            body: list[str] = []
            j = i + 1
            close: int | None = None
            while j < n:
                if closer.match(lines[j]):
                    close = j
                    break
                body.append(_dedent(lines[j], indent))
                j += 1
            fence = Fence(
                info=word,
                open_line=first_line + i,
                close_line=None if close is None else first_line + close,
                indent=indent,
                content="\n".join(body) + ("\n" if body else ""),
                marker=marker,
            )
            fences.append(fence)
            end = n if close is None else close + 1
            if word in INTERACTIVE:
                flush(first_line + end)
                parts.append(fence)
            else:
                text.extend(lines[i:end])
            i = end
            continue
        h = _HEADING.match(line)
        if h:
            title = _heading_text(h["text"] or "")
            headings.append(Heading(len(h["level"]), title, first_line + i))
        text.append(line)
        i += 1
    flush(first_line + n)
    return Scan(tuple(parts), tuple(fences), tuple(headings))


@dataclass(frozen=True)
class FrontMatter:
    text: str
    first_line: int
    """1-based file line of the first YAML line."""
    body_lines: list[str]
    body_line: int
    """1-based file line where the body starts."""


class FrontMatterProblem(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def split_front_matter(lines: list[str]) -> FrontMatter:
    """Separate the `---` delimited YAML front matter from the Markdown body."""
    if not lines or lines[0].rstrip() != "---":
        first = lines[0].strip() if lines else ""
        shown = f"; found {first[:40]!r}" if first else ""
        raise FrontMatterProblem(
            1,
            "expected YAML front matter: the file must start with a line '---', then keys "
            f"(id, title, order, summary, topics, minutes), then a line '---'{shown}",
        )
    for k in range(1, len(lines)):
        if lines[k].rstrip() in ("---", "..."):
            return FrontMatter("\n".join(lines[1:k]) + "\n", 2, lines[k + 1 :], k + 2)
    raise FrontMatterProblem(
        1,
        "the front matter opened by '---' on line 1 is never closed: expected a line '---' after its keys",
    )


REMEMBER_HEADING = "What to remember"
"""The `##` section every lesson ends with: 3 to 5 short lines the review screen shows."""

_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,3}[.)])[ \t]+(?P<text>\S.*)$")


def section_items(
    lines: list[str], first_line: int, heading: Heading, headings: tuple[Heading, ...]
) -> tuple[str, ...]:
    """The list items of the section under `heading`, each as one line of Markdown.

    The section runs to the next heading of the same or a higher level (or the
    end). An item's indented continuation lines are joined to it.
    """
    following = [h.line for h in headings if h.line > heading.line and h.level <= heading.level]
    end = min(following, default=first_line + len(lines))
    items: list[str] = []
    for raw in lines[heading.line + 1 - first_line : end - first_line]:
        m = _ITEM.match(raw)
        if m:
            items.append(m["text"].strip())
        elif items and raw.strip() and raw[:1] in (" ", "\t"):
            items[-1] += " " + raw.strip()
    return tuple(items)
