"""The key bar at the bottom of every screen: one line of text, not a widget per key.

Textual's `Footer` recomposes a widget per key on every bindings change (each
screen switch, each focus move) and, in Textual 8.2, keeps every replaced key
widget alive in a watcher list: a long session grew the heap by ~2,000 objects
per switch and full garbage collections reached 100 ms, which the learner feels
as a stuck key. This bar redraws one line, and only when the keys changed.
"""

from __future__ import annotations

from typing import NamedTuple

from textual import events
from textual.content import Content
from textual.widget import Widget


class ShownKey(NamedTuple):
    key: str
    display: str
    description: str
    enabled: bool


class KeyBar(Widget, can_focus=False):
    """The active screen's shown bindings; a click presses the key."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-foreground;
    }
    """

    ALLOW_SELECT = False

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._keys: tuple[ShownKey, ...] = ()
        self._palette: ShownKey | None = None
        self._spans: list[tuple[int, int, ShownKey]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: object) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        keys: list[ShownKey] = []
        seen_actions: set[str] = set()
        palette: ShownKey | None = None
        app = self.app
        for key, (_node, binding, enabled, _tooltip) in self.screen.active_bindings.items():
            shown = ShownKey(key, app.get_key_display(binding), binding.description, enabled)
            if app.ENABLE_COMMAND_PALETTE and key == app.COMMAND_PALETTE_BINDING:
                palette = shown
                continue
            # One entry per action, as Textual's footer does ("escape,q" is one key).
            if not binding.show or binding.action in seen_actions:
                continue
            seen_actions.add(binding.action)
            keys.append(shown)
        if tuple(keys) != self._keys or palette != self._palette:
            self._keys = tuple(keys)
            self._palette = palette
            self.refresh()

    @property
    def keys(self) -> tuple[ShownKey, ...]:
        """What the bar shows now (tests read it)."""
        return self._keys

    def render(self) -> Content:
        key_style = "bold $footer-key-foreground on $footer-key-background"
        text_style = "$footer-description-foreground on $footer-description-background"
        parts: list[Content] = []
        spans: list[tuple[int, int, ShownKey]] = []
        x = 0
        for shown in self._keys:
            # Disabled keys stay visible (dim and marked), never by colour alone.
            dim = "" if shown.enabled else " dim"
            piece = Content.assemble(
                (f" {shown.display} ", key_style + dim),
                (f"{shown.description} ", text_style + dim),
            )
            spans.append((x, x + piece.cell_length, shown))
            parts.append(piece)
            x += piece.cell_length
        if self._palette is not None:
            palette = Content.assemble(
                ("▏", "$foreground 20%"),
                (f"{self._palette.display} ", key_style),
                (f"{self._palette.description} ", text_style),
            )
            start = max(x, self.size.width - palette.cell_length)
            if start + palette.cell_length <= self.size.width:
                parts.append(Content(" " * (start - x)))
                parts.append(palette)
                spans.append((start, start + palette.cell_length, self._palette))
        self._spans = spans
        return Content("").join(parts)

    def on_click(self, event: events.Click) -> None:
        for start, end, shown in self._spans:
            if start <= event.x < end:
                if shown.enabled:
                    self.app.simulate_key(shown.key)
                else:
                    self.app.bell()
                return
