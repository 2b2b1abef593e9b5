"""Mirror what the game saves to the room: a thin wrapper around the progress store.

The game keeps writing to the learner's own store exactly as before; after
each write that succeeded, this wrapper queues the matching report (a measured
verdict, a quiz answer, a finished or opened lesson) in the room's outbox. The
room never writes to the store: the mirror only reads what the game wrote.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from tutor.room import protocol
from tutor.room.client import RoomClient

if TYPE_CHECKING:
    from tutor.progress import Store


class MirroredStore:
    """Everything of the wrapped :class:`~tutor.progress.Store`, plus reports to the room."""

    def __init__(self, store: Store, client: RoomClient, facts: dict[str, Any]) -> None:
        self._store = store
        self._client = client
        self._facts = facts
        self._lesson: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _report(self, kind: str, data: Any) -> None:
        # The outbox is a convenience for the room; the learner's own record is
        # already saved, and a room problem must never cost them a game.
        with contextlib.suppress(Exception):
            self._client.report(kind, dict(data))

    def record_challenge(self, lesson_id: str, challenge_id: str, **kwargs: Any) -> None:
        self._store.record_challenge(lesson_id, challenge_id, **kwargs)
        saved = kwargs.get("result") or {}
        results = saved.get("results") or {}
        order = list(saved.get("order") or results)
        if not results:
            return
        choice = kwargs.get("choice")
        winner = kwargs.get("winner")
        self._report(
            "verdict",
            protocol.verdict_data(
                challenge=f"{lesson_id}/{challenge_id}",
                lesson=lesson_id,
                results=results,
                order=order,
                choice=choice,
                predicted_speedup=kwargs.get("predicted_speedup"),
                correct=bool(kwargs.get("correct")),
                winner=winner,
                tied=_tied(results, choice),
                facts=self._facts,
            ),
        )

    def record_quiz(self, lesson_id: str, question_id: str, **kwargs: Any) -> None:
        self._store.record_quiz(lesson_id, question_id, **kwargs)
        self._report(
            "progress",
            protocol.progress_data("quiz", lesson_id, question_id, bool(kwargs.get("correct"))),
        )

    def mark_done(self, lesson_id: str) -> None:
        self._store.mark_done(lesson_id)
        self._report("progress", protocol.progress_data("done", lesson_id))

    def set_position(self, lesson_id: str, anchor: str | None = None) -> None:
        self._store.set_position(lesson_id, anchor)
        if lesson_id != self._lesson:  # where the learner is, not every scroll
            self._lesson = lesson_id
            self._report("progress", protocol.progress_data("lesson", lesson_id))


def _tied(results: dict[str, Any], choice: str | None) -> list[str]:
    """The strategies too close to call, judged again the way the verdict screen did."""
    try:
        from tutor.lab.verdict import judge

        first = next(iter(results.values()))
        measure = "peak_mem_bytes" if first.get("scenario") == "memory" else "wall_s"
        verdict = judge(results, choice or next(iter(results)), measure=measure)
        return sorted(verdict.tied) if not verdict.settled else []
    except Exception:
        return []
