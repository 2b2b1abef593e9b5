"""Advisory file locks that the holder's death releases, on POSIX and Windows.

``flock`` on POSIX. On Windows ``msvcrt.locking`` on one byte far beyond any
real content: Windows locks are mandatory, so locking real bytes would stop
other processes from reading the file (the bench queue reads locked tickets).
Windows has no shared locks: there a shared request takes the exclusive lock,
which is all the bench queue's "is anyone holding this?" probe needs.

``fcntl`` and ``msvcrt`` are imported only when a lock is taken, so importing
this module (and everything that uses it) works on every platform.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from typing import IO, Any

_WINDOWS_LOCK_OFFSET = 0x7FFFFFFE
"""Where the Windows lock byte lives: no file here grows that big."""

_WINDOWS_RETRY_S = 0.05

__all__ = ["lock", "unlock"]


def _fd(file: IO[Any] | int) -> int:
    return file if isinstance(file, int) else file.fileno()


def lock(file: IO[Any] | int, *, shared: bool = False, blocking: bool = True) -> bool:
    """Lock ``file`` (an open file or a descriptor); False if not ``blocking`` and someone holds it."""
    fd = _fd(file)
    if sys.platform == "win32":
        return _lock_windows(fd, blocking)
    import fcntl

    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        fcntl.flock(fd, mode if blocking else mode | fcntl.LOCK_NB)
    except OSError as exc:
        if not blocking and exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


def unlock(file: IO[Any] | int) -> None:
    """Release a lock taken with :func:`lock` (closing the file releases it too)."""
    fd = _fd(file)
    if sys.platform == "win32":
        import msvcrt

        _at_lock_byte(fd, lambda: msvcrt.locking(fd, msvcrt.LK_UNLCK, 1))
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


if sys.platform == "win32":  # defined only there, so type checks for other platforms skip it

    def _lock_windows(fd: int, blocking: bool) -> bool:
        import msvcrt

        while True:
            try:
                # LK_NBLCK, not LK_LOCK: LK_LOCK gives up after 10 tries a second apart.
                _at_lock_byte(fd, lambda: msvcrt.locking(fd, msvcrt.LK_NBLCK, 1))
                return True
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EDEADLK):
                    raise
                if not blocking:
                    return False
            time.sleep(_WINDOWS_RETRY_S)

    def _at_lock_byte(fd: int, action: Any) -> None:
        # msvcrt.locking works from the current position: move there and back.
        here = os.lseek(fd, 0, os.SEEK_CUR)
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            action()
        finally:
            os.lseek(fd, here, os.SEEK_SET)
