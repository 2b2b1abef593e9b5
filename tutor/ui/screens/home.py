"""Home: the lesson map with each lesson's state, the recommended next one, overall progress."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tutor.progress.rules import next_lesson
from tutor.ui.format import bar, seconds
from tutor.ui.messages import LessonChosen, ProgressChanged, QuizChosen, ResetRequested
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.keybar import KeyBar
from tutor.ui.widgets.titlebar import TitleBar
from tutor.wording import DONE_RULE, count, score, to_finish

if TYPE_CHECKING:
    from tutor.lessons import Lesson
    from tutor.progress import LessonProgress

STATE_MARK = {"done": "✓", "in progress": "◐", "not started": "·"}


def recommended(lessons: Sequence[Lesson], progress: Mapping[str, LessonProgress]) -> str | None:
    """The lesson to do next: the first one not done, in order (tutor.progress.rules)."""
    done = {lesson_id for lesson_id, p in progress.items() if p.done}
    return next_lesson([lesson.id for lesson in lessons], done)


class HomeScreen(TutorScreen):
    """The lesson map. Opens with the next lesson (the first not done) selected."""

    BINDINGS = [
        Binding("enter", "open_lesson", "Open", id="home.open", show=True),
        Binding("z", "quiz", "Quiz", id="home.quiz"),
        Binding("p", "app.progress", "Progress", id="home.progress"),
        Binding("w", "review", "Review", id="home.review"),
        Binding("r", "reset_lesson", "Reset lesson", id="home.reset_lesson"),
        Binding("R", "reset_all", "Reset all", id="home.reset_all", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Vertical(id="home"):
            yield Static(id="overall")
            yield OptionList(id="lessons")
            yield Static(id="lesson-details")
        yield KeyBar()

    @property
    def lesson_list(self) -> OptionList:
        return self.query_one("#lessons", OptionList)

    def on_mount(self) -> None:
        self.sub_title = "lesson map"
        self.refresh_map(select_next=True)
        self.lesson_list.focus()

    def on_screen_resume(self) -> None:
        # Coming back from a lesson: states and scores may have changed.
        if self.is_mounted and self.query("#lessons"):
            self.refresh_map()

    @on(ProgressChanged)
    def _progress_changed(self) -> None:
        self.refresh_map()

    def on_resize(self) -> None:
        # The rows are laid out for the width: a narrower terminal must not wrap them.
        if self.is_mounted and self.query("#lessons"):
            self.refresh_map()

    def refresh_map(self, select: str | None = None, *, select_next: bool = False) -> None:
        lessons = self.tutor.catalog.lessons
        progress = self.tutor.store.all_progress()
        next_id = recommended(lessons, progress)
        option_list = self.lesson_list
        keep = next_id if select_next else select
        if keep is None and option_list.highlighted is not None and option_list.option_count:
            keep = option_list.get_option_at_index(option_list.highlighted).id
        # Border 2, scrollbar 1 (when the list scrolls), marks 4: the rest is the row.
        width = max(self.size.width - 7, 30)
        wide = width >= 70
        state_width = 12 if wide else 2
        score_width = (24 if wide else 21) if width >= 45 else 0
        title_width = max(width - state_width - score_width, 12)
        options: list[Option] = []
        for lesson in lessons:
            p = progress.get(lesson.id)
            state = p.state if p is not None else "not started"
            tally = ""
            if score_width:
                # The same figures, in the same words, as the progress screen.
                challenges = score(
                    p.challenges_right if p else 0, p.challenges_answered if p else 0,
                    len(lesson.challenges),
                )  # fmt: skip
                quiz = score(
                    p.quiz_right if p else 0, p.quiz_answered if p else 0, len(lesson.quiz)
                )
                tally = f"★ {challenges:<{9 if wide else 7}} ? {quiz}"
            is_next = lesson.id == next_id
            mark = STATE_MARK.get(state, "·")
            title = f"{lesson.order:>2}. {lesson.title}"
            if len(title) > title_width:
                title = title[: title_width - 1] + "…"
            prompt = Content.assemble(
                (f"{'▶' if is_next else ' '} ", "bold $accent" if is_next else ""),
                (f"{mark} ", "bold"),
                (f"{title:<{title_width}}", "bold" if is_next else ""),
                f" {state:<11}" if wide else "",
                (f" {tally}"[: score_width + 1], "$text-muted"),
            )
            options.append(Option(prompt, id=lesson.id))
        option_list.set_options(options)
        target = keep or next_id
        index = next((i for i, lesson in enumerate(lessons) if lesson.id == target), 0)
        if options:
            option_list.highlighted = index
        self._show_overall(lessons, progress, next_id)
        self._show_details()

    def _show_overall(
        self, lessons: Sequence[Lesson], progress: Mapping[str, LessonProgress], next_id: str | None
    ) -> None:
        # Only lessons in this catalog count (the store may know lessons that are gone).
        known = {lesson.id for lesson in lessons}
        progress = {k: v for k, v in progress.items() if k in known}
        done = sum(1 for lesson in lessons if (p := progress.get(lesson.id)) and p.state == "done")
        right = sum(p.challenges_right for p in progress.values())
        tried = sum(p.challenges_answered for p in progress.values())
        quiz_right = sum(p.quiz_right for p in progress.values())
        answered = sum(p.quiz_answered for p in progress.values())
        # Out of what the lessons hold, so a new learner sees how much there is.
        challenges = sum(len(lesson.challenges) for lesson in lessons)
        questions = sum(len(lesson.quiz) for lesson in lessons)
        total = len(lessons)
        fraction = done / total if total else 0.0
        line = Content.assemble(
            ("Progress ", "bold"),
            "[",
            (bar(fraction, 12, empty="·"), "$success"),
            f"] {done}/{total} lessons done",
        )
        tally = f"challenges {score(right, tried, challenges)} · quiz {score(quiz_right, answered, questions)}"
        # On one line when it fits, else the tally on a line of its own (never cut mid-figure).
        fits = line.cell_length + 3 + len(tally) <= self.size.width - 2
        line = Content.assemble(line, " · " if fits else "\n", tally)
        if next_id is not None:
            nxt = next(lesson for lesson in lessons if lesson.id == next_id)
            line = Content.assemble(line, "\n", ("▶ next: ", "bold $accent"), nxt.title)
        elif total:
            line = Content.assemble(line, "\n", ("✓ every lesson is done", "bold $success"))
        self.query_one("#overall", Static).update(line)

    @on(OptionList.OptionHighlighted, "#lessons")
    def _show_details(self) -> None:
        lesson = self.highlighted_lesson
        details = self.query_one("#lesson-details", Static)
        errors = self.tutor.catalog.errors
        parts: list[str | tuple[str, str]] = []
        if lesson is not None:
            store = self.tutor.store
            p = store.lesson_progress(lesson.id)
            states = store.task_states(lesson.id)
            # The done rule, applied to this lesson: what is left to do.
            left = to_finish(
                sum(c.id not in states.challenges for c in lesson.challenges),
                sum(not states.questions.get(q.id, False) for q in lesson.quiz),
                has_tasks=bool(lesson.challenges or lesson.quiz),
            )
            parts += [
                (lesson.title, "bold"),
                f"  ·  {lesson.minutes} min",
                ("  ·  Enter: open\n", "$text-muted"),
                lesson.summary,
                ("\n" + (left if p.started else DONE_RULE), "$text-muted"),
            ]
            if p.seconds:
                parts.append((f" · time spent {seconds(p.seconds)}", "$text-muted"))
        elif not self.tutor.catalog.lessons:
            parts += [
                ("No lessons found. ", "bold"),
                "Run the game without --only-lessons, or pass --lessons DIR with lesson files.",
            ]
        if errors:
            # The command that finds them (a plain `tutor lint` misses a --lessons folder);
            # a served game names no path of the host.
            where = (
                "the host can list them"
                if self.tutor.served
                else f"run {self.tutor.catalog.lint_command()}"
            )
            parts.append(
                ("\n" + f"✗ {count(len(errors), 'problem')} in lesson files: {where}", "$error")
            )
        # Fixed height in app.tcss: moving through the list repaints, never relayouts.
        details.update(Content.assemble(*parts), layout=False)

    @property
    def highlighted_lesson(self) -> Lesson | None:
        option_list = self.lesson_list
        if option_list.highlighted is None or not option_list.option_count:
            return None
        lesson_id = option_list.get_option_at_index(option_list.highlighted).id
        return self.tutor.catalog.get(lesson_id) if lesson_id else None

    @on(OptionList.OptionSelected, "#lessons")
    def action_open_lesson(self) -> None:
        lesson = self.highlighted_lesson
        if lesson is not None:
            # Resume: back in the lesson left last time, at the task left last time.
            position = self.tutor.store.position()
            anchor = position[1] if position and position[0] == lesson.id else None
            self.post_message(LessonChosen(lesson.id, anchor))

    def action_quiz(self) -> None:
        lesson = self.highlighted_lesson
        if lesson is not None:
            self.post_message(QuizChosen(lesson.id))

    def action_review(self) -> None:
        from tutor.ui.screens.review import ReviewScreen

        self.app.push_screen(ReviewScreen(self.highlighted_lesson))

    def action_reset_lesson(self) -> None:
        lesson = self.highlighted_lesson
        if lesson is not None:
            self.post_message(ResetRequested(lesson.id))

    def action_reset_all(self) -> None:
        self.post_message(ResetRequested(None))
