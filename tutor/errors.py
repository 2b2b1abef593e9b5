"""Errors every layer may raise, in a leaf module that imports nothing of the tutor.

The command line prints a :class:`UsageError` as one line with exit status 2;
library code (lab, lessons, progress, serve) raises it without importing the
command line, so the layers stay one-way (``tutor.cli`` sits on top).
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def whole_number(raw: str, what: str, maximum: int) -> int:
    """Parse a count given on the command line, or raise a UsageError naming the range."""
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise UsageError(f"{what} must be a whole number from 1 to {maximum}, not {raw!r}")
    return value
