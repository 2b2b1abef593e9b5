"""Read lesson files into a :class:`Catalog`, reporting every problem at file:line.

Loading is pure: it reads files and parses YAML and Python source with `ast`;
it never imports or runs a workload. It never raises for a bad lesson either:
problems become :class:`LessonError` records and the lesson is left out.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tutor.lessons import markdown, validate
from tutor.lessons.checks import course_warnings
from tutor.lessons.model import Block, Catalog, Lesson, LessonError, MarkdownText, Section

MAX_BYTES = 1024 * 1024
"""A lesson is read whole into memory and shown as widgets: bigger files are refused."""

SKIPPED_NAMES = ("readme.md",)
"""Files in a lessons folder that are documentation, not lessons."""


@dataclass
class _FileResult:
    path: Path
    lesson: Lesson | None
    errors: list[LessonError]
    ids: list[validate.IdSite] = field(default_factory=list)
    order_line: int = 1


def _error(path: Path, line: int, column: int, message: str) -> LessonError:
    return LessonError(path, max(line, 1), max(column, 1), message)


def _read_text(path: Path, errors: list[LessonError]) -> str | None:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            errors.append(
                _error(
                    path,
                    1,
                    1,
                    f"file is too large ({size} bytes): a lesson must be at most 1 MiB "
                    f"({MAX_BYTES} bytes); split it into several lessons",
                )
            )
            return None
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        errors.append(_error(path, 1, 1, f"cannot read the lesson file: {exc.strerror or exc}"))
        return None
    if len(data) > MAX_BYTES:  # grew between stat() and read()
        errors.append(
            _error(
                path, 1, 1, f"file is too large: a lesson must be at most 1 MiB ({MAX_BYTES} bytes)"
            )
        )
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        errors.append(
            _error(
                path,
                line,
                column,
                f"file is not UTF-8: byte 0x{data[exc.start]:02x} at byte column "
                f"{column} cannot be decoded; save the lesson as UTF-8",
            )
        )
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        errors.append(
            _error(
                path,
                1,
                1,
                "empty file: a lesson starts with '---', its front matter "
                "(id, title, order, summary, topics, minutes), '---', then Markdown",
            )
        )
        return None
    return text


def _parse(path: Path) -> _FileResult:
    errors: list[LessonError] = []
    result = _FileResult(path, None, errors)
    text = _read_text(path, errors)
    if text is None:
        return result
    # Lines are counted at '\n' only, like grep, git and editors on Unix do, so
    # a reported line is the one the author finds.
    lines = text.replace("\r\n", "\n").split("\n")
    try:
        fm = markdown.split_front_matter(lines)
    except markdown.FrontMatterProblem as exc:
        errors.append(_error(path, exc.line, 1, exc.message))
        return result

    front_doc = validate.Doc(path, errors, fm.first_line, last_line=fm.body_line - 1)
    front = validate.front_matter(front_doc, fm.text)
    result.ids.extend(front_doc.ids)
    if front is not None:
        result.order_line = front.order_line

    scan = markdown.scan_body(fm.body_lines, fm.body_line)
    blocks: list[Block] = []
    for fence in scan.fences:
        if fence.info not in markdown.INTERACTIVE:
            close = difflib.get_close_matches(fence.info, markdown.INTERACTIVE, n=1, cutoff=0.8)
            if close and fence.info:
                errors.append(
                    _error(
                        path,
                        fence.open_line,
                        fence.indent + len(fence.marker) + 1,
                        f"unknown block '{fence.info}'; did you mean '{close[0]}'? "
                        f"interactive blocks are: {', '.join(markdown.INTERACTIVE)}",
                    )
                )
    for part in scan.parts:
        if isinstance(part, markdown.TextRun):
            blocks.append(MarkdownText(part.text, part.line))
            continue
        open_at = (part.open_line, part.indent + 1)
        if part.close_line is None:
            errors.append(
                _error(
                    path,
                    part.open_line,
                    part.indent + 1,
                    f"the {part.info} block opened here is never closed: expected a line "
                    f"'{part.marker}' after its YAML",
                )
            )
            continue
        doc = validate.Doc(
            path, errors, part.open_line + 1, indent=part.indent, last_line=part.close_line - 1
        )
        node = doc.compose(part.content, f"the {part.info} block")
        if node is None:
            if not part.content.strip():
                doc.error(
                    open_at,
                    f"the {part.info} block is empty; expected YAML keys inside it "
                    "(see docs/lesson-format.md)",
                )
            continue
        build = {
            "challenge": validate.challenge,
            "quiz": validate.quiz,
            "include": validate.include,
        }[part.info]
        block = build(doc, node, open_at)
        result.ids.extend(doc.ids)
        if block is not None:
            blocks.append(block)

    if front is None or errors:
        return result
    body = "\n".join(fm.body_lines)
    sections = tuple(Section(h.text, h.line) for h in scan.headings if h.level == 2)
    remember = next(
        (h for h in scan.headings if h.level == 2 and h.text.strip() == markdown.REMEMBER_HEADING),
        None,
    )
    result.lesson = Lesson(
        id=front.id,
        title=front.title,
        order=front.order,
        summary=front.summary,
        topics=front.topics,
        minutes=front.minutes,
        language=front.language,
        path=path,
        body=body,
        sections=sections,
        blocks=tuple(blocks),
        body_line=fm.body_line,
        remember=(
            markdown.section_items(fm.body_lines, fm.body_line, remember, scan.headings)
            if remember is not None
            else ()
        ),
        remember_line=remember.line if remember is not None else None,
    )
    return result


def _duplicates(results: list[_FileResult]) -> None:
    """Ids must be unique across every file read: report each clash at both places."""
    seen: dict[tuple[str, str], validate.IdSite] = {}
    for result in results:
        for site in result.ids:
            key = (site.namespace, site.id)
            first = seen.get(key)
            if first is None:
                seen[key] = site
                continue
            what = "lesson id" if site.namespace == "lesson" else "challenge/quiz id"
            result.errors.append(
                _error(
                    site.path,
                    site.line,
                    site.column,
                    f"duplicate {what} '{site.id}': already used at {first.path}:{first.line}",
                )
            )
            owner = next(r for r in results if r.path == first.path)
            owner.errors.append(
                _error(
                    first.path,
                    first.line,
                    first.column,
                    f"duplicate {what} '{site.id}': used again at {site.path}:{site.line}",
                )
            )


def _lesson_files(entry: Path) -> list[Path]:
    if entry.is_dir():
        return sorted(
            p for p in entry.glob("*.md") if p.is_file() and p.name.lower() not in SKIPPED_NAMES
        )
    return [entry]


def load_lesson_file(path: str | os.PathLike[str]) -> tuple[Lesson | None, list[LessonError]]:
    """Load one lesson file on its own: the lesson (None when it has errors) and its errors.

    Ids are only checked against each other inside this file; use
    :func:`load_catalog` to check them across lessons.
    """
    result = _parse(Path(path))
    _duplicates([result])
    return (result.lesson if not result.errors else None), sorted(result.errors, key=_sort_key)


def _sort_key(e: LessonError) -> tuple[str, int, int, str]:
    return (str(e.path), e.line, e.column, e.message)


def load_catalog(
    extra_dirs: Iterable[str | os.PathLike[str]] = (), builtin: bool = True
) -> Catalog:
    """Load the built-in lessons (unless `builtin` is False) and those in `extra_dirs`.

    An entry of `extra_dirs` may also be a single lesson file. Never raises for
    bad lessons: a lesson with any error is left out of ``.lessons`` and all
    its errors are in ``.errors``, sorted by file and line.
    """
    from tutor.paths import builtin_lessons_dir

    entries: list[Path] = [builtin_lessons_dir()] if builtin else []
    entries.extend(Path(d).expanduser() for d in extra_dirs)
    catalog = Catalog(extra_dirs=entries[1:] if builtin else list(entries), builtin=builtin)
    results: list[_FileResult] = []
    seen_files: set[Path] = set()
    for entry in entries:
        if not entry.exists():
            catalog.errors.append(_error(entry, 1, 1, "no such lesson file or folder"))
            continue
        for path in _lesson_files(entry):
            real = path.resolve()
            if real in seen_files:  # the same file named twice is not a duplicate lesson
                continue
            seen_files.add(real)
            catalog.files.append(path)
            results.append(_parse(path))
    _duplicates(results)
    for result in results:
        catalog.errors.extend(result.errors)
        if result.lesson is not None and not result.errors:
            catalog.lessons.append(result.lesson)
    catalog.lessons.sort(key=lambda lesson: (lesson.order, lesson.id))
    catalog.errors.sort(key=_sort_key)

    for loaded in catalog.lessons:
        catalog.warnings.extend(course_warnings(loaded))

    by_order: dict[int, _FileResult] = {}
    for result in results:
        lesson = result.lesson
        if lesson is None or result.errors:
            continue
        first = by_order.get(lesson.order)
        if first is None:
            by_order[lesson.order] = result
        else:
            catalog.warnings.append(
                LessonError(
                    result.path,
                    result.order_line,
                    1,
                    f"order {lesson.order} is also used by {first.path}:{first.order_line}; "
                    "the lessons are then sorted by id",
                    severity="warning",
                )
            )
    catalog.warnings.sort(key=_sort_key)
    return catalog
