"""A corrupt or foreign file is moved aside (bytes intact) and a fresh store starts."""

from __future__ import annotations

import random
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tutor.progress import ProgressStoreError, board_rows, list_profiles, open_store

DB = "progress.sqlite3"
CORRUPT_NAME = re.compile(r"^progress\.sqlite3\.corrupt-\d{8}-\d{6}(-\d+)?$")


def _garbage(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


def _foreign_db(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.execute("INSERT INTO notes (text) VALUES ('somebody else''s data')")
    conn.commit()
    conn.close()


def _our_db_damaged(path: Path) -> None:
    with open_store(path.parent, "someone") as s:
        for i in range(200):
            s.record_challenge(
                "gil",
                f"c{i}",
                choice="threads",
                predicted_speedup=1.0,
                measured_speedup=1.0,
                winner="threads",
                correct=True,
                result={"pad": "x" * 200},
            )
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    # Scribble over two b-tree pages near the end: the header stays valid, so
    # only the integrity check can tell.
    for offset in range(len(data) - 3 * page, len(data) - page, 7):
        data[offset] = 0xFF
    path.write_bytes(bytes(data))


def _check_recovered(
    data_dir: Path, original: bytes, s, *, sidecars: dict[str, bytes] | None = None
):
    moved = s.recovered_from
    assert moved is not None and moved.parent == data_dir
    assert CORRUPT_NAME.match(moved.name), moved.name
    assert moved.read_bytes() == original  # nothing rewritten, nothing lost
    for suffix, content in (sidecars or {}).items():
        assert Path(f"{moved}{suffix}").read_bytes() == content
    assert s.recovered_reason and "\n" not in s.recovered_reason
    # The fresh store works and is ours.
    s.record_quiz("gil", "q1", chosen=[0], correct=True, hint_used=False)
    assert s.lesson_progress("gil").quiz_right == 1
    assert s._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p: p.write_bytes(_garbage(8192)), id="garbage"),
        pytest.param(lambda p: p.write_bytes(b"hello, not a database\n"), id="short-text"),
        pytest.param(
            lambda p: p.write_bytes(b"SQLite format 3\x00" + _garbage(4080)),
            id="sqlite-header-then-garbage",
        ),
        pytest.param(_foreign_db, id="foreign-sqlite"),
        pytest.param(_our_db_damaged, id="our-db-damaged"),
    ],
)
def test_bad_file_is_moved_aside_and_a_fresh_store_started(data_dir, make):
    data_dir.mkdir()
    path = data_dir / DB
    make(path)
    original = path.read_bytes()
    with open_store(data_dir, "tester") as s:
        _check_recovered(data_dir, original, s)
    # The next open finds the fresh file fine: recovery happens once.
    with open_store(data_dir, "tester") as s:
        assert s.recovered_from is None
        assert s.lesson_progress("gil").quiz_right == 1
    assert list_profiles(data_dir) == ["tester"]


def test_foreign_database_keeps_its_content(data_dir):
    data_dir.mkdir()
    _foreign_db(data_dir / DB)
    with open_store(data_dir, "tester") as s:
        moved = s.recovered_from
        assert "not a concurrency-tutor progress file" in s.recovered_reason
    conn = sqlite3.connect(moved)
    assert conn.execute("SELECT text FROM notes").fetchall() == [("somebody else's data",)]
    conn.close()


def test_wal_and_shm_are_moved_with_the_file(data_dir):
    data_dir.mkdir()
    original = _garbage(8192)
    wal, shm = _garbage(1000, seed=2), _garbage(32768, seed=3)
    (data_dir / DB).write_bytes(original)
    (data_dir / f"{DB}-wal").write_bytes(wal)
    (data_dir / f"{DB}-shm").write_bytes(shm)
    with open_store(data_dir, "tester") as s:
        _check_recovered(data_dir, original, s, sidecars={"-wal": wal, "-shm": shm})


def test_damaged_sqlite_file_keeps_its_wal(data_dir):
    data_dir.mkdir()
    original = b"SQLite format 3\x00" + _garbage(8176)
    wal = _garbage(1000, seed=2)
    (data_dir / DB).write_bytes(original)
    (data_dir / f"{DB}-wal").write_bytes(wal)
    (data_dir / f"{DB}-shm").write_bytes(_garbage(32768, seed=3))
    with open_store(data_dir, "tester") as s:
        # SQLite may rewrite the -shm (a shared-memory index rebuilt from the
        # WAL, never data) while reading the file, but it moves along with it.
        _check_recovered(data_dir, original, s, sidecars={"-wal": wal})
        assert Path(f"{s.recovered_from}-shm").exists()


def test_repeated_corruption_never_overwrites_an_earlier_copy(data_dir):
    data_dir.mkdir()
    copies = {}
    for seed in (1, 2, 3):  # usually within the same second: names must still differ
        content = _garbage(4096, seed=seed)
        (data_dir / DB).write_bytes(content)
        with open_store(data_dir, "tester") as s:
            copies[s.recovered_from] = content
    assert len(copies) == 3
    for moved, content in copies.items():
        assert moved.read_bytes() == content


def test_empty_file_is_simply_initialised(data_dir):
    data_dir.mkdir()
    (data_dir / DB).write_bytes(b"")
    with open_store(data_dir, "tester") as s:
        assert s.recovered_from is None
        s.set_position("gil")
    assert [p.name for p in data_dir.iterdir() if "corrupt" in p.name] == []


def test_board_never_moves_or_changes_a_bad_file(data_dir):
    data_dir.mkdir()
    _foreign_db(data_dir / DB)
    before = (data_dir / DB).read_bytes()
    with pytest.raises(ProgressStoreError, match="not a progress database"):
        board_rows(data_dir)
    assert (data_dir / DB).read_bytes() == before
    assert sorted(p.name for p in data_dir.iterdir()) == [DB]


def test_cli_says_what_happened(data_dir, run_tutor):
    data_dir.mkdir()
    (data_dir / DB).write_bytes(_garbage(8192))
    proc = run_tutor("progress", "show")
    assert proc.returncode == 0, proc.stderr
    assert "moved to" in proc.stderr and "corrupt-" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    with pytest.raises(ProgressStoreError, match="cannot create the data folder"):
        open_store(blocker / "data", "tester")


OPENER = r"""
import sys
from tutor.progress import open_store

print("ready", flush=True)
sys.stdin.readline()
with open_store(sys.argv[1], sys.argv[2]) as s:
    s.record_quiz("gil", "q1", chosen=[0], correct=True, hint_used=False)
    print(s.recovered_from or "none", flush=True)
"""


NAMES = ["amy", "bob", "cy", "dee", "eve", "fay"]


def test_apps_starting_together_on_a_corrupt_file_recover_it_once(data_dir):
    data_dir.mkdir()
    original = _garbage(8192)
    (data_dir / DB).write_bytes(original)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, str(data_dir), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in NAMES
    ]
    for p in procs:
        assert p.stdout.readline() == "ready\n", p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        reports.append(out.strip())
    assert sum(r != "none" for r in reports) == 1  # exactly one recovered
    moved = [p for p in data_dir.iterdir() if CORRUPT_NAME.match(p.name)]
    assert len(moved) == 1 and moved[0].read_bytes() == original
    assert list_profiles(data_dir) == NAMES  # all wrote to the same fresh file


def test_our_id_and_version_but_missing_tables_is_moved_aside_untouched(data_dir):
    with open_store(data_dir, "tester"):
        pass
    path = data_dir / DB
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE quiz_attempts")
    conn.commit()
    conn.close()
    original = path.read_bytes()
    with open_store(data_dir, "tester") as s:
        assert "missing tables: quiz_attempts" in s.recovered_reason
        _check_recovered(data_dir, original, s)
