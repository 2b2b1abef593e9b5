"""The quiz: one question at a time, feedback with the chosen answer's why, hint on request, retry."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.choices import ChoiceList
from tutor.ui.widgets.keybar import KeyBar
from tutor.ui.widgets.lessontext import LessonText
from tutor.ui.widgets.notice import Notice
from tutor.ui.widgets.titlebar import TitleBar
from tutor.wording import count


class QuizScreen(TutorScreen):
    """Keys: ↑ ↓ choose, Space ticks (several answers), Enter answers, h hint, r retry, n next."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="quiz.back"),
        Binding("escape", "quit_quiz", "Quit", id="quiz.quit"),
        Binding("h", "hint", "Hint", id="quiz.hint"),
        Binding("r", "retry", "Retry", id="quiz.retry"),
        Binding("n", "next", "Next", id="quiz.next"),
        Binding("b", "previous", "Previous", id="quiz.previous", show=False),
    ]

    def __init__(
        self, items: list[tuple[Any, Any]], *, start: int = 0, quiz_only: bool = False
    ) -> None:
        super().__init__()
        self.items = items
        self.index = start
        self.quiz_only = quiz_only
        self.right: set[tuple[str, str]] = set()
        self.answered: set[tuple[str, str]] = set()
        self.state = "asking"
        """asking, wrong, right or finished."""
        self.hint_used = False

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static(id="quiz-score")
        yield VerticalScroll(id="quiz")
        yield KeyBar()

    @property
    def question(self) -> Any:
        return self.items[self.index][1]

    @property
    def lesson(self) -> Any:
        return self.items[self.index][0]

    async def on_mount(self) -> None:
        self.sub_title = "quiz" if not self.quiz_only else "quiz-only mode"
        await self.show_question()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False
        # Escape says "Back" in a lesson and "Quit" in quiz-only mode (`tutor quiz`).
        if action == "back":
            return not self.quiz_only
        if action == "quit_quiz":
            return self.quiz_only
        if action == "retry":
            return self.state == "wrong"
        if action == "hint":
            return self.state in ("asking", "wrong")
        if action == "next":
            return self.state != "finished"
        return True

    def _score(self) -> None:
        total = len(self.items)
        where = (
            f"Question {self.index + 1} of {total}" if self.state != "finished" else "Quiz finished"
        )
        lesson = self.lesson.title if self.state != "finished" else ""
        self.query_one("#quiz-score", Static).update(
            Content.assemble(
                (where, "bold"),
                f" · {lesson}" if lesson else "",
                " · ",
                ("score ", "bold"),
                f"{len(self.right)}/{total} right",
            )
        )

    async def show_question(self) -> None:
        self.state = "asking"
        self.hint_used = False
        box = self.query_one("#quiz", VerticalScroll)
        await box.remove_children()
        q = self.question
        several = q.kind == "multiple"
        how = (
            "Space ticks each right answer, Enter answers."
            if several
            else "↑ ↓ then Enter to answer."
        )
        await box.mount_all(
            [
                LessonText(q.question, id="quiz-question"),
                Static(Content.styled(how, "$text-muted"), id="quiz-how"),
                ChoiceList([c.text for c in q.choices], multiple=several, id="quiz-choices"),
                Notice(id="quiz-hint"),
                Notice(id="quiz-feedback"),
            ]
        )
        self._score()
        self.query_one(ChoiceList).focus()
        self.refresh_bindings()

    @on(ChoiceList.Submitted)
    async def _answered(self, event: ChoiceList.Submitted) -> None:
        if self.state == "right":
            # Enter again after a right answer moves on: still a key press, never a timer.
            await self.action_next()
            return
        if self.state == "finished" or not event.chosen:
            return
        q = self.question
        chosen = list(event.chosen)
        correct = set(chosen) == set(q.correct_indices)
        key = (self.lesson.id, q.id)
        self.answered.add(key)
        if correct:
            self.right.add(key)
        not_saved = self.tutor.save(
            lambda: self.tutor.store.record_quiz(
                self.lesson.id, q.id, chosen=chosen, correct=correct, hint_used=self.hint_used
            ),
            quiet=True,
        )
        self.state = "right" if correct else "wrong"
        lines: list[str | tuple[str, str]] = []
        if correct:
            lines.append(("✓ Right. ", "bold $success"))
        else:
            lines.append(("✗ Not quite. ", "bold $error"))
        if not_saved is None:
            lines.append(("Saved.\n", "$text-muted"))
        else:
            lines.append((f"Not saved: {not_saved}.\n", "bold $warning"))
        for index in chosen:
            choice = q.choices[index]
            mark = "✓" if choice.correct else "✗"
            lines += [(f"{mark} {choice.text}", "bold"), f"\n  {choice.why}\n"]
        if not correct and q.kind == "multiple":
            missed = [c for i, c in enumerate(q.choices) if c.correct and i not in chosen]
            if missed:
                lines.append((f"You missed {count(len(missed), 'right answer')}.\n", "italic"))
        if correct:
            last = self.index + 1 >= len(self.items)
            lines.append(("Enter or n: " + ("finish" if last else "next question"), "$text-muted"))
        else:
            lines.append(("r: try again · h: hint · n: skip", "$text-muted"))
        self.query_one("#quiz-feedback", Notice).say(Content.assemble(*lines))
        self._score()
        self.refresh_bindings()

    def action_hint(self) -> None:
        if self.state not in ("asking", "wrong"):
            return
        self.hint_used = True
        hint = (
            self.question.hint
            or "No hint for this one: read each answer's claim aloud and test it."
        )
        self.query_one("#quiz-hint", Notice).say(Content.assemble(("Hint: ", "bold"), hint))

    def action_retry(self) -> None:
        if self.state != "wrong":
            return
        self.state = "asking"
        choices = self.query_one(ChoiceList)
        choices.clear()
        choices.focus()
        self.query_one("#quiz-feedback", Notice).clear()
        self.refresh_bindings()

    async def action_next(self) -> None:
        if self.index + 1 < len(self.items):
            self.index += 1
            await self.show_question()
        else:
            await self.finish()

    async def action_previous(self) -> None:
        if self.index > 0 and self.state != "finished":
            self.index -= 1
            await self.show_question()

    async def finish(self) -> None:
        self.state = "finished"
        box = self.query_one("#quiz", VerticalScroll)
        await box.remove_children()
        total = len(self.items)
        where = "Escape or q: quit" if self.quiz_only else "Escape: back"
        await box.mount(
            Static(
                Content.assemble(
                    ("Quiz finished. ", "bold"),
                    f"{len(self.right)} of {total} right this time.\n\n",
                    (where, "$text-muted"),
                ),
                id="quiz-done",
            )
        )
        self._score()
        self.refresh_bindings()
        box.focus()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_quit_quiz(self) -> None:
        self.app.exit()
