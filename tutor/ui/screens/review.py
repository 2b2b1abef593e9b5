"""Review: every lesson's "What to remember", in course order, on one page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Markdown

from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.keybar import KeyBar
from tutor.ui.widgets.lessontext import LessonText

if TYPE_CHECKING:
    from textual.widget import Widget

    from tutor.lessons import Lesson
from tutor.ui.widgets.titlebar import TitleBar


def review_markdown(lessons: list[Lesson]) -> str:
    """One Markdown page: a heading per lesson, its remember lines as a list.

    A lesson without a "What to remember" (an author's own lesson, say) is
    named with a note rather than left out, so the page matches the map.
    """
    parts: list[str] = []
    for lesson in lessons:
        parts.append(f"### {lesson.order}. {lesson.title}")
        if lesson.remember:
            parts.append("\n".join(f"- {item}" for item in lesson.remember))
        else:
            parts.append("*This lesson has no “What to remember” section.*")
    return "\n\n".join(parts) if parts else "*No lessons found.*"


class ReviewScreen(TutorScreen):
    """Read-only; opened from the map at the lesson highlighted there, Escape goes back to it."""

    CSS_PATH = "review.tcss"

    BINDINGS = [
        Binding("escape,w", "back", "Map", id="review.back"),
        Binding("j", "scroll('down')", "Scroll down", show=False, id="review.down"),
        Binding("k", "scroll('up')", "Scroll up", show=False, id="review.up"),
        Binding("space", "scroll('page_down')", "Page down", show=False, id="review.page"),
    ]

    def __init__(self, start: Lesson | None = None) -> None:
        super().__init__()
        self.start = start
        """The lesson whose lines are shown first (None: the top of the page)."""

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with VerticalScroll(id="review"):
            yield LessonText(review_markdown(self.tutor.catalog.lessons), id="review-text")
        yield KeyBar()

    def on_mount(self) -> None:
        self.sub_title = "what to remember"
        # The scroll area takes the keys: arrows, Page Up/Down, Home and End scroll it.
        self.query_one("#review", VerticalScroll).focus()

    @on(Markdown.TableOfContentsUpdated)
    def _go_to_start(self, event: Markdown.TableOfContentsUpdated) -> None:
        # The headings exist once the Markdown has parsed: only then can the page scroll to one.
        if self.start is None:
            return
        label = f"{self.start.order}. {self.start.title}"
        block_id = next((b for _, text, b in event.table_of_contents if text == label and b), None)
        if block_id is not None:
            heading = self.query_one(f"#review-text #{block_id}")
            self.call_after_refresh(self._show_heading, heading)

    def _show_heading(self, heading: Widget) -> None:
        self.query_one("#review", VerticalScroll).scroll_to_widget(heading, top=True, animate=False)

    def action_scroll(self, where: str) -> None:
        getattr(self.query_one("#review", VerticalScroll), f"scroll_{where}")(animate=False)

    def action_back(self) -> None:
        self.app.pop_screen()
