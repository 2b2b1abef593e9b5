"""Messages the game posts, named for what already happened.

Lab workers run in threads and never touch widgets: they post these messages
(``post_message`` is thread-safe) and the screen's ``@on`` handlers own the
state. High-rate events go through :class:`EventReceived`; the screen only
records them and redraws on a 10 Hz timer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


@dataclass
class RunStarted(Message):
    """The lab child process for one strategy was started (in round ``round`` of the comparison)."""

    strategy: str
    index: int
    total: int
    round: int = 0


@dataclass
class EventReceived(Message):
    """One event from the lab child (see docs/architecture.md for the kinds)."""

    strategy: str
    event: dict[str, Any] = field(default_factory=dict)

    def can_replace(self, message: Message) -> bool:
        # Textual drops this message when the next queued one "can replace" it.
        # A sample is a snapshot: if the UI falls behind, only the newest matters.
        # (Phase and worker events are never dropped: the lanes are built from them.)
        return (
            isinstance(message, EventReceived)
            and message.strategy == self.strategy
            and self.event.get("event") == "sample"
            and message.event.get("event") == "sample"
        )


@dataclass
class RunFinished(Message):
    """One strategy's run ended: result is the "result" event, or None if it died."""

    strategy: str
    result: dict[str, Any] | None
    error: str | None = None


@dataclass
class RunsCompleted(Message):
    """The comparison ended (or the learner cancelled): its summaries and the work it measured."""

    cancelled: bool
    summaries: list[dict[str, Any]] = field(default_factory=list)
    work: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None


@dataclass
class ProgressChanged(Message):
    """Something was saved or reset: screens showing progress refresh."""

    lesson_id: str | None = None
