"""Words shared by every part that talks to people (no imports: the lab, lessons and UI use it)."""

from __future__ import annotations


def count(n: int, singular: str, plural: str | None = None) -> str:
    """`1 challenge`, `3 challenges`, `0 quiz questions`: never `challenge(s)`."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"
