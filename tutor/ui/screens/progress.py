"""Progress per lesson and overall: challenges right, prediction accuracy, quiz, time."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Static

from tutor.ui.format import seconds
from tutor.ui.messages import ProgressChanged
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.keybar import KeyBar
from tutor.ui.widgets.titlebar import TitleBar
from tutor.wording import score

STATE_MARK = {"done": "✓ done", "in progress": "◐ started", "not started": "· new"}


def accuracy(error: float | None) -> str:
    """Prediction error (relative) as an accuracy a learner reads at a glance."""
    if error is None:
        return "—"
    return f"±{abs(error) * 100:.0f}%"


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
                "Prediction: how far your speedup guesses were from the measurement (lower is better).",
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

    def on_progress_changed(self, _: ProgressChanged) -> None:
        self.fill()

    def fill(self) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        store = self.tutor.store
        progress = store.all_progress()
        totals: dict[str, Any] = {
            "ch": 0,
            "chr": 0,
            "cht": 0,
            "q": 0,
            "qr": 0,
            "qt": 0,
            "s": 0.0,
            "done": 0,
            "errors": [],
        }
        title_w = max(self.size.width - 56, 16)
        for lesson in self.tutor.catalog.lessons:
            p = progress.get(lesson.id) or store.lesson_progress(lesson.id)
            totals["ch"] += p.challenges_answered
            totals["chr"] += p.challenges_right
            totals["q"] += p.quiz_answered
            totals["qr"] += p.quiz_right
            totals["cht"] += len(lesson.challenges)
            totals["qt"] += len(lesson.quiz)
            totals["s"] += p.seconds or 0.0
            totals["done"] += p.state == "done"
            if p.prediction_error is not None:
                totals["errors"].append(p.prediction_error)
            title = (
                lesson.title if len(lesson.title) <= title_w else lesson.title[: title_w - 1] + "…"
            )
            table.add_row(
                title,
                STATE_MARK.get(p.state, p.state),
                score(p.challenges_right, p.challenges_answered, len(lesson.challenges), none="—"),
                accuracy(p.prediction_error),
                score(p.quiz_right, p.quiz_answered, len(lesson.quiz), none="—"),
                seconds(p.seconds) if p.seconds else "—",
                key=lesson.id,
            )
        if cursor is not None and table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        errors = totals["errors"]
        mean_error = sum(abs(e) for e in errors) / len(errors) if errors else None
        self.query_one("#progress-overall", Static).update(
            Content.assemble(
                ("Overall: ", "bold"),
                f"{totals['done']}/{len(self.tutor.catalog.lessons)} lessons done · ",
                f"right/answered: challenges {score(totals['chr'], totals['ch'], totals['cht'], none='—')} · ",
                f"quiz {score(totals['qr'], totals['q'], totals['qt'], none='—')} · ",
                f"predictions {accuracy(mean_error)} · ",
                f"time {seconds(totals['s']) if totals['s'] else '—'}",
            )
        )

    def _selected_lesson(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value

    def action_reset_lesson(self) -> None:
        lesson_id = self._selected_lesson()
        if lesson_id:
            self.tutor.confirm_reset(lesson_id)

    def action_reset_all(self) -> None:
        self.tutor.confirm_reset(None)

    def action_back(self) -> None:
        self.app.pop_screen()
