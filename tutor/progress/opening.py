"""Opening the progress database: creating it private, inspecting, recovering, migrating.

A corrupt file, or an SQLite file that is not ours, is moved aside (with its
-wal/-shm) and a fresh database started; a file written by a newer tutor is
left untouched. Every error here is a :class:`ProgressStoreError`.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tutor.progress.errors import ProgressStoreError, reason_of
from tutor.progress.schema import (
    APPLICATION_ID,
    EXPECTED_TABLES,
    SCHEMA_VERSION,
    SchemaTooNewError,
    migrate,
)

DB_NAME = "progress.sqlite3"
_SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 5.0
# No C0/C1 controls: the name is shown on the instructor's board and in CSVs.
_PROFILE_RE = re.compile(r"^[^\x00-\x1f\x7f-\x9f]{1,64}$")
# Learners' answers are nobody else's business on a shared host: the files are
# the owner's alone, and so is a data folder the tutor creates.
FILE_MODE = 0o600
DIR_MODE = 0o700


def check_profile(profile: str) -> str:
    """Return the profile name or raise ValueError saying what is allowed."""
    if not isinstance(profile, str) or not _PROFILE_RE.match(profile) or profile != profile.strip():
        raise ValueError(
            f"profile name {profile!r} is not allowed: use 1 to 64 printable characters "
            "without leading or trailing spaces"
        )
    return profile


def make_data_dir(folder: Path) -> None:
    """Create the data folder readable by the owner only (parents keep the usual mode)."""
    existed = folder.is_dir()
    try:
        folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if not existed:
            # mkdir's mode is filtered by the umask; a folder someone made
            # before us is theirs to set.
            os.chmod(folder, DIR_MODE)
    except OSError as exc:
        raise ProgressStoreError(
            f"cannot create the data folder {folder}: {exc.strerror or exc}", reason_of(exc)
        ) from exc


def _private_file(path: Path) -> None:
    """Create ``path`` 0600 if missing; take group/other access off one we own.

    SQLite creates the -wal and -shm files with the main file's permissions,
    so making the main file private before SQLite opens it covers them too.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        pass
    except OSError:
        return  # a read-only folder: SQLite will report the real problem
    else:
        os.close(fd)
        return
    # Files of earlier versions were created 0644.
    for target in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            st = os.stat(target)
            # Windows has no owner ids (nor these mode bits): there it is a no-op.
            owner = getattr(os, "geteuid", None)
            if owner is not None and st.st_uid == owner() and st.st_mode & 0o077:
                os.chmod(target, st.st_mode & 0o700)
        except OSError:
            pass


def open_database(folder: Path) -> tuple[sqlite3.Connection, Path | None, str | None]:
    """Create the folder if needed and open its database; see :func:`open_store`."""
    make_data_dir(folder)
    with _opening_lock(folder):
        return _open_database(folder / DB_NAME)


@contextmanager
def _opening_lock(folder: Path) -> Iterator[None]:
    """Serialise opening (inspect, move aside, create, migrate) across processes.

    Without it, two apps starting together on a corrupt file could both decide
    to move it aside, and the slower one would move the faster one's fresh
    database. Held only while opening, never while the store is in use.
    """
    from tutor.locking import lock

    try:
        fd = os.open(folder / f"{DB_NAME}.lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError:  # a read-only folder: SQLite will report the real problem
        yield
        return
    try:
        lock(fd)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves (the sqlite3 module's
    # implicit transactions would start deferred ones, and executescript commits).
    target = f"{path.resolve().as_uri()}?mode=ro" if read_only else str(path)
    conn = sqlite3.connect(
        target,
        uri=read_only,
        timeout=BUSY_TIMEOUT_S,
        isolation_level=None,
        check_same_thread=False,
    )
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    return conn


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """Only these errors mean "the file is bad"; busy/locked/IO errors must never
    get a learner's file moved aside."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return False
    return (code & 0xFF) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def _inspect(conn: sqlite3.Connection) -> str | None:
    """Read-only look at the file: None if it is ours (or empty), else why not.

    Runs before anything that writes (journal_mode=WAL would rewrite a foreign
    file's header), so a file we move aside keeps its original bytes.
    """
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    names = tables(conn)
    if app_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"schema version {version} is newer than this concurrency-tutor knows "
                f"(up to {SCHEMA_VERSION})"
            )
        check = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
        if check != ["ok"]:
            return f"damaged ({'; '.join(check[:3])})"
        missing = EXPECTED_TABLES - names
        if version == SCHEMA_VERSION and missing:
            # Checked here, before anything writes, so the moved file keeps its bytes.
            return f"damaged (missing tables: {', '.join(sorted(missing))})"
        return None
    if app_id == 0 and version == 0 and not names:
        return None  # a new, empty file: ours to set up
    listed = ", ".join(sorted(names)[:5]) or "none"
    return f"not a concurrency-tutor progress file (application_id {app_id}, tables: {listed})"


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")


def _too_new(path: Path, exc: SchemaTooNewError) -> ProgressStoreError:
    return ProgressStoreError(
        f"{path} was written by a newer concurrency-tutor ({exc}); it was left "
        "untouched: upgrade concurrency-tutor or use another --data-dir",
        "the progress file was written by a newer concurrency-tutor",
    )


def _inspect_file(path: Path) -> str | None:
    """Decide whether an existing file is ours, through a read-only connection.

    Read-only on purpose: closing a read-write connection lets SQLite delete
    or checkpoint the -wal/-shm files, and those are part of what we promise
    to keep when moving a bad file aside. If a read-only look is impossible
    (e.g. a WAL that needs recovery, which only a writer may run), fall back
    to a read-write one: the file is then a real SQLite database anyway.
    """
    try:
        with open(path, "rb") as fh:
            magic = fh.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ProgressStoreError(
            f"cannot open {path}: {exc.strerror or exc}", reason_of(exc)
        ) from exc
    if not magic:
        return None  # a new, empty file: ours to set up
    if magic != _SQLITE_MAGIC:
        # Not SQLite at all: decided without SQLite, which would otherwise
        # rewrite a leftover -shm even through a read-only connection.
        return "not an SQLite file"
    for read_only in (True, False):
        try:
            conn = connect(path, read_only=read_only)
        except sqlite3.Error as exc:
            if read_only:
                continue
            raise ProgressStoreError(f"cannot open {path}: {exc}", reason_of(exc)) from exc
        try:
            return _inspect(conn)
        except SchemaTooNewError as exc:
            raise _too_new(path, exc) from exc
        except sqlite3.DatabaseError as exc:
            if _is_corruption(exc):
                return f"unreadable ({exc})"
            if not read_only:
                raise ProgressStoreError(f"cannot use {path}: {exc}", reason_of(exc)) from exc
        finally:
            conn.close()
    raise AssertionError("unreachable")


def _open_database(path: Path) -> tuple[sqlite3.Connection, Path | None, str | None]:
    recovered_from: Path | None = None
    reason: str | None = None
    for attempt in range(2):
        # Again after a move aside: the fresh file must be private too.
        _private_file(path)
        problem = _inspect_file(path)
        if problem is None:
            try:
                conn = connect(path)
            except sqlite3.Error as exc:
                raise ProgressStoreError(f"cannot open {path}: {exc}", reason_of(exc)) from exc
            handed_over = False
            try:
                _configure(conn)
                # migrate() re-reads the version under the write lock: another
                # process may have created or upgraded the file meanwhile.
                migrate(conn)
                missing = EXPECTED_TABLES - tables(conn)
                if not missing:
                    handed_over = True
                    return conn, recovered_from, reason
                problem = f"damaged (missing tables: {', '.join(sorted(missing))})"
            except SchemaTooNewError as exc:
                raise _too_new(path, exc) from exc
            except sqlite3.DatabaseError as exc:
                if not _is_corruption(exc):
                    raise ProgressStoreError(f"cannot use {path}: {exc}", reason_of(exc)) from exc
                problem = f"unreadable ({exc})"
            finally:
                if not handed_over:
                    conn.close()
        if attempt:
            raise ProgressStoreError(
                f"a fresh {path} is still unusable: {problem}", "the progress file is damaged"
            )
        recovered_from = _move_aside(path)
        reason = problem
    raise AssertionError("unreachable")


def _move_aside(path: Path) -> Path:
    """Rename a bad database (and its -wal/-shm) out of the way, never over a file."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while any(Path(f"{target}{s}").exists() for s in ("", "-wal", "-shm")):
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    try:
        os.rename(path, target)
        for suffix in ("-wal", "-shm"):
            side = Path(f"{path}{suffix}")
            if side.exists():
                os.rename(side, Path(f"{target}{suffix}"))
    except OSError as exc:
        raise ProgressStoreError(
            f"{path} is unusable and could not be moved aside: {exc.strerror or exc}",
            reason_of(exc),
        ) from exc
    return target
