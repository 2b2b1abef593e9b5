"""What the progress store raises on purpose, and the short reason a learner is shown."""

from __future__ import annotations

import errno
import sqlite3

# Short reasons for a learner's screen: no paths, no SQLite wording. The
# long message (with the path) stays for `tutor progress` and the logs.
_REASONS = {
    sqlite3.SQLITE_FULL: "the disk is full",
    sqlite3.SQLITE_BUSY: "the progress file is busy (another program holds it)",
    sqlite3.SQLITE_LOCKED: "the progress file is busy (another program holds it)",
    sqlite3.SQLITE_READONLY: "the progress file is read-only",
    sqlite3.SQLITE_IOERR: "the disk reported an error",
    sqlite3.SQLITE_CANTOPEN: "the progress file cannot be opened",
    sqlite3.SQLITE_PERM: "the progress file may not be written",
    sqlite3.SQLITE_CORRUPT: "the progress file is damaged",
    sqlite3.SQLITE_NOTADB: "the progress file is damaged",
}
_OS_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk is full",
    errno.EROFS: "the progress file is read-only",
    errno.EACCES: "the progress file may not be written",
    errno.EPERM: "the progress file may not be written",
}
GENERIC_REASON = "the progress file could not be written"


class ProgressError(Exception):
    """Base class for everything the progress store raises on purpose."""


class ProgressStoreError(ProgressError):
    """The database cannot be opened or used (newer schema, unwritable folder, ...).

    ``str(exc)`` is for the command line (it names the file); ``exc.reason``
    is a few words without any path, for a learner's screen.
    """

    def __init__(self, message: str, reason: str = GENERIC_REASON) -> None:
        super().__init__(message)
        self.reason = reason


class ProgressImportError(ProgressError):
    """An export given to ``import_`` is not valid; the message is one line."""


def reason_of(exc: BaseException) -> str:
    """The short, path-free reason for an SQLite or OS error."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return _REASONS.get(code & 0xFF, GENERIC_REASON)
    if isinstance(exc, OSError) and exc.errno in _OS_REASONS:
        return _OS_REASONS[exc.errno]
    return GENERIC_REASON
