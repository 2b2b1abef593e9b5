"""The progress rules: when a lesson is done, which lesson is next, how far off a prediction was.

One place for each rule, so the map, the lesson, the quiz, the progress screen,
the instructor's board and `tutor progress show` can never disagree. The words
that state them to the learner live in :mod:`tutor.wording`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from tutor.progress.queries import TaskStates


def lesson_complete(
    challenge_ids: Sequence[str], question_ids: Sequence[str], states: TaskStates
) -> bool:
    """Done: every challenge tried (any verdict) and every quiz question right at least once.

    A challenge is judged by this machine's measurement, which the learner does
    not control, so trying it is what counts; a quiz question has one right
    answer, so it counts once it was answered right. A lesson with neither is
    done once it was opened (the caller only asks then).
    """
    return all(c in states.challenges for c in challenge_ids) and all(
        states.questions.get(q, False) for q in question_ids
    )


def next_lesson(
    lesson_ids: Sequence[str], done: Collection[str], after: str | None = None
) -> str | None:
    """The first lesson not done, in the catalog's order; None when all are done.

    ``after`` (the lesson just finished) looks from the lesson after it first,
    wrapping round, so "next" never sends the learner back to where they are
    while an earlier lesson is still open.
    """
    ids = list(lesson_ids)
    if after in ids:
        start = ids.index(after) + 1
        ids = ids[start:] + ids[:start]
        ids = [i for i in ids if i != after]
    return next((i for i in ids if i not in done), None)


def prediction_error(predicted: float | None, measured: float | None) -> float | None:
    """|predicted - measured| / measured: the same formula the store averages in SQL."""
    if predicted is None or measured is None or not measured > 0:
        return None
    return abs(predicted - measured) / measured
