"""What may be stored, and how values from the store are made safe to show.

Ids from the game are the lessons' own (checked when lessons load); ids from
an import file are checked here against the same syntax, because they end up
on the instructor's terminal and in CSV files.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutor.lab.events import Results

MAX_ID_LENGTH = 200
# The lessons' id syntax (tutor/lessons/validate.py SLUG): lesson, challenge,
# question ids and the anchors made from them.
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Machine-made tokens: attempt uids and origins (hex), strategy names, and a
# strategy under a named interpreter ("threads@ft": tutor.lab.compare's variants).
TOKEN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
# C0, DEL and C1 controls: ESC and CSI start terminal sequences; the others
# move the cursor, ring or clear. Bidi overrides reorder what the eye reads.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """``text`` with control characters shown as ``?``: safe for a terminal or a CSV cell."""
    return _CONTROL_RE.sub("?", str(text))


def has_control(text: str) -> bool:
    return _CONTROL_RE.search(text) is not None


def check_id(name: str, value: object) -> str:
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_ID_LENGTH
        or has_control(value)
    ):
        raise ValueError(
            f"{name} must be a non-empty string of at most {MAX_ID_LENGTH} characters "
            "without control characters"
        )
    return value


MAX_INTERPRETERS = 8
_INTERPRETER_KEYS = ("python", "path", "free_threaded", "gil_enabled")


def clean_interpreters(value: object) -> list[dict[str, Any]] | None:
    """Which Pythons measured an attempt: a short list of
    ``{"python": "3.13.5", "path": "...", "free_threaded": true, "gil_enabled": false}``.

    Raises ValueError naming what is wrong; None stays None (not known: attempts
    from before schema 3 ran under the tutor's own Python).
    """
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_INTERPRETERS:
        raise ValueError(f"interpreters must be a list of at most {MAX_INTERPRETERS} objects")
    out = []
    for item in value:
        if not isinstance(item, dict) or set(item) != set(_INTERPRETER_KEYS):
            raise ValueError(
                f"each interpreter must be an object with exactly: {', '.join(_INTERPRETER_KEYS)}"
            )
        python, path = item["python"], item["path"]
        if not isinstance(python, str) or not TOKEN_RE.match(python) or len(python) > 40:
            raise ValueError("an interpreter's python must be a version such as 3.13.5")
        if not isinstance(path, str) or not path or len(path) > 4096 or has_control(path):
            raise ValueError("an interpreter's path must be a file path without control characters")
        flags = (item["free_threaded"], item["gil_enabled"])
        if not all(f is None or isinstance(f, bool) for f in flags):
            raise ValueError(
                "an interpreter's free_threaded and gil_enabled must be true, false or null"
            )
        out.append({k: item[k] for k in _INTERPRETER_KEYS})
    return out


def interpreters_of(results: Results) -> list[dict[str, Any]]:
    """The distinct Pythons behind a comparison's results (what the store keeps per attempt)."""
    seen: dict[str, dict[str, Any]] = {}
    for result in results.values():
        path = result.get("python_path")
        if isinstance(path, str) and path and path not in seen and len(seen) < MAX_INTERPRETERS:
            seen[path] = {
                "python": str(result.get("python") or "unknown"),
                "path": path,
                "free_threaded": result.get("free_threaded_build"),
                "gil_enabled": result.get("gil_enabled"),
            }
    return list(seen.values())


def finite_or_none(value: object, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number or None, not {type(value).__name__}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond any float: not a measurement either
        return None
    # A speedup of inf/NaN (a zero-time run) is not a measurement; keeping it
    # would also make the export invalid JSON.
    return value if math.isfinite(value) else None


def json_safe(value: Any) -> Any:
    """Replace NaN/inf (not valid JSON) by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def new_uid() -> str:
    """A random 128-bit id for an attempt (what uuid4 gives, without importing uuid)."""
    return os.urandom(16).hex()


def dump(value: Any) -> str:
    # default=str: losing a learner's attempt because the lab added a value
    # json cannot encode would be worse than storing that value as text.
    return json.dumps(json_safe(value), default=str, allow_nan=False, separators=(",", ":"))
