"""`?`: every key that works on the screen below, plus the keys that work everywhere."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

GENERAL = [
    ("↑ ↓ PgUp PgDn", "move and scroll"),
    ("Tab / Shift+Tab", "next / previous control"),
    ("Enter", "open, choose, confirm"),
    ("Ctrl+P", "commands: go to a lesson, progress, reset, theme"),
    ("?", "this help"),
    ("Ctrl+T", "colour theme"),
    ("q / Ctrl+C", "quit (a running lab run is cancelled first)"),
]
"""The app's own keys (ids "app.*") are listed here once, not again under "On this screen"."""


def _key_name(app: App[object], key: str) -> str:
    try:
        return app.get_key_display(Binding(key, ""))
    except Exception:
        return key


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", id="help.close")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 72; max-width: 98%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
        border-title-align: center; border-subtitle-align: center;
    }
    """

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        scroller = VerticalScroll()
        scroller.border_title = "Keys"
        scroller.border_subtitle = "Escape to close"
        with scroller:
            yield Static(self._text(), id="help-text")

    def _text(self) -> Content:
        lines: list[Content] = [Content.styled("On this screen", "bold")]
        seen: set[tuple[str, str]] = set()
        for key, active in self.below.active_bindings.items():
            binding = active.binding
            description = binding.description or binding.action
            # Only the game's own bindings (they all have ids); arrows and Tab are under "Everywhere".
            if (
                binding.system
                or not binding.id
                or binding.id.startswith("app.")
                or not binding.description
                or (key, description) in seen
            ):
                continue
            seen.add((key, description))
            state = "" if active.enabled else " (not now)"
            lines.append(Content(f"  {_key_name(self.app, key):<16} {description}{state}"))
        lines.append(Content(""))
        lines.append(Content.styled("Everywhere", "bold"))
        for key, description in GENERAL:
            lines.append(Content(f"  {key:<16} {description}"))
        return Content("\n").join(lines)

    def action_close(self) -> None:
        self.dismiss(None)
