"""Writing progress from the game: a full disk or a locked file must not end it.

The app holds one :class:`Saver` (``app.saver``); screens write through it
(``self.tutor.saver.save(lambda: store.record_quiz(...))``) instead of calling
the app, and read the store directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable

NOT_SAVED_TOAST_S = 60.0
"""A store that cannot write says so once a minute, not at every autosave."""


class Saver:
    def __init__(self, tell: Callable[[str], None]) -> None:
        self._tell = tell
        """Shows the learner one line (a warning toast in the game)."""
        self._told: dict[str, float] = {}

    def save(self, write: Callable[[], object], *, quiet: bool = False) -> str | None:
        """Run one store write; None if it was saved, else the short reason it was not.

        The learner keeps playing and is told, in words without any host path,
        that this was not kept. ``quiet`` callers show the reason where "saved"
        would have been; the others get a toast, at most one a minute for the
        same reason.
        """
        from tutor.progress import ProgressStoreError

        try:
            write()
        except ProgressStoreError as exc:
            reason = getattr(exc, "reason", None) or "the progress file could not be written"
            if not quiet:
                now = time.monotonic()
                last = self._told.get(reason)
                if last is None or now - last >= NOT_SAVED_TOAST_S:
                    self._told[reason] = now
                    self._tell(f"Not saved: {reason}.")
            return reason
        return None
