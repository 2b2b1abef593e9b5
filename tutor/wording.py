"""Words shared by every part that talks to people (no imports: the lab, lessons and UI use it).

The same fact reads the same on the map, in a lesson, on the progress screen
and in `tutor progress show`: each is written by one function here.
"""

from __future__ import annotations

NONE = "—"
"""What a figure reads when there is nothing to show yet."""

DONE_RULE = "Done: every challenge tried and every quiz question right once."
"""The progress rule (tutor.progress.rules.lesson_complete), as the map, lessons and CLI state it."""

DONE_RULE_LONG = (
    "A lesson is done once you have tried every challenge (whatever this machine "
    "measured) and answered every quiz question right at least once; a challenge "
    "keeps its best verdict, and a tie counts as right. Next is the first lesson "
    "not done, in order."
)


def count(n: int, singular: str, plural: str | None = None) -> str:
    """`1 challenge`, `3 challenges`, `0 quiz questions`: never `challenge(s)`."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def score(right: int, answered: int, total: int | None, *, none: str = NONE) -> str:
    """`2/3 of 4`: right out of answered, of what there is (wrong and not yet answered differ).

    `none` when there is nothing to answer (total 0); a total of None is unknown
    (a lesson no longer in the catalog) and left out.
    """
    if total == 0:
        return "none"
    text = f"{right}/{answered}" if answered else none
    return text + (f" of {total}" if total else "")


def duration(value: float | None) -> str:
    """A duration the way a person reads it: 0.42 s, 12.3 s, 4 min 05 s, 1 h 02 min."""
    if value is None:
        return NONE
    if value < 10:
        return f"{value:.2f} s"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(int(round(value)), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def percent_off(error: float | None) -> str:
    """A prediction's relative error: `off by 5%` (one rounding for every screen and the CLI)."""
    if error is None:
        return NONE
    return f"off by {abs(error) * 100:.0f}%"


def lesson_done(title: str, *, has_tasks: bool = True) -> str:
    """The toast when a lesson has just become done."""
    if not has_tasks:
        return f"✓ “{title}” is done: it has nothing to answer."
    return f"✓ “{title}” is done: every challenge tried and every quiz question right."


def to_finish(challenges_left: int, questions_left: int, *, has_tasks: bool = True) -> str:
    """What a lesson still needs, by the done rule: `To finish: try 1 challenge, get 2 quiz questions right.`"""
    parts = []
    if challenges_left:
        parts.append(f"try {count(challenges_left, 'challenge')}")
    if questions_left:
        parts.append(f"get {count(questions_left, 'quiz question')} right")
    if not parts:
        if not has_tasks:
            return "✓ Done once read: this lesson has nothing to answer."
        return "✓ Done: every challenge tried and every quiz question right."
    return "To finish this lesson: " + " and ".join(parts) + "."
