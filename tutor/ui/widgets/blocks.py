"""Interactive blocks placed in the lesson text where the lesson file has them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

if TYPE_CHECKING:
    from tutor.lessons import Challenge, QuizQuestion


class ActionBlock(Static, can_focus=True):
    """A focusable block: Enter (or a click) opens what it stands for."""

    BINDINGS = [Binding("enter", "open", "Open", id="block.open")]

    DEFAULT_CSS = """
    ActionBlock {
        height: auto;
        margin: 1 0;
        padding: 0 1;
        border: round $primary;
    }
    ActionBlock:focus { border: heavy $accent; background: $boost; }
    """

    @dataclass
    class Opened(Message):
        block: ActionBlock

    def __init__(
        self,
        kind: str,
        item: Challenge | QuizQuestion,
        title: str,
        status: str = "",
        *,
        id: str | None = None,
    ) -> None:
        self.kind = kind
        self.item = item
        self.title_text = title
        self.status = status
        super().__init__(self._content(), id=id)

    def _content(self) -> Content:
        icon = "▶ Challenge" if self.kind == "challenge" else "? Quiz question"
        parts: list[str | tuple[str, str]] = [(icon, "bold"), ": ", self.title_text]
        if self.status:
            parts += ["\n", (self.status, "italic")]
        parts += ["\n", ("Enter to open", "$text-muted")]
        return Content.assemble(*parts)

    def set_status(self, status: str) -> None:
        self.status = status
        self.update(self._content())

    def action_open(self) -> None:
        self.post_message(self.Opened(self))

    def on_click(self) -> None:
        self.action_open()
