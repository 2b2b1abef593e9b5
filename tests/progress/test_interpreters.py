"""Schema 3: each challenge attempt keeps which Pythons measured it."""

from __future__ import annotations

import sqlite3

import pytest

from tutor.progress import open_store
from tutor.progress.errors import ProgressImportError
from tutor.progress.schema import MIGRATIONS, SCHEMA_VERSION, migrate
from tutor.progress.values import interpreters_of

FT = {
    "python": "3.13.5",
    "path": "/opt/py313t/bin/python3.13t",
    "free_threaded": True,
    "gil_enabled": False,
}
GIL = {
    "python": "3.11.7",
    "path": "/usr/bin/python3.11",
    "free_threaded": False,
    "gil_enabled": True,
}


def test_an_attempt_keeps_its_interpreters_and_they_travel_in_exports(tmp_path, store, challenge):
    challenge(store, choice="threads@ft", winner="threads@ft", interpreters=[GIL, FT])
    challenge(store)  # an attempt that names none
    rows = store.challenge_attempts()
    assert rows[0]["interpreters"] == [GIL, FT] and rows[0]["choice"] == "threads@ft"
    assert rows[1]["interpreters"] is None
    with open_store(tmp_path / "elsewhere", "other") as other:
        other.merge(store.export())
        assert [r["interpreters"] for r in other.challenge_attempts()] == [[GIL, FT], None]


def test_a_version_2_file_is_upgraded_and_old_attempts_name_no_interpreter(tmp_path):
    conn = sqlite3.connect(tmp_path / "v2.sqlite3", isolation_level=None)
    assert migrate(conn, MIGRATIONS[:2]) == 2
    conn.execute("INSERT INTO profiles (id, name, created_at) VALUES (1, 'p', 0)")
    conn.execute(
        "INSERT INTO challenge_attempts (uid, profile_id, lesson_id, challenge_id, choice, winner, correct,"
        " result, created_at) VALUES ('u1', 1, 'gil', 'c1', 'threads', 'processes', 0, '{}', 1)"
    )
    assert migrate(conn) == SCHEMA_VERSION == 3
    assert conn.execute("SELECT uid, interpreters FROM challenge_attempts").fetchall() == [
        ("u1", None)
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "3.13t",
        [{"python": "3.13.5"}],
        [dict(FT, path="/tmp/\x1b[2Jpython")],
        [dict(FT, gil_enabled="no")],
        [FT] * 9,
    ],
)
def test_hostile_interpreters_in_an_import_are_refused(store, challenge, bad):
    challenge(store, interpreters=[FT])
    data = store.export()
    data["challenge_attempts"][0]["interpreters"] = bad
    with pytest.raises(ProgressImportError, match="interpreter"):
        store.merge(data)


def test_interpreters_of_a_comparison_are_its_distinct_pythons():
    results = {
        "threads@gil": {
            "python": "3.11.7",
            "python_path": GIL["path"],
            "free_threaded_build": False,
            "gil_enabled": True,
        },
        "sequential@gil": {
            "python": "3.11.7",
            "python_path": GIL["path"],
            "free_threaded_build": False,
            "gil_enabled": True,
        },
        "threads@ft": {
            "python": "3.13.5",
            "python_path": FT["path"],
            "free_threaded_build": True,
            "gil_enabled": False,
        },
    }
    assert interpreters_of(results) == [GIL, FT]
