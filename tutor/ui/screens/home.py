"""Home: the lesson map with each lesson's state, the recommended next one, overall progress."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tutor.ui.format import bar, seconds
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.keybar import KeyBar
from tutor.ui.widgets.titlebar import TitleBar
from tutor.wording import count

STATE_MARK = {"done": "✓", "in progress": "◐", "not started": "·"}


def recommended(lessons: list[Any], progress: dict[str, Any], position: str | None) -> str | None:
    """The lesson to do next: the one left unfinished last time, else the first not done."""
    known = {lesson.id for lesson in lessons}
    if position is not None and position in known:
        # (A saved position may name a lesson that is no longer in the catalog.)
        p = progress.get(position)
        if p is not None and p.state != "done":
            return position
    for lesson in lessons:
        p = progress.get(lesson.id)
        if p is None or p.state != "done":
            return lesson.id
    return None


class HomeScreen(TutorScreen):
    """The lesson map. Opens with the last lesson selected so the learner resumes."""

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
        position = self.tutor.store.position()
        self.refresh_map(select=position[0] if position else None)
        self.lesson_list.focus()

    def on_screen_resume(self) -> None:
        # Coming back from a lesson: states and scores may have changed.
        if self.is_mounted:
            self.refresh_map()

    def on_progress_changed(self) -> None:
        # tutor.ui.messages.ProgressChanged, matched by name: importing the message
        # module here would cost start-up time for a message sent only later.
        self.refresh_map()

    def refresh_map(self, select: str | None = None) -> None:
        lessons = self.tutor.catalog.lessons
        store = self.tutor.store
        progress = store.all_progress()
        position = store.position()
        current = position[0] if position else None
        next_id = recommended(lessons, progress, current)
        option_list = self.lesson_list
        keep = select
        if keep is None and option_list.highlighted is not None and option_list.option_count:
            keep = option_list.get_option_at_index(option_list.highlighted).id
        width = max(self.size.width, 80)
        title_width = max(width - 36, 20)
        options: list[Option] = []
        for lesson in lessons:
            p = progress.get(lesson.id)
            state = p.state if p is not None else "not started"
            score = ""
            if p is not None and (p.challenges_answered or p.quiz_answered):
                score = f"★ {p.challenges_right}/{p.challenges_answered}  ? {p.quiz_right}/{p.quiz_answered}"
            is_next = lesson.id == next_id
            mark = STATE_MARK.get(state, "·")
            title = f"{lesson.order:>2}. {lesson.title}"
            if len(title) > title_width:
                title = title[: title_width - 1] + "…"
            prompt = Content.assemble(
                (f"{'▶' if is_next else ' '} ", "bold $accent" if is_next else ""),
                (f"{mark} ", "bold"),
                (f"{title:<{title_width}}", "bold" if is_next else ""),
                f" {state:<11}",
                (f" {score}", "$text-muted"),
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
        self, lessons: list[Any], progress: dict[str, Any], next_id: str | None
    ) -> None:
        # Only lessons in this catalog count (the store may know lessons that are gone).
        known = {lesson.id for lesson in lessons}
        progress = {k: v for k, v in progress.items() if k in known}
        done = sum(1 for lesson in lessons if (p := progress.get(lesson.id)) and p.state == "done")
        right = sum(p.challenges_right for p in progress.values())
        quiz_right = sum(p.quiz_right for p in progress.values())
        # Out of what the lessons hold, so a new learner sees how much there is.
        challenges = sum(len(lesson.challenges) for lesson in lessons)
        questions = sum(len(lesson.quiz) for lesson in lessons)
        total = len(lessons)
        fraction = done / total if total else 0.0
        line = Content.assemble(
            ("Progress ", "bold"),
            "[",
            (bar(fraction, 12, empty="·"), "$success"),
            f"] {done}/{total} lessons done · right: {right}/{challenges} challenges,"
            f" {quiz_right}/{questions} quiz",
        )
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
            p = self.tutor.store.lesson_progress(lesson.id)
            parts += [
                (lesson.title, "bold"),
                f"  ·  {lesson.minutes} min  ·  {count(len(lesson.challenges), 'challenge')}, {count(len(lesson.quiz), 'quiz question')}\n",
                lesson.summary,
                ("   Enter: open", "$text-muted"),
            ]
            if p.seconds:
                parts.append(("\n" + f"time spent {seconds(p.seconds)}", "$text-muted"))
        elif not self.tutor.catalog.lessons:
            parts += [
                ("No lessons found. ", "bold"),
                "Run the game without --only-lessons, or pass --lessons DIR with lesson files.",
            ]
        if errors:
            # The command that finds them (a plain `tutor lint` misses a --lessons folder);
            # a served game names no path of the host.
            where = "the host can list them" if self.tutor.served else f"run {self.tutor.catalog.lint_command()}"
            parts.append(("\n" + f"✗ {count(len(errors), 'problem')} in lesson files: {where}", "$error"))
        # Fixed height in app.tcss: moving through the list repaints, never relayouts.
        details.update(Content.assemble(*parts), layout=False)

    @property
    def highlighted_lesson(self) -> Any | None:
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
            self.tutor.open_lesson(lesson.id, anchor)

    def action_quiz(self) -> None:
        lesson = self.highlighted_lesson
        if lesson is not None:
            self.tutor.open_quiz(lesson.id)

    def action_review(self) -> None:
        from tutor.ui.screens.review import ReviewScreen

        self.app.push_screen(ReviewScreen(self.highlighted_lesson))

    def action_reset_lesson(self) -> None:
        lesson = self.highlighted_lesson
        if lesson is not None:
            self.tutor.confirm_reset(lesson.id)

    def action_reset_all(self) -> None:
        self.tutor.confirm_reset(None)
