"""Room host keys remembered on first use, like ``ssh -o StrictHostKeyChecking=accept-new``.

``data_dir/room_known_hosts`` holds one line per room, ``HOST:PORT SHA256:...``.
A room met for the first time is remembered (unless ``--fingerprint`` pinned a
different key); a room whose key changed is refused before the password is
sent, since a changed key is what an impostor on the room's network looks like.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

KNOWN_HOSTS = "room_known_hosts"
FINGERPRINT_RE = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")


class HostKeyError(Exception):
    """The room's key is not the one expected: one line that says what to do."""


def check_fingerprint_option(value: str) -> str:
    """``--fingerprint``'s value, or ValueError naming the allowed form."""
    value = value.strip()
    if not FINGERPRINT_RE.match(value):
        raise ValueError(
            "--fingerprint must be SHA256: followed by 43 characters, as the room's banner prints it "
            "('host key fingerprint: SHA256:...')"
        )
    return value


def _load(path: Path) -> dict[str, str]:
    known: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return known
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and FINGERPRINT_RE.match(parts[1]):
            known[parts[0]] = parts[1]
    return known


def verify(data_dir: Path, room: str, fingerprint: str, pinned: str | None) -> bool:
    """Accept ``fingerprint`` for ``room`` or raise :class:`HostKeyError`.

    Returns True when the key was new and has just been remembered.
    """
    path = data_dir / KNOWN_HOSTS
    if pinned is not None and fingerprint != pinned:
        raise HostKeyError(
            f"the room at {room} shows host key {fingerprint}, not the {pinned} you were given: "
            "not joining (check the fingerprint with the instructor)"
        )
    known = _load(path).get(room)
    if known == fingerprint:
        return False
    if known is not None and pinned is None:
        raise HostKeyError(
            f"the room at {room} has a different host key than last time ({fingerprint}, was {known}): "
            f"not joining; if the instructor made a new key, join with --fingerprint {fingerprint}"
        )
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = [f"{name} {fp}" for name, fp in _load(path).items() if name != room]
    lines.append(f"{room} {fingerprint}")
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return True
