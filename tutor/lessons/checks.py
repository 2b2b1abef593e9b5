"""Course-quality warnings: what every lesson should have, though it loads without it.

A lesson without hints or without its closing "What to remember" still works,
so these are warnings, not errors: `tutor lint` prints them (and counts them),
and the built-in course is kept at zero.
"""

from __future__ import annotations

from tutor.lessons.markdown import REMEMBER_HEADING
from tutor.lessons.model import Challenge, Lesson, LessonError, QuizQuestion

REMEMBER_ITEMS = (3, 5)
"""How many lines a "What to remember" section holds: enough to recall, few enough to keep."""


def course_warnings(lesson: Lesson) -> list[LessonError]:
    """Every missing hint and a missing or misshapen "What to remember", at its line."""
    warnings: list[LessonError] = []

    def warn(line: int, message: str) -> None:
        warnings.append(LessonError(lesson.path, max(line, 1), 1, message, severity="warning"))

    blocks: list[Challenge | QuizQuestion] = [*lesson.challenges, *lesson.quiz]
    for block in blocks:
        if not (block.hint and block.hint.strip()):
            kind = "challenge" if isinstance(block, Challenge) else "quiz question"
            warn(
                block.line,
                f"{kind} '{block.id}' has no hint; add a line 'hint: ...' that nudges without giving the answer",
            )
    low, high = REMEMBER_ITEMS
    heading = f"## {REMEMBER_HEADING}"
    if lesson.remember_line is None:
        last = lesson.body_line + lesson.body.count("\n")
        warn(
            last,
            f"the lesson does not end with '{heading}': add that section with {low} to {high} short list items",
        )
        return warnings
    later = [s for s in lesson.sections if s.line > lesson.remember_line]
    if later:
        warn(
            lesson.remember_line,
            f"'{heading}' must be the lesson's last section; '## {later[0].heading}' (line {later[0].line}) comes after it",
        )
    if not low <= len(lesson.remember) <= high:
        warn(
            lesson.remember_line,
            f"'{heading}' has {len(lesson.remember)} list items; write {low} to {high} (one '- ' line each)",
        )
    return warnings
