"""The quiz: one question at a time, feedback with the chosen answer's why, hint on request, retry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tutor.progress.rules import next_lesson
from tutor.ui.messages import AnswerRecorded, LessonChosen
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.choices import ChoiceList
from tutor.ui.widgets.keybar import KeyBar
from tutor.ui.widgets.lessontext import LessonText
from tutor.ui.widgets.notice import Notice
from tutor.ui.widgets.titlebar import TitleBar
from tutor.wording import count

if TYPE_CHECKING:
    from tutor.lessons import Lesson, QuizQuestion


class QuizScreen(TutorScreen):
    """Keys: ↑ ↓ choose, Space ticks (several answers), Enter answers, h hint, r retry, n next.

    The question stays at the top while the choices and the feedback scroll
    below it, so the learner reads the feedback beside what was asked.
    """

    BINDINGS = [
        Binding("escape", "back", "Back", id="quiz.back"),
        Binding("escape", "quit_quiz", "Quit", id="quiz.quit"),
        Binding("enter", "go_on", "Next lesson", id="quiz.go_on"),
        Binding("h", "hint", "Hint", id="quiz.hint"),
        Binding("r", "retry", "Retry", id="quiz.retry"),
        Binding("n", "next", "Next", id="quiz.next"),
        Binding("b", "previous", "Previous", id="quiz.previous", show=False),
    ]

    def __init__(
        self,
        items: list[tuple[Lesson, QuizQuestion]],
        *,
        start: int = 0,
        quiz_only: bool = False,
    ) -> None:
        super().__init__()
        self.items = items
        self.index = start
        self.quiz_only = quiz_only
        self.right: set[tuple[str, str]] = set()
        """(lesson id, question id) answered right at least once: saved before, or now."""
        self.answered: set[tuple[str, str]] = set()
        self.state = "asking"
        """asking, wrong, right or finished."""
        self.hint_used = False
        self.go_on_to: str | None = None
        """Once finished: the lesson Enter opens (the next one not done), if any."""

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static(id="quiz-score")
        yield VerticalScroll(id="quiz-top", can_focus=False)
        yield VerticalScroll(id="quiz")
        yield KeyBar()

    @property
    def question(self) -> QuizQuestion:
        return self.items[self.index][1]

    @property
    def lesson(self) -> Lesson:
        return self.items[self.index][0]

    async def on_mount(self) -> None:
        self.sub_title = "quiz" if not self.quiz_only else "quiz-only mode"
        # The score counts what is already right (the done rule), not only this sitting.
        store = self.tutor.store
        for lesson_id in dict.fromkeys(lesson.id for lesson, _ in self.items):
            states = store.task_states(lesson_id).questions
            self.right |= {(lesson_id, q) for q, right in states.items() if right}
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
            return self.state == "wrong" or (
                self.state == "finished" and self._first_not_right() is not None
            )
        if action == "hint":
            # Not advertised for a question without one.
            return self.state in ("asking", "wrong") and bool(self.question.hint)
        if action == "next":
            return self.state != "finished"
        if action == "go_on":
            return self.state == "finished" and self.go_on_to is not None
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
                ("right ", "bold"),
                f"{len(self.right & self._keys())}/{total}",
            )
        )

    def _keys(self) -> set[tuple[str, str]]:
        return {(lesson.id, q.id) for lesson, q in self.items}

    async def show_question(self) -> None:
        self.state = "asking"
        self.hint_used = False
        top = self.query_one("#quiz-top", VerticalScroll)
        box = self.query_one("#quiz", VerticalScroll)
        await top.remove_children()
        await box.remove_children()
        top.display = True
        q = self.question
        several = q.kind == "multiple"
        how = (
            "Space ticks each right answer, Enter answers."
            if several
            else "↑ ↓ then Enter to answer."
        )
        await top.mount(LessonText(q.question, id="quiz-question"))
        top.scroll_home(animate=False)
        await box.mount_all(
            [
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
        not_saved = self.tutor.saver.save(
            lambda: self.tutor.store.record_quiz(
                self.lesson.id, q.id, chosen=chosen, correct=correct, hint_used=self.hint_used
            ),
            quiet=True,
        )
        if not_saved is None:
            # The app applies the done rule: a lesson is done the moment it holds.
            self.post_message(AnswerRecorded(self.lesson.id))
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
                lines.append((f"You missed {count(len(missed), 'right answer')}: ", "italic"))
                lines.append("; ".join(f"“{c.text}”" for c in missed) + ".\n")
        if correct:
            last = self.index + 1 >= len(self.items)
            lines.append(("Enter or n: " + ("finish" if last else "next question"), "$text-muted"))
        else:
            keys = ["r: try again"] + (["h: hint"] if q.hint else []) + ["n: skip"]
            lines.append((" · ".join(keys), "$text-muted"))
        self.query_one("#quiz-feedback", Notice).say(Content.assemble(*lines))
        self._score()
        self.refresh_bindings()

    def action_hint(self) -> None:
        if self.state not in ("asking", "wrong"):
            return
        hint = self.question.hint
        if not hint:
            return
        self.hint_used = True
        self.query_one("#quiz-hint", Notice).say(Content.assemble(("Hint: ", "bold"), hint))

    def _first_not_right(self) -> int | None:
        return next(
            (i for i, (lesson, q) in enumerate(self.items) if (lesson.id, q.id) not in self.right),
            None,
        )

    async def action_retry(self) -> None:
        if self.state == "finished":
            # Again, from the first question not yet answered right.
            start = self._first_not_right()
            if start is not None:
                self.index = start
                self.query_one("#quiz", VerticalScroll).focus()
                await self.show_question()
            return
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
        top = self.query_one("#quiz-top", VerticalScroll)
        box = self.query_one("#quiz", VerticalScroll)
        await top.remove_children()
        top.display = False
        await box.remove_children()
        keys = self._keys()
        right = len(self.right & keys)
        total = len(keys)
        lessons = list(dict.fromkeys(lesson.id for lesson, _ in self.items))
        # `tutor quiz` only has quizzes to offer: lessons without one are passed over.
        catalog = [
            lesson.id for lesson in self.tutor.catalog.lessons if lesson.quiz or not self.quiz_only
        ]
        done = {k for k, p in self.tutor.store.all_progress().items() if p.done}
        # One lesson's quiz offers the next lesson not done (its quiz in `tutor quiz`);
        # the quiz of every lesson has no "next", only what is still to get right.
        self.go_on_to = next_lesson(catalog, done, after=lessons[0]) if len(lessons) == 1 else None
        lines: list[str | tuple[str, str]] = [
            ("Quiz finished. ", "bold"),
            f"{right} of {total} questions answered right"
            + (" (at least once).\n" if right < total else ": all of them.\n"),
        ]
        if right < total:
            lines += [
                ("r", "bold reverse"),
                f": again, from the first of the {total - right} not yet right\n",
            ]
        if self.go_on_to is not None:
            title = self.tutor.catalog.get(self.go_on_to)
            what = "its quiz" if self.quiz_only else "it"
            lines += [
                "\n",
                ("Enter", "bold reverse"),
                f": next lesson, “{title.title if title else self.go_on_to}” (opens {what})\n",
            ]
        elif len(lessons) == 1 and not self.quiz_only and done >= set(catalog):
            lines.append(("\n✓ Every lesson is done.\n", "bold $success"))
        back = "Escape or q: quit" if self.quiz_only else "Escape: back to the lesson"
        lines.append((back, "$text-muted"))
        await box.mount(Static(Content.assemble(*lines), id="quiz-done"))
        self._score()
        self.refresh_bindings()
        box.focus()

    def action_go_on(self) -> None:
        if self.state == "finished" and self.go_on_to is not None:
            self.post_message(LessonChosen(self.go_on_to))

    def action_back(self) -> None:
        self.dismiss()

    def action_quit_quiz(self) -> None:
        self.app.exit()
