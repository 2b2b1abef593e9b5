"""The progress database schema and its migrations.

The schema is versioned from the first release: ``MIGRATIONS[i]`` upgrades a
database whose ``PRAGMA user_version`` is ``i`` to version ``i + 1``. To change
the schema, append a script; never edit one that has shipped, because learners'
databases were built by it.

``PRAGMA application_id`` marks the file as ours, so a foreign SQLite file that
happens to sit at our path is recognised (and moved aside) instead of being
"upgraded" into a mix of someone else's tables and ours.
"""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x43545554  # "CTUT": concurrency-tutor; a signed 32-bit value, as SQLite stores it

_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Each database file gets a random origin id. Time spent is counted per origin
-- so that merging an export from another machine (or re-importing our own)
-- takes the maximum per origin instead of adding the same seconds twice.
INSERT INTO meta (key, value) VALUES ('origin', lower(hex(randomblob(16))));

CREATE TABLE profiles (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
);

-- One row per lesson the learner has touched: its existence means "started".
CREATE TABLE lessons (
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    lesson_id  TEXT NOT NULL,
    started_at REAL NOT NULL,
    done_at    REAL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (profile_id, lesson_id)
);

CREATE TABLE lesson_time (
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    lesson_id  TEXT NOT NULL,
    origin     TEXT NOT NULL,
    seconds    REAL NOT NULL CHECK (seconds >= 0),
    updated_at REAL NOT NULL,
    PRIMARY KEY (profile_id, lesson_id, origin)
);

CREATE TABLE positions (
    profile_id INTEGER PRIMARY KEY REFERENCES profiles (id) ON DELETE CASCADE,
    lesson_id  TEXT NOT NULL,
    anchor     TEXT,
    updated_at REAL NOT NULL
);

-- Every attempt is kept. `uid` identifies an attempt across export/import so a
-- re-import merges instead of duplicating.
CREATE TABLE challenge_attempts (
    id                INTEGER PRIMARY KEY,
    uid               TEXT NOT NULL,
    profile_id        INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    lesson_id         TEXT NOT NULL,
    challenge_id      TEXT NOT NULL,
    choice            TEXT NOT NULL,
    predicted_speedup REAL,
    measured_speedup  REAL,
    winner            TEXT NOT NULL,
    correct           INTEGER NOT NULL CHECK (correct IN (0, 1)),
    result            TEXT NOT NULL,
    created_at        REAL NOT NULL,
    UNIQUE (profile_id, uid)
);
CREATE INDEX challenge_attempts_by_lesson
    ON challenge_attempts (profile_id, lesson_id, challenge_id, created_at);

CREATE TABLE quiz_attempts (
    id          INTEGER PRIMARY KEY,
    uid         TEXT NOT NULL,
    profile_id  INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    lesson_id   TEXT NOT NULL,
    question_id TEXT NOT NULL,
    chosen      TEXT NOT NULL,
    correct     INTEGER NOT NULL CHECK (correct IN (0, 1)),
    hint_used   INTEGER NOT NULL CHECK (hint_used IN (0, 1)),
    created_at  REAL NOT NULL,
    UNIQUE (profile_id, uid)
);
CREATE INDEX quiz_attempts_by_lesson
    ON quiz_attempts (profile_id, lesson_id, question_id, created_at);
"""

_V2 = """
-- Preferences that follow the learner, such as the colour theme. Not progress:
-- resetting progress keeps them, and exports leave them out.
CREATE TABLE settings (
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (profile_id, key)
);
"""

_V3 = """
-- Which Pythons measured a challenge attempt (the game can compare threads with
-- a GIL and without, under two interpreters): a JSON list of
-- {"python", "path", "free_threaded", "gil_enabled"}. NULL for attempts from
-- before, which ran under the tutor's own Python.
ALTER TABLE challenge_attempts ADD COLUMN interpreters TEXT;
"""

MIGRATIONS: list[str] = [_V1, _V2, _V3]
"""``MIGRATIONS[i]`` takes a database from ``user_version`` i to i + 1."""

SCHEMA_VERSION = len(MIGRATIONS)

EXPECTED_TABLES = frozenset(
    {
        "meta",
        "profiles",
        "lessons",
        "lesson_time",
        "positions",
        "challenge_attempts",
        "quiz_attempts",
        "settings",
    }
)
"""Tables the current schema must have; a file that claims our id without them is damaged."""


class SchemaTooNewError(Exception):
    """The file was written by a newer tutor; refusing to touch it."""


def split_statements(script: str) -> list[str]:
    """Split a script into single statements.

    ``Connection.executescript`` commits any open transaction first, which
    would let a crash leave a half-migrated database; running the statements
    one by one keeps the whole migration inside our own transaction.
    ``sqlite3.complete_statement`` knows about quotes and trigger bodies, so a
    ``;`` inside them does not split a statement.
    """
    statements: list[str] = []
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            text = buffer.strip()
            if _has_code(text):
                statements.append(text)
            buffer = ""
    if _has_code(buffer.rstrip(";")):
        raise ValueError(
            f"incomplete SQL statement at the end of a migration: {buffer.strip()[:60]!r}"
        )
    return statements


def _has_code(text: str) -> bool:
    lines = [line.split("--", 1)[0].strip() for line in text.splitlines()]
    return any(line and line != ";" for line in lines)


def migrate(conn: sqlite3.Connection, migrations: list[str] | None = None) -> int:
    """Bring the database up to date; return the version it is now at.

    ``conn`` must be in autocommit mode (``isolation_level=None``). The version
    is read again inside a write transaction, so two processes opening a new
    file at the same moment cannot both apply the same migration.
    """
    steps = MIGRATIONS if migrations is None else migrations
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(steps):
            raise SchemaTooNewError(
                f"schema version {version} is newer than this concurrency-tutor knows "
                f"(up to {len(steps)})"
            )
        for index in range(version, len(steps)):
            for statement in split_statements(steps[index]):
                conn.execute(statement)
        if version < len(steps):
            # Both pragmas live in the file header and are part of the transaction:
            # a crash before COMMIT leaves the old version and none of the new tables.
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {len(steps)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(steps)
