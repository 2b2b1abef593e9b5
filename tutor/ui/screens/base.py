"""What every screen of the game shares: typed access to the app's services."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from tutor.ui.app import TutorApp


class TutorScreen(Screen):
    _shown_before = False

    def on_screen_resume(self) -> None:
        # Back on a game screen: what the screens closed since drew can go.
        from tutor.ui.memory import release_render_caches

        release_render_caches()
        if self._shown_before:
            # Uncovered by a screen that closed: collect that screen once this
            # one is drawn (not on a first showing: a lesson is still filling then).
            self.call_after_refresh(self.tutor.collector.collect)
        self._shown_before = True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Nothing opens once the learner has quit (keys typed just after q).
        return not self.tutor.leaving

    def save_time(self) -> None:
        """Save the time counted on this screen (the app calls it each minute)."""

    @property
    def tutor(self) -> TutorApp:
        return cast("TutorApp", self.app)
