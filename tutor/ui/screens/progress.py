"""Progress per lesson and overall: challenges right, prediction accuracy, quiz, time."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from tutor.ui.format import seconds
from tutor.ui.messages import ProgressChanged, ResetRequested
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.keybar import KeyBar
from tutor.ui.widgets.titlebar import TitleBar
from tutor.wording import DONE_RULE, NONE, percent_off, score

STATE_MARK = {"done": "✓ done", "in progress": "◐ started", "not started": "· new"}

FIXED_COLUMNS = 9 + 10 + 11 + 10 + 11
"""State, Challenges, Prediction, Quiz and Time at their widest (`12 min 05 s`)."""


class ProgressScreen(TutorScreen):
    BINDINGS = [
        Binding("escape,p", "back", "Back", id="progress.back"),
        Binding("r", "reset_lesson", "Reset lesson", id="progress.reset_lesson"),
        Binding("R", "reset_all", "Reset all", id="progress.reset_all"),
    ]

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static(id="progress-overall")
        yield DataTable(id="progress-table", cursor_type="row", zebra_stripes=True)
        yield Static(
            Content.styled(
                f"{DONE_RULE}\nChallenges and quiz: right/answered of all. Prediction: how far"
                " your speedup guesses were from the measurement, on average.",
                "$text-muted",
            ),
            id="progress-legend",
        )
        yield KeyBar()

    def on_mount(self) -> None:
        self.sub_title = "progress"
        table = self.query_one(DataTable)
        table.add_columns("Lesson", "State", "Challenges", "Prediction", "Quiz", "Time")
        self.fill()
        table.focus()

    @on(ProgressChanged)
    def _progress_changed(self) -> None:
        self.fill()

    def on_resize(self) -> None:
        if self.is_mounted and self.query(DataTable):
            self.fill()

    def fill(self) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        store = self.tutor.store
        progress = store.all_progress()
        lessons = self.tutor.catalog.lessons
        # Every column keeps its whole text (a time with its unit): the title gives way.
        # Six columns with one cell of padding on each side, and the scrollbar.
        title_w = max(self.size.width - FIXED_COLUMNS - 12 - 2, 12)
        rows = [progress.get(lesson.id) or store.lesson_progress(lesson.id) for lesson in lessons]
        for lesson, p in zip(lessons, rows, strict=True):
            title = (
                lesson.title if len(lesson.title) <= title_w else lesson.title[: title_w - 1] + "…"
            )
            table.add_row(
                title,
                STATE_MARK.get(p.state, p.state),
                score(p.challenges_right, p.challenges_answered, len(lesson.challenges)),
                percent_off(p.prediction_error),
                score(p.quiz_right, p.quiz_answered, len(lesson.quiz)),
                seconds(p.seconds) if p.seconds else NONE,
                key=lesson.id,
            )
        if cursor is not None and table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        spent = sum(p.seconds for p in rows)
        self.query_one("#progress-overall", Static).update(
            Content.assemble(
                ("Overall: ", "bold"),
                f"{sum(p.done for p in rows)}/{len(lessons)} lessons done · ",
                "challenges "
                + score(
                    sum(p.challenges_right for p in rows),
                    sum(p.challenges_answered for p in rows),
                    sum(len(lesson.challenges) for lesson in lessons),
                )
                + " · ",
                "quiz "
                + score(
                    sum(p.quiz_right for p in rows),
                    sum(p.quiz_answered for p in rows),
                    sum(len(lesson.quiz) for lesson in lessons),
                )
                + " · ",
                # Over every prediction, as `tutor progress show` computes it.
                f"predictions {percent_off(store.prediction_error())} · ",
                f"time {seconds(spent) if spent else NONE}",
            )
        )

    def _selected_lesson(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value

    def action_reset_lesson(self) -> None:
        lesson_id = self._selected_lesson()
        if lesson_id:
            self.post_message(ResetRequested(lesson_id))

    def action_reset_all(self) -> None:
        self.post_message(ResetRequested(None))

    def action_back(self) -> None:
        self.dismiss()
