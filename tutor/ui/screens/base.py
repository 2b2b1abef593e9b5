"""What every screen of the game shares: typed access to the app's services."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from tutor.ui.app import TutorApp


class TutorScreen(Screen):
    @property
    def tutor(self) -> TutorApp:
        return cast("TutorApp", self.app)
