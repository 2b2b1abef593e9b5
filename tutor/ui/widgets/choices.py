"""A keyboard-first list of choices: ( )/(•) for one answer, [ ]/[x] for several."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option


class ChoiceList(OptionList):
    """Space ticks the highlighted choice; Enter answers (and ticks it when only one may be chosen)."""

    BINDINGS = [
        Binding("space", "tick", "Tick", id="choices.toggle", show=False),
    ]

    DEFAULT_CSS = """
    ChoiceList { height: auto; max-height: 12; border: none; padding: 0 1; }
    """

    @dataclass
    class Submitted(Message):
        """Enter was pressed: `chosen` holds the ticked indexes (in order)."""

        choice_list: ChoiceList
        chosen: list[int]
        again: bool = False
        """Enter on the answer that was already chosen (one-answer lists only)."""

        @property
        def control(self) -> ChoiceList:
            return self.choice_list

    def __init__(self, labels: list[str], *, multiple: bool = False, id: str | None = None) -> None:
        self.labels = list(labels)
        self.multiple = multiple
        self.chosen: list[int] = []
        super().__init__(*self._make_options(), id=id)

    def _prompt(self, index: int) -> Content:
        on_ = index in self.chosen
        marks = ("[ ]", "[x]") if self.multiple else ("( )", "(•)")
        mark = marks[on_]
        return Content.assemble((mark, "bold" if on_ else ""), " ", self.labels[index])

    def _make_options(self) -> list[Option]:
        return [Option(self._prompt(i), id=f"choice-{i}") for i in range(len(self.labels))]

    def _redraw(self) -> None:
        for index in range(len(self.labels)):
            self.replace_option_prompt_at_index(index, self._prompt(index))

    def tick(self, index: int) -> None:
        if self.multiple:
            if index in self.chosen:
                self.chosen.remove(index)
            else:
                self.chosen.append(index)
                self.chosen.sort()
        else:
            self.chosen = [index]
        self._redraw()

    def clear(self) -> None:
        self.chosen = []
        self._redraw()

    def action_tick(self) -> None:
        if self.highlighted is not None:
            self.tick(self.highlighted)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        # Enter (or a click) on an option: OptionList's own message becomes ours.
        event.stop()
        again = not self.multiple and self.chosen == [event.option_index]
        if not self.multiple or not self.chosen:
            self.tick(event.option_index)
        self.post_message(self.Submitted(self, list(self.chosen), again))
