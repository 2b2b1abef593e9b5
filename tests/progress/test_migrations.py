"""Schema versions: old databases are upgraded in place, newer ones are refused untouched."""

from __future__ import annotations

import sqlite3

import pytest

from tutor.progress import ProgressStoreError, board_rows, open_store
from tutor.progress.schema import (
    APPLICATION_ID,
    EXPECTED_TABLES,
    MIGRATIONS,
    SCHEMA_VERSION,
    SchemaTooNewError,
    migrate,
    split_statements,
)

# The schema as version 1 shipped, frozen here on purpose: learners have files
# built by exactly this, so it must keep opening whatever MIGRATIONS becomes.
V1_AS_SHIPPED = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta (key, value) VALUES ('origin', 'aaaabbbbccccdddd');
CREATE TABLE profiles (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at REAL NOT NULL);
CREATE TABLE lessons (
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    lesson_id TEXT NOT NULL, started_at REAL NOT NULL, done_at REAL, updated_at REAL NOT NULL,
    PRIMARY KEY (profile_id, lesson_id));
CREATE TABLE lesson_time (
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    lesson_id TEXT NOT NULL, origin TEXT NOT NULL, seconds REAL NOT NULL CHECK (seconds >= 0),
    updated_at REAL NOT NULL, PRIMARY KEY (profile_id, lesson_id, origin));
CREATE TABLE positions (
    profile_id INTEGER PRIMARY KEY REFERENCES profiles (id) ON DELETE CASCADE,
    lesson_id TEXT NOT NULL, anchor TEXT, updated_at REAL NOT NULL);
CREATE TABLE challenge_attempts (
    id INTEGER PRIMARY KEY, uid TEXT NOT NULL,
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    lesson_id TEXT NOT NULL, challenge_id TEXT NOT NULL, choice TEXT NOT NULL,
    predicted_speedup REAL, measured_speedup REAL, winner TEXT NOT NULL,
    correct INTEGER NOT NULL CHECK (correct IN (0, 1)), result TEXT NOT NULL,
    created_at REAL NOT NULL, UNIQUE (profile_id, uid));
CREATE TABLE quiz_attempts (
    id INTEGER PRIMARY KEY, uid TEXT NOT NULL,
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    lesson_id TEXT NOT NULL, question_id TEXT NOT NULL, chosen TEXT NOT NULL,
    correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
    hint_used INTEGER NOT NULL CHECK (hint_used IN (0, 1)),
    created_at REAL NOT NULL, UNIQUE (profile_id, uid));
INSERT INTO profiles VALUES (1, 'tester', 1000.0);
INSERT INTO lessons VALUES (1, 'gil', 1000.0, 1300.0, 1300.0);
INSERT INTO lesson_time VALUES (1, 'gil', 'aaaabbbbccccdddd', 90.0, 1200.0);
INSERT INTO positions VALUES (1, 'gil', 'quiz', 1250.0);
INSERT INTO challenge_attempts VALUES
    (1, 'u1', 1, 'gil', 'crunch', 'threads', 2.0, 1.0, 'processes', 0, '{"wall_s": 2.0}', 1100.0),
    (2, 'u2', 1, 'gil', 'crunch', 'processes', 1.5, 1.5, 'processes', 1, '{"wall_s": 1.0}', 1150.0);
INSERT INTO quiz_attempts VALUES (1, 'q1', 1, 'gil', 'why', '[2]', 1, 0, 1200.0);
"""

NEXT_MIGRATION_EXAMPLE = """
-- What a second migration would look like: add a column, backfill it.
ALTER TABLE challenge_attempts ADD COLUMN lab_version TEXT;
UPDATE challenge_attempts SET lab_version = 'v1; before lab versions';
"""


def _hand_built_v1(path):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    for statement in split_statements(V1_AS_SHIPPED):
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.close()


def test_fresh_database_is_at_the_current_version(data_dir):
    with open_store(data_dir, "tester"):
        pass
    conn = sqlite3.connect(data_dir / "progress.sqlite3")
    try:
        assert (
            conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
        )
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == EXPECTED_TABLES
    finally:
        conn.close()


def test_hand_built_v1_database_opens_with_its_data(data_dir):
    data_dir.mkdir()
    _hand_built_v1(data_dir / "progress.sqlite3")
    with open_store(data_dir, "tester") as s:
        assert s.recovered_from is None
        lp = s.lesson_progress("gil")
        assert lp.done and lp.seconds == 90.0
        assert (lp.challenges_answered, lp.challenges_right) == (1, 1)
        assert lp.prediction_error == pytest.approx(0.5)  # |2-1|/1 and |1.5-1.5|/1.5
        assert (lp.quiz_answered, lp.quiz_right, lp.first_try_right) == (1, 1, 1)
        assert s.position() == ("gil", "quiz")
        s.record_quiz("gil", "why", chosen=[1], correct=False, hint_used=False)
        # Writable after the upgrade; a later wrong answer never undoes a right one.
        assert [a["correct"] for a in s.quiz_attempts("gil")] == [True, False]
        assert s.lesson_progress("gil").quiz_right == 1
    conn = sqlite3.connect(data_dir / "progress.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


@pytest.mark.parametrize("start", range(SCHEMA_VERSION))
def test_every_older_version_is_upgraded(data_dir, start):
    """A file left at any older version (here: by our own migrations) is brought up to date."""
    data_dir.mkdir()
    path = data_dir / "progress.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, MIGRATIONS[:start])
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")  # ours even at version 0
    conn.close()
    with open_store(data_dir, "tester") as s:
        assert s.recovered_from is None
        s.add_time("gil", 3)
        assert s.lesson_progress("gil").seconds == 3
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_a_second_migration_applies_on_top_and_keeps_the_data(tmp_path):
    path = tmp_path / "db.sqlite3"
    _hand_built_v1(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert migrate(conn, [*MIGRATIONS, NEXT_MIGRATION_EXAMPLE]) == SCHEMA_VERSION + 1
        rows = conn.execute(
            "SELECT uid, lab_version FROM challenge_attempts ORDER BY id"
        ).fetchall()
        assert rows == [("u1", "v1; before lab versions"), ("u2", "v1; before lab versions")]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        # Running again is a no-op, not a second ALTER TABLE.
        assert migrate(conn, [*MIGRATIONS, NEXT_MIGRATION_EXAMPLE]) == SCHEMA_VERSION + 1
    finally:
        conn.close()


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path):
    path = tmp_path / "db.sqlite3"
    _hand_built_v1(path)
    broken = "CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1);"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            migrate(conn, [*MIGRATIONS, broken])
        assert not conn.in_transaction
        # All or nothing: not even the good migrations before the broken one stay.
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "half_done" not in names and "settings" not in names
    finally:
        conn.close()


def test_newer_schema_is_refused_and_left_untouched(data_dir, challenge):
    with open_store(data_dir, "tester") as s:
        challenge(s)
    path = data_dir / "progress.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = {p.name: p.read_bytes() for p in data_dir.iterdir()}

    with pytest.raises(ProgressStoreError, match="newer concurrency-tutor") as info:
        open_store(data_dir, "tester")
    assert "\n" not in str(info.value)
    with pytest.raises(ProgressStoreError):
        board_rows(data_dir)
    assert {p.name: p.read_bytes() for p in data_dir.iterdir()} == before


def test_migrate_refuses_newer_version_directly(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    conn.execute("PRAGMA user_version = 99")
    with pytest.raises(SchemaTooNewError, match="99"):
        migrate(conn)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
    conn.close()


def test_split_statements_respects_quotes_comments_and_triggers():
    script = """
    -- a comment; with a semicolon
    CREATE TABLE t (a TEXT DEFAULT 'x;y');
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        UPDATE t SET a = 'z;' WHERE rowid = new.rowid;
    END;
    INSERT INTO t VALUES ('1;2')
    """
    statements = split_statements(script)
    assert len(statements) == 3
    conn = sqlite3.connect(":memory:")
    for s in statements:
        conn.execute(s)
    assert conn.execute("SELECT a FROM t").fetchall() == [("z;",)]
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("CREATE TABLE t (a TEXT DEFAULT 'x;")


def test_a_version_1_file_gains_settings_and_keeps_its_progress(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    _hand_built_v1(data_dir / "progress.sqlite3")
    with open_store(data_dir, "tester") as s:
        assert s.setting("theme") is None
        s.set_setting("theme", "nord")
        assert s.lesson_progress("gil").challenges_right == 1
    with open_store(data_dir, "tester") as s:
        assert s.setting("theme") == "nord"
