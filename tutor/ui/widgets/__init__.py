"""Small reusable widgets of the game.

Imported lazily: every screen imports the key bar from here, and the lesson map
(the first frame) must not pay for the lab's or the lesson reader's widgets.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_HOMES = {
    "ActionBlock": "tutor.ui.widgets.blocks",
    "ChoiceList": "tutor.ui.widgets.choices",
    "CompareTable": "tutor.ui.widgets.lab",
    "CpuMeter": "tutor.ui.widgets.lab",
    "LanesView": "tutor.ui.widgets.lab",
    "Notice": "tutor.ui.widgets.notice",
}

__all__ = ["ActionBlock", "ChoiceList", "CompareTable", "CpuMeter", "LanesView", "Notice"]

if TYPE_CHECKING:
    from tutor.ui.widgets.blocks import ActionBlock
    from tutor.ui.widgets.choices import ChoiceList
    from tutor.ui.widgets.lab import CompareTable, CpuMeter, LanesView
    from tutor.ui.widgets.notice import Notice


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
