"""Messages the game posts, named for what already happened.

Lab workers run in threads and never touch widgets: they post these messages
(``post_message`` is thread-safe) and the screen's ``@on`` handlers own the
state. High-rate events go through :class:`EventReceived`; the screen only
records them and redraws on a 10 Hz timer.

Screens never call the app to move on: they post a navigation message (the
second group below), which bubbles from the screen to the app, and the app's
``@on`` handler opens or closes screens. A screen that returns a value (the
lab's :class:`tutor.ui.outcome.LabOutcome`, a confirmation) does it with
``dismiss(value)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from tutor.lab.events import Event
    from tutor.lessons import Challenge, Lesson


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
    event: Event = field(default_factory=dict)

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
    result: Event | None
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


# Navigation: posted by screens, handled by the app ---------------------------


@dataclass
class LessonChosen(Message):
    """The learner chose a lesson (on the map, the palette, or "next lesson" after a quiz)."""

    lesson_id: str
    anchor: str | None = None
    """A challenge or question id to scroll to (where the learner left off)."""


@dataclass
class QuizChosen(Message):
    """The learner asked for a lesson's quiz; at ``question_id``, else at the first not yet right."""

    lesson_id: str
    question_id: str | None = None


@dataclass
class ChallengeChosen(Message):
    """A challenge block was opened in the lesson."""

    lesson: Lesson
    challenge: Challenge


@dataclass
class ChallengeCommitted(Message):
    """The learner committed to a strategy (and maybe a speedup guess): the lab may run."""

    lesson: Lesson
    challenge: Challenge
    choice: str
    predicted_speedup: float | None


@dataclass
class VerdictClosed(Message):
    """The learner left the verdict: back to the lesson, or ``retry`` the challenge."""

    retry: bool = False


@dataclass
class ResetRequested(Message):
    """The learner asked to forget a lesson's progress (or all of it, ``lesson_id`` None)."""

    lesson_id: str | None


@dataclass
class AnswerRecorded(Message):
    """A challenge verdict or quiz answer was saved: the app applies the done rule."""

    lesson_id: str
