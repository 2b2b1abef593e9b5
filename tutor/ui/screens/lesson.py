"""The lesson reader: the Markdown as written, with challenges and quiz questions in place."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from time import monotonic
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Markdown, OptionList
from textual.widgets.option_list import Option

from tutor.ui.messages import ProgressChanged
from tutor.ui.screens.base import TutorScreen
from tutor.ui.textsplit import split_screens
from tutor.ui.widgets.blocks import ActionBlock
from tutor.ui.widgets.keybar import KeyBar
from tutor.ui.widgets.lessontext import LessonText
from tutor.ui.widgets.titlebar import TitleBar


def _first_line(text: str, limit: int = 70) -> str:
    line = next((part.strip() for part in text.strip().splitlines() if part.strip()), "")
    line = line.lstrip("#").strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


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
        Binding("d", "mark_done", "Mark done", id="lesson.done", show=False),
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

    def __init__(self, lesson: Any, anchor: str | None = None) -> None:
        super().__init__()
        self.lesson = lesson
        self.anchor = anchor
        self._since: float | None = None
        self._answers: dict[str, bool] | None = None
        self._pending: list[Widget] = []
        self.filled = False
        """True once every part of the lesson is on screen (tests and the anchor wait for it)."""
        self._when_filled: Callable[[], None] | None = None
        """A key pressed before the whole lesson was mounted, run once it is."""

    def _parts(self) -> list[tuple[str, Any]]:
        """The lesson as ("text", markdown) and ("task", challenge or question) parts.

        Adjacent text and included code are merged, then cut a screenful at a
        time (see `split_screens`): each piece is one Markdown widget.
        """
        from tutor.lessons import Challenge, QuizQuestion

        parts: list[tuple[str, Any]] = []
        for block in self.lesson.blocks:
            if isinstance(block, Challenge | QuizQuestion):
                parts.append(("task", block))
                continue
            if hasattr(block, "source"):
                text = f"`{block.ref}`\n\n```python\n{block.source.rstrip()}\n```"
            else:
                text = block.text
            if parts and parts[-1][0] == "text":
                parts[-1] = ("text", parts[-1][1].rstrip("\n") + "\n\n" + text)
            else:
                parts.append(("text", text))
        # Mounted a screenful at a time: the first frame needs only the first
        # piece, and keys pressed while the rest is mounted wait for one piece at most.
        return [
            (kind, piece)
            for kind, item in parts
            for piece in (split_screens(item) if kind == "text" else [item])
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
            self._pending = widgets[1:]
        yield KeyBar()

    def _widget(self, index: int, kind: str, item: Any) -> Widget:
        from tutor.lessons import Challenge

        if kind == "text":
            return LessonText(item, id=f"part-{index}")
        is_challenge = isinstance(item, Challenge)
        return ActionBlock(
            "challenge" if is_challenge else "quiz",
            item,
            item.question if is_challenge else _first_line(item.question),
            self._status(item),
            id=f"{'challenge' if is_challenge else 'quiz'}-{item.id}",
        )

    @property
    def reader(self) -> VerticalScroll:
        return self.query_one("#reader", VerticalScroll)

    def _status(self, item: Any) -> str:
        if self._answers is None:
            self._answers = self.tutor.answer_states(self.lesson.id)
        answer = self._answers.get(item.id)
        if answer is None:
            return ""
        return "✓ answered right" if answer else "✗ answered, not right yet"

    def on_mount(self) -> None:
        self.sub_title = self.lesson.title
        self.tutor.save(lambda: self.tutor.store.set_position(self.lesson.id, self.anchor))
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
        if self._when_filled is not None:
            self.call_after_refresh(self._when_filled)
            self._when_filled = None
        if self.anchor:
            self.call_after_refresh(self._go_to_anchor, self.anchor)

    async def _next_frame(self) -> None:
        drawn = asyncio.get_running_loop().create_future()
        self.call_after_refresh(lambda: drawn.done() or drawn.set_result(None))
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
        self._answers = None
        for block in self.query(ActionBlock):
            block.set_status(self._status(block.item))

    def on_unmount(self) -> None:
        self.save_time()
        self._since = None
        self._maybe_done()

    def _maybe_done(self) -> None:
        """Every task answered (and every quiz question right): the lesson is done."""
        lesson = self.lesson
        if not lesson.challenges and not lesson.quiz:
            return
        states = self.tutor.answer_states(lesson.id)
        if all(c.id in states for c in lesson.challenges) and all(
            states.get(q.id) for q in lesson.quiz
        ):
            progress = self.tutor.store.lesson_progress(lesson.id)
            if not progress.done:
                if self.tutor.save(lambda: self.tutor.store.mark_done(lesson.id)) is not None:
                    return
                self.notify(f"✓ “{lesson.title}” is done: every task answered.")
                for screen in self.app.screen_stack:
                    if screen is not self:
                        screen.post_message(ProgressChanged(lesson.id))

    def save_time(self) -> None:
        # Time counts while the lesson is open, with whatever it opened on top
        # (challenge, lab, verdict, quiz); the app saves it each minute so a crash loses little.
        if self._since is not None:
            now = monotonic()
            spent = now - self._since
            if spent >= 1:
                self._since = now
                self.tutor.save(lambda: self.tutor.store.add_time(self.lesson.id, spent))

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
        self.tutor.save(lambda: self.tutor.store.set_position(self.lesson.id, item.id))
        if event.block.kind == "challenge":
            self.tutor.open_challenge(self.lesson, item)
        else:
            self.tutor.open_quiz(self.lesson.id, question_id=item.id)

    def action_quiz(self) -> None:
        if not self.lesson.quiz:
            self.notify("This lesson has no quiz questions.")
            return
        self.tutor.open_quiz(self.lesson.id)

    def action_mark_done(self) -> None:
        if self.tutor.save(lambda: self.tutor.store.mark_done(self.lesson.id)) is not None:
            return
        self.notify(f"✓ Saved: “{self.lesson.title}” marked done.")

    def action_back(self) -> None:
        self._maybe_done()
        self.app.pop_screen()
