"""The instructor's board: exports and the Textual app at 80x24."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from tutor.cli import main
from tutor.lab.benchqueue import write_config
from tutor.progress import open_store
from tutor.serve.boardfeed import ServerFeed
from tutor.serve.sessions import write_sessions
from tutor.ui.board import BoardApp


def seed(data: Path) -> None:
    """Two learners with different results; only 'ada' is connected."""
    with open_store(data, "ada") as store:
        store.set_position("gil", "quiz")
        store.mark_done("kitchen")
        store.record_challenge(
            "gil",
            "crunch-2",
            choice="processes",
            predicted_speedup=1.8,
            measured_speedup=2.0,
            winner="processes",
            correct=True,
            result={},
        )
        store.record_quiz("gil", "q1", chosen=[1], correct=True, hint_used=False)
    with open_store(data, "bob") as store:
        store.set_position("kitchen")
        store.record_quiz("kitchen", "q1", chosen=[0], correct=False, hint_used=False)
    write_sessions(
        data,
        [
            {
                "user": "ada",
                "profile": "ada",
                "role": "learner",
                "address": "127.0.0.1",
                "connected_since": "2026-01-01T00:00:00+00:00",
                "pid": os.getpid(),
            },
            {
                "user": "cyd",
                "profile": "cyd",
                "role": "learner",
                "address": "127.0.0.1",
                "connected_since": "2026-01-01T00:00:00+00:00",
                "pid": os.getpid(),
            },
        ],
    )


def test_export_json_and_csv(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    seed(data)
    out = tmp_path / "results.json"
    assert main(["board", "--data-dir", str(data), "--export", str(out)]) == 0
    learners = json.loads(out.read_text())["learners"]
    assert [r["profile"] for r in learners] == ["ada", "bob", "cyd"]  # ranked by score
    ada = learners[0]
    assert ada["connected"] is True and ada["lesson"] == "gil"
    assert (ada["lessons_done"], ada["challenges_right"], ada["quiz_right"]) == (1, 1, 1)
    assert ada["score"] == 20 + 10 + 5
    assert ada["prediction_accuracy"] == 90  # predicted 1.8, measured 2.0
    assert learners[1]["connected"] is False and learners[1]["quiz_answered"] == 1
    assert (
        learners[2]["connected"] is True and learners[2]["score"] == 0
    )  # connected, nothing saved

    out_csv = tmp_path / "results.csv"
    assert main(["board", "--data-dir", str(data), "--export", str(out_csv)]) == 0
    rows = list(csv.DictReader(out_csv.open()))
    assert [r["profile"] for r in rows] == ["ada", "bob", "cyd"]
    assert rows[0]["score"] == "35"
    assert "wrote 3 learners" in capsys.readouterr().out


def test_export_rejects_other_extensions(tmp_path: Path, capsys) -> None:
    assert main(["board", "--data-dir", str(tmp_path), "--export", str(tmp_path / "r.xlsx")]) == 2
    err = capsys.readouterr().err
    assert ".csv or .json" in err and err.count("\n") == 1
    assert not (tmp_path / "r.xlsx").exists()


def test_stale_sessions_file_is_ignored(tmp_path: Path) -> None:
    from tutor.serve.sessions import read_sessions

    (tmp_path / "sessions.json").write_text(
        json.dumps({"server_pid": 2**22 + 12345, "sessions": [{"user": "x"}]})
    )
    assert read_sessions(tmp_path) == []


@pytest.mark.timeout(30)
async def test_board_app_at_80x24(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seed(data)
    write_config(data / "bench", slots=1)
    app = BoardApp(ServerFeed(data))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#learners", DataTable)
        assert table.row_count == 3
        assert [str(table.get_row_at(i)[1]) for i in range(3)] == ["ada", "bob", "cyd"]
        summary = str(app.screen.query_one("#summary", Static).render())
        assert "2 connected" in summary and "0/1 running" in summary
        await pilot.press("l")
        assert app.screen.has_class("-leaderboard")
        assert app.screen.query_one("#leaderboard").display
        assert not table.display
        await pilot.press("l")
        assert table.display
        await pilot.press("q")
    assert app.return_code == 0


HOSTILE_NAMES = ['=HYPERLINK("http://x")', "+1+1", "@SUM(A1)", "-2", "ok[red]markup[/]"]
HOSTILE_LESSON = "gil\x1b]0;pwned\x07\x1b[2J[bold]x[/]"


def seed_hostile(data: Path) -> None:
    """What an import accepted before ids were checked: escapes, markup and formulas in the store."""
    import sqlite3

    for name in HOSTILE_NAMES:
        with open_store(data, name) as store:
            store.set_position("gil")
    conn = sqlite3.connect(data / "progress.sqlite3")
    with conn:
        conn.execute("UPDATE positions SET lesson_id = ?", (HOSTILE_LESSON,))
        # A name with escapes, as a database written by another tool could hold.
        conn.execute("UPDATE profiles SET name = ? WHERE name = '-2'", ("-2\x1b[2J\x9b31m",))
    conn.close()


def test_exports_hold_no_control_characters_and_no_formulas(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seed_hostile(data)
    out_csv = tmp_path / "results.csv"
    assert main(["board", "--data-dir", str(data), "--export", str(out_csv)]) == 0
    raw = out_csv.read_text(encoding="utf-8")
    assert not any(ord(c) < 32 and c not in "\r\n" or 0x7F <= ord(c) <= 0x9F for c in raw)
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), row
    assert {r["profile"] for r in rows} >= {'\'=HYPERLINK("http://x")', "'+1+1", "'@SUM(A1)"}
    out_json = tmp_path / "results.json"
    assert main(["board", "--data-dir", str(data), "--export", str(out_json)]) == 0
    text = json.loads(out_json.read_text())
    assert "\x1b" not in json.dumps(text, ensure_ascii=False)


@pytest.mark.timeout(30)
async def test_board_shows_store_text_as_plain_characters(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seed_hostile(data)
    app = BoardApp(ServerFeed(data))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#learners", DataTable)
        assert table.row_count == len(HOSTILE_NAMES)
        cells = [table.get_row_at(i) for i in range(table.row_count)]
        shown = [str(cell) for row in cells for cell in row]
        assert not any("\x1b" in s or "\x07" in s or "\x9b" in s for s in shown)
        # Markup is shown as the characters it is, never interpreted.
        assert "ok[red]markup[/]" in shown
        assert any("[bold]x[/]" in s for s in shown)
        await pilot.press("l")
        await pilot.pause()
        screen = app.export_screenshot()
        assert "\x1b" not in screen and "[red]markup[/]" in screen.replace("&#160;", " ")
