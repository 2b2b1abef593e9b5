"""Where the tutor keeps its files.

One rule for every command: `--data-dir DIR` wins, then the `TUTOR_DATA_DIR`
environment variable, then the platform's user data directory.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return (without creating) the directory that holds progress and keys."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("TUTOR_DATA_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path("concurrency-tutor", appauthor=False)


def builtin_lessons_dir() -> Path:
    """The lessons shipped with the package (wheel) or in the source tree (editable)."""
    packaged = Path(__file__).parent / "_lessons"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "lessons"


def profile_name(explicit: str | None = None) -> str:
    """The learner's profile: `--profile`, then `$TUTOR_PROFILE`, then the OS user."""
    if explicit:
        return explicit
    env = os.environ.get("TUTOR_PROFILE")
    if env:
        return env
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "learner"
