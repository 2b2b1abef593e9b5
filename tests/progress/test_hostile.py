"""Hostile and unlucky input: import files built to hurt, store text that reaches a terminal, file modes."""

from __future__ import annotations

import json
import os
import sqlite3
import stat

import pytest

from tests.progress.checks import one_line_error
from tutor.progress import EXPORT_FORMAT, ProgressImportError, open_store, validate_export

ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[H"
MARKUP = "[bold red]boom[/]"


def _export(**fields) -> dict:
    attempt = {
        "uid": "a" * 32,
        "lesson_id": "gil",
        "question_id": "q1",
        "chosen": [0],
        "correct": True,
        "hint_used": False,
        "created_at": 1.0,
    }
    attempt.update(fields)
    return {"format": EXPORT_FORMAT, "version": 1, "quiz_attempts": [attempt]}


# --------------------------------------------------------------------------- row 11: bounded parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested more than"),
        ('{"format": ' + "[" * 40 + "]" * 40 + "}", "nested more than"),
        (
            json.dumps(_export()).replace('"created_at": 1.0', '"created_at": ' + "9" * 5000),
            "digits",
        ),
        (
            json.dumps(_export()).replace('"created_at": 1.0', '"created_at": ' + "9" * 400),
            "digits",
        ),
        (json.dumps(_export()).replace('"created_at": 1.0', '"created_at": 1e999'), "too large"),
        (json.dumps(_export()).replace('"created_at": 1.0', '"created_at": NaN'), "NaN"),
        (
            json.dumps(_export()).replace('"chosen": [0]', '"chosen": [' + "7" * 5000 + "]"),
            "digits",
        ),
    ],
    ids=["deep", "deep-small", "5000-digits", "400-digits", "1e999", "nan", "digits-in-list"],
)
def test_hostile_json_is_one_line_exit_2(run_tutor, tmp_path, data_dir, text, expected):
    path = tmp_path / "in.json"
    path.write_text(text)
    line = one_line_error(run_tutor("progress", "import", str(path)))
    assert expected in line
    assert len(line) < 300
    with open_store(data_dir, "tester") as s:
        assert s.all_progress() == {}


def test_validate_export_from_code_bounds_depth_and_huge_ints():
    deep: dict = {}
    cur = deep
    for _ in range(2000):  # deeper than the interpreter would recurse
        cur["x"] = {}
        cur = cur["x"]
    data = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "challenge_attempts": [
            {
                "uid": "u1",
                "lesson_id": "gil",
                "challenge_id": "c1",
                "choice": "threads",
                "winner": "threads",
                "correct": True,
                "result": deep,
                "created_at": 1.0,
            }
        ],
    }
    with pytest.raises(ProgressImportError, match="nested more than"):
        validate_export(data)
    with pytest.raises(ProgressImportError, match="created_at must be a finite number"):
        validate_export(_export(created_at=10**5000))


# --------------------------------------------------------------------------- row 12: ids at import


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lesson_id", "gil" + ESCAPES),
        ("lesson_id", MARKUP),
        ("question_id", "q1\x9b2J"),  # C1 CSI: an escape sequence without ESC
        ("uid", "u\x1b[2J"),
    ],
)
def test_import_refuses_control_characters_and_markup_in_ids(store, field, value):
    with pytest.raises(ProgressImportError, match=field):
        store.merge(_export(**{field: value}))
    assert store.all_progress() == {}


def test_import_refuses_control_characters_in_the_anchor(store):
    data = _export()
    data["position"] = {"lesson_id": "gil", "anchor": "quiz\x1b[2J", "updated_at": 1.0}
    with pytest.raises(ProgressImportError, match="position.anchor"):
        store.merge(data)


def _plant_hostile_lesson(data_dir) -> None:
    """What an import accepted before ids were checked: escapes and markup in the store."""
    with open_store(data_dir, "tester") as s:
        s.set_position("gil")
    conn = sqlite3.connect(data_dir / "progress.sqlite3")
    with conn:
        bad = "gil" + ESCAPES + MARKUP
        conn.execute("UPDATE positions SET lesson_id = ?, anchor = ?", (bad, "q" + ESCAPES))
        conn.execute("UPDATE lessons SET lesson_id = ?", (bad,))
    conn.close()


def test_progress_show_never_sends_store_text_to_the_terminal(run_tutor, data_dir):
    _plant_hostile_lesson(data_dir)
    proc = run_tutor("--only-lessons", "progress", "show")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert MARKUP in proc.stdout  # shown as the characters it is, not as red


# --------------------------------------------------------------------------- row 13: file modes


def test_store_files_are_private_and_a_created_data_dir_is_0700(tmp_path):
    old = os.umask(0o022)
    try:
        folder = tmp_path / "made" / "by" / "tutor"
        with open_store(folder, "tester") as s:
            s.record_quiz("gil", "q1", chosen=[0], correct=True, hint_used=False)
            names = sorted(p.name for p in folder.iterdir())
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    finally:
        os.umask(old)
    assert "progress.sqlite3" in names and "progress.sqlite3-wal" in names
    assert modes == dict.fromkeys(names, 0o600), modes
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_fresh_file_after_recovery_is_private_too(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "progress.sqlite3").write_bytes(b"not a database at all" * 100)
    with open_store(folder, "tester") as s:
        assert s.recovered_from is not None
        s.set_position("gil")
        for name in ("progress.sqlite3", "progress.sqlite3-wal", "progress.sqlite3-shm"):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name


def test_an_existing_world_readable_store_is_made_private(tmp_path):
    folder = tmp_path / "data"
    with open_store(folder, "tester") as s:
        s.set_position("gil")
    db = folder / "progress.sqlite3"
    os.chmod(db, 0o644)
    with open_store(folder, "tester") as s:
        assert s.position() == ("gil", None)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
