"""Words shared by every part that talks to people (no imports: the lab, lessons and UI use it)."""

from __future__ import annotations


def count(n: int, singular: str, plural: str | None = None) -> str:
    """`1 challenge`, `3 challenges`, `0 quiz questions`: never `challenge(s)`."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def score(right: int, answered: int, total: int | None, *, none: str = "-") -> str:
    """`2/3 of 4`: right out of answered, of what there is (wrong and not yet answered differ)."""
    text = f"{right}/{answered}" if answered else none
    return text + (f" of {total}" if total else "")
