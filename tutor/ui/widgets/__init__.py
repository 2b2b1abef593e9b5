"""Small reusable widgets of the game."""

from tutor.ui.widgets.blocks import ActionBlock
from tutor.ui.widgets.choices import ChoiceList
from tutor.ui.widgets.lab import CompareTable, CpuMeter, LanesView

__all__ = ["ActionBlock", "ChoiceList", "CompareTable", "CpuMeter", "LanesView"]
