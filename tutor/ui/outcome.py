"""What a finished lab run hands back to the app (``LabScreen.dismiss(outcome)``).

The app judges it, records the verdict (whether or not the learner looks at
it) and shows the verdict screen when asked: the lab screen never reaches into
the app, and the verdict screen never reads the lab screen's model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor.lab.events import Event
    from tutor.lab.verdict import Verdict
    from tutor.lessons import Challenge, Lesson
    from tutor.progress import Store

SAVED = "saved"
"""What the verdict screen is told when the attempt was saved (else the reason it was not)."""


@dataclass(frozen=True)
class LabOutcome:
    """A comparison that finished with at least one measured run."""

    lesson: Lesson
    challenge: Challenge
    choice: str
    predicted_speedup: float | None
    results: dict[str, Event]
    """Strategy -> its summary (the lab's result event, see docs/architecture.md)."""
    order: list[str]
    see_verdict: bool = True
    """False when the learner left the finished lab with Escape: recorded, not shown."""

    def judge(self) -> Verdict:
        from tutor.lab.verdict import judge

        expect = self.challenge.expect
        return judge(
            self.results,
            self.choice,
            measure=self.challenge.measure,
            expected_winner=expect.winner if expect is not None else None,
            predicted_speedup=self.predicted_speedup,
        )

    def record(self, store: Store, verdict: Verdict) -> None:
        """Keep this attempt (one transaction; raises ProgressStoreError if it cannot)."""
        from tutor.progress.values import interpreters_of

        if verdict.winner is None:
            raise ValueError("a verdict without a winner measured nothing to record")
        measured = (
            None
            if self.choice in verdict.implausible
            else (verdict.speedups or {}).get(self.choice)
        )
        store.record_challenge(
            self.lesson.id,
            self.challenge.id,
            choice=self.choice,
            predicted_speedup=self.predicted_speedup,
            # A speedup the machine cannot give is no yardstick for a prediction.
            measured_speedup=measured,
            winner=verdict.winner,
            correct=bool(verdict.correct),
            result={"results": self.results, "order": self.order, "reasons": list(verdict.reasons)},
            interpreters=interpreters_of(self.results),
        )
