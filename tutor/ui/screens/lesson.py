"""The lesson reader: the Markdown as written, with challenges and quiz questions in place."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Markdown, OptionList, Static
from textual.widgets.option_list import Option

from tutor.lessons import Challenge, QuizQuestion
from tutor.ui.messages import ChallengeChosen, ProgressChanged, QuizChosen
from tutor.ui.screens.base import TutorScreen
from tutor.ui.textsplit import split_screens
from tutor.ui.widgets.blocks import ActionBlock
from tutor.ui.widgets.keybar import KeyBar
from tutor.ui.widgets.lessontext import LessonText
from tutor.ui.widgets.titlebar import TitleBar
from tutor.wording import to_finish

if TYPE_CHECKING:
    from tutor.lessons import Lesson
    from tutor.progress import TaskStates

Task = Challenge | QuizQuestion


def _first_paragraph(text: str, limit: int = 200) -> str:
    """A question's first paragraph as one line (its source lines may break mid-sentence)."""
    lines: list[str] = []
    for raw in text.strip().splitlines():
        line = raw.strip()
        if not line or line.startswith(("```", "~~~")):
            break
        lines.append(line.lstrip("#").strip())
    paragraph = " ".join(lines)
    if len(paragraph) <= limit:
        return paragraph
    return paragraph[: paragraph.rfind(" ", 0, limit - 1)] + " …"


class ContentsScreen(ModalScreen[str | None]):
    """The table of contents as a pop-up list (a side panel would not fit 80 columns)."""

    BINDINGS = [Binding("escape,t", "dismiss_none", "Close", id="contents.close")]

    DEFAULT_CSS = """
    ContentsScreen { align: center middle; }
    ContentsScreen > OptionList { width: 64; max-width: 90%; height: auto; max-height: 80%;
        border: round $accent; border-title-align: center; }
    """

    def __init__(self, entries: list[tuple[str, str]]) -> None:
        super().__init__()
        self.entries = entries

    def compose(self) -> ComposeResult:
        options = [Option(label, id=key) for key, label in self.entries]
        option_list = OptionList(*options)
        option_list.border_title = "Contents"
        yield option_list

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class LessonScreen(TutorScreen):
    """One lesson. Tab moves between interactive blocks; the text scrolls with the arrows.

    Nothing in the text takes the focus: focusing the scrolling text would make
    Textual restyle every block of the lesson on each focus change, which was
    most of the time it took to open and to leave a long lesson. The arrows are
    the screen's own keys instead.
    """

    AUTO_FOCUS = ""  # (None would mean the app's "*": the first task block)

    BINDINGS = [
        Binding("escape", "back", "Map", id="lesson.back"),
        Binding("t", "contents", "Contents", id="lesson.contents"),
        Binding("n", "next_block", "Next task", id="lesson.next_block"),
        Binding("z", "quiz", "Quiz", id="lesson.quiz"),
        Binding("j", "scroll('down')", "Scroll down", id="lesson.down", show=False),
        Binding("k", "scroll('up')", "Scroll up", id="lesson.up", show=False),
        Binding("space", "scroll('page_down')", "Page down", id="lesson.page", show=False),
        Binding("down", "scroll('down')", "Scroll down", show=False),
        Binding("up", "scroll('up')", "Scroll up", show=False),
        Binding("pagedown", "scroll('page_down')", "Page down", show=False),
        Binding("pageup", "scroll('page_up')", "Page up", show=False),
        Binding("home", "scroll('home')", "Top", show=False),
        Binding("end", "scroll('end')", "End", show=False),
    ]

    def __init__(self, lesson: Lesson, resume_at: str | None = None) -> None:
        super().__init__()
        self.lesson = lesson
        self.resume_at = resume_at
        """The challenge or question id to scroll to once the text is there (where the learner left)."""
        self._since: float | None = None
        self._answers: TaskStates | None = None
        self._pending: list[Widget] = []
        self.filled = False
        """True once every part of the lesson is on screen (tests and the anchor wait for it)."""
        self._when_filled: Callable[[], None] | None = None
        """A key pressed before the whole lesson was mounted, run once it is."""

    def _parts(self) -> list[tuple[str, str | Task]]:
        """The lesson as ("text", markdown) and ("task", challenge or question) parts.

        Adjacent text and included code are merged, then cut a screenful at a
        time (see `split_screens`): each piece is one Markdown widget.
        """
        from tutor.lessons import Include

        parts: list[tuple[str, str | Task]] = []
        for block in self.lesson.blocks:
            if isinstance(block, Challenge | QuizQuestion):
                parts.append(("task", block))
                continue
            if isinstance(block, Include):
                text = f"`{block.ref}`\n\n```python\n{block.source.rstrip()}\n```"
            else:
                text = block.text
            last = parts[-1][1] if parts else None
            if isinstance(last, str):
                parts[-1] = ("text", last.rstrip("\n") + "\n\n" + text)
            else:
                parts.append(("text", text))
        # Mounted a screenful at a time: the first frame needs only the first
        # piece, and keys pressed while the rest is mounted wait for one piece at most.
        return [
            (kind, piece)
            for kind, item in parts
            for piece in (split_screens(item) if isinstance(item, str) else [item])
        ]

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with VerticalScroll(id="reader", can_focus=False):
            widgets = [
                self._widget(index, kind, item) for index, (kind, item) in enumerate(self._parts())
            ]
            # Only the first part comes with the first frame; the rest is mounted
            # right after it. Every Markdown block is a widget, and mounting a
            # long lesson's all at once held the screen back by 200-300 ms.
            yield from widgets[:1]
            # The done rule as it applies here, at the end of the text.
            self._pending = [*widgets[1:], Static(id="lesson-finish")]
        yield KeyBar()

    def _widget(self, index: int, kind: str, item: str | Task) -> Widget:
        if isinstance(item, str):
            return LessonText(item, id=f"part-{index}")
        is_challenge = isinstance(item, Challenge)
        return ActionBlock(
            "challenge" if is_challenge else "quiz",
            item,
            item.question if is_challenge else _first_paragraph(item.question),
            self._status(item),
            id=f"{'challenge' if is_challenge else 'quiz'}-{item.id}",
        )

    @property
    def reader(self) -> VerticalScroll:
        return self.query_one("#reader", VerticalScroll)

    def _states(self) -> TaskStates:
        if self._answers is None:
            self._answers = self.tutor.store.task_states(self.lesson.id)
        return self._answers

    def _status(self, item: Task) -> str:
        states = self._states()
        if isinstance(item, Challenge):
            verdict = states.challenges.get(item.id)
            if verdict is None:
                return ""
            # Tried is what the done rule asks of a challenge; its best verdict is kept.
            return "✓ tried: right" if verdict else "✓ tried (not right yet: you may try again)"
        answer = states.questions.get(item.id)
        if answer is None:
            return ""
        return "✓ answered right" if answer else "✗ answered, not right yet"

    def _finish_line(self) -> Content:
        states = self._states()
        left = to_finish(
            sum(c.id not in states.challenges for c in self.lesson.challenges),
            sum(not states.questions.get(q.id, False) for q in self.lesson.quiz),
            has_tasks=bool(self.lesson.challenges or self.lesson.quiz),
        )
        return Content.styled(left, "bold")

    def on_mount(self) -> None:
        self.sub_title = self.lesson.title
        self.tutor.saver.save(lambda: self.tutor.store.set_position(self.lesson.id, self.resume_at))
        self._since = monotonic()
        self.call_after_refresh(self._start_filling)

    def _start_filling(self) -> None:
        # exit_on_error=False: the learner may leave before the text is all there.
        self.run_worker(self._fill(), exclusive=True, group="lesson-fill", exit_on_error=False)

    async def _fill(self) -> None:
        # One part at a time, not inside app.batch_update(): keys pressed meanwhile
        # are handled between two parts, and each part is drawn before the next
        # one is built (the first screen is complete as soon as its parts are).
        while self._pending:
            if not self.is_attached:
                return  # the learner already left the lesson
            await self.reader.mount(self._pending.pop(0))
            await self._next_frame()
        self.filled = True
        self._refresh_states()
        if self._when_filled is not None:
            self.call_after_refresh(self._when_filled)
            self._when_filled = None
        if self.resume_at:
            self.call_after_refresh(self._go_to_anchor, self.resume_at)

    async def _next_frame(self) -> None:
        drawn = asyncio.get_running_loop().create_future()
        self.call_after_refresh(lambda: None if drawn.done() else drawn.set_result(None))
        # Bounded: a screen that has just been closed never refreshes again.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drawn, timeout=0.5)

    def _go_to_anchor(self, anchor: str) -> None:
        for prefix in ("challenge-", "quiz-"):
            found = self.query(f"#{prefix}{anchor}")
            if found:
                self.reader.scroll_to_widget(found.first(), top=True, animate=False)
                found.first().focus(scroll_visible=False)
                return

    def on_screen_resume(self) -> None:
        # (TutorScreen's handler runs too: Textual calls each class's on_ method.)
        self._refresh_states()

    @on(ProgressChanged)
    def _progress_changed(self) -> None:
        self._refresh_states()

    def _refresh_states(self) -> None:
        """Each task's state and what is left to finish, as saved (answers or a reset)."""
        self._answers = None
        for block in self.query(ActionBlock):
            block.set_status(self._status(block.item))
        for line in self.query("#lesson-finish").results(Static):
            line.update(self._finish_line())

    def on_unmount(self) -> None:
        self.save_time()
        self._since = None

    def save_time(self) -> None:
        # Time counts while the lesson is open, with whatever it opened on top
        # (challenge, lab, verdict, quiz); the app saves it each minute so a crash loses little.
        if self._since is not None:
            now = monotonic()
            spent = now - self._since
            if spent >= 1:
                self._since = now
                self.tutor.saver.save(lambda: self.tutor.store.add_time(self.lesson.id, spent))

    # Table of contents -------------------------------------------------
    def _contents(self) -> list[tuple[str, str]]:
        entries: list[tuple[str, str]] = []
        for widget in self.reader.children:
            if isinstance(widget, Markdown):
                for level, label, block_id in widget.table_of_contents:
                    if block_id and level <= 3:
                        entries.append(
                            (f"{widget.id}/{block_id}", "  " * max(level - 1, 0) + label)
                        )
            elif isinstance(widget, ActionBlock) and widget.id:
                icon = "▶" if widget.kind == "challenge" else "?"
                entries.append((widget.id, f"    {icon} {widget.title_text[:50]}"))
        return entries

    def action_contents(self) -> None:
        if not self.filled:
            self._when_filled = self.action_contents
            return
        self.app.push_screen(ContentsScreen(self._contents()), callback=self._jump)

    def _jump(self, key: str | None) -> None:
        if not key:
            return
        if "/" in key:
            part, block_id = key.split("/", 1)
            found = self.query(f"#{part}").first(Markdown).query(f"#{block_id}")
        else:
            found = self.query(f"#{key}")
        if not found:
            return  # the entry is no longer in the lesson: stay put
        target = found.first()
        self.reader.scroll_to_widget(target, top=True, animate=False)
        if target.focusable:
            target.focus(scroll_visible=False)
        else:
            self.set_focus(None, scroll_visible=False)

    # Moving around -----------------------------------------------------
    def action_scroll(self, where: str) -> None:
        getattr(self.reader, f"scroll_{where}")(animate=False)

    def action_next_block(self) -> None:
        if not self.filled:
            self._when_filled = self.action_next_block  # typed ahead: done once there
            return
        blocks = list(self.query(ActionBlock))
        if not blocks:
            self.notify("This lesson has no challenge or quiz.")
            return
        focused = self.focused
        if isinstance(focused, ActionBlock) and focused in blocks:
            target = blocks[(blocks.index(focused) + 1) % len(blocks)]
        else:
            # From the text: the first task at or below what is on screen now.
            top = self.reader.scroll_y
            target = next((b for b in blocks if b.virtual_region.y >= top), blocks[0])
        target.focus()

    @on(ActionBlock.Opened)
    def _open_block(self, event: ActionBlock.Opened) -> None:
        item = event.block.item
        self.tutor.saver.save(lambda: self.tutor.store.set_position(self.lesson.id, item.id))
        if isinstance(item, Challenge):
            self.post_message(ChallengeChosen(self.lesson, item))
        else:
            self.post_message(QuizChosen(self.lesson.id, question_id=item.id))

    def action_quiz(self) -> None:
        if not self.lesson.quiz:
            self.notify("This lesson has no quiz questions.")
            return
        self.post_message(QuizChosen(self.lesson.id))

    def action_back(self) -> None:
        self.dismiss()
