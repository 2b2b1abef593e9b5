"""Command palette (Ctrl+P): jump to a lesson, open a quiz, progress, reset, theme.

Each command posts the same navigation message the screens post (tutor.ui.messages).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tutor.ui.messages import LessonChosen, QuizChosen, ResetRequested

if TYPE_CHECKING:
    from tutor.ui.app import TutorApp


class TutorCommands(Provider):
    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = cast("TutorApp", self.app)
        commands: list[tuple[str, Callable[[], object], str]] = []
        for lesson in app.catalog.lessons:
            commands.append(
                (
                    f"Lesson: {lesson.title}",
                    partial(app.post_message, LessonChosen(lesson.id)),
                    lesson.summary,
                )
            )
        for lesson in app.catalog.lessons:
            if lesson.quiz:
                commands.append(
                    (
                        f"Quiz: {lesson.title}",
                        partial(app.post_message, QuizChosen(lesson.id)),
                        f"{len(lesson.quiz)} questions",
                    )
                )
        commands += [
            ("Progress", app.action_progress, "Your progress per lesson and overall"),
            ("Lesson map", app.go_home, "Back to the lesson map"),
            (
                "Reset progress: everything",
                partial(app.post_message, ResetRequested(None)),
                "Forget every answer (asks first)",
            ),
            ("Keys", app.action_help, "Every key on this screen"),
        ]
        return commands

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, text=name, help=help_text)
