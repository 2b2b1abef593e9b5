"""The board's room view at 80x24: counts, the dot plot, outliers, switching challenges."""

from __future__ import annotations

from pathlib import Path

import pytest
from room_helpers import measured, report, sequential, verdict_data
from textual.widgets import Static

from tutor.room import protocol
from tutor.serve.boardfeed import ServerFeed
from tutor.serve.room.store import RoomStore
from tutor.ui.board import BoardApp

SIZE = (80, 24)


def verdict(
    challenge: str, cores: int, speedup: float, winner: str = "processes", **extra
) -> protocol.Report:
    results = {
        "sequential": sequential(cores),
        "processes": measured(
            "processes",
            cores,
            speedup,
            start_method=extra.get("start_method", "fork"),
            foreign_load_percent=extra.get("load", 3.0),
        ),
    }
    data = verdict_data(
        results,
        challenge=challenge,
        lesson=None if ":" in challenge else challenge.split("/")[0],
        winner=winner,
        facts={"platform": "linux"},
    )
    return protocol.validate_report(report(data))


def seed_room(data: Path) -> None:
    store = RoomStore(data)
    reports = [
        ("ada", verdict("gil/crunch-2", 8, 3.6)),
        ("bob", verdict("gil/crunch-2", 8, 3.3)),
        ("cy", verdict("gil/crunch-2", 4, 3.1)),
        ("dee", verdict("gil/crunch-2", 1, 0.95, winner="sequential")),
        (
            "eve",
            verdict("gil/crunch-2", 4, 0.9, winner="sequential", start_method="spawn", load=60.0),
        ),
        ("ada", verdict("run:crunch", 8, 3.5)),
    ]
    store.write(reports, [("ada", 1), ("bob", 1), ("zed", 1)])
    store.close()


@pytest.mark.timeout(30)
async def test_room_view_before_anyone_joined_says_how_to_join(tmp_path: Path) -> None:
    app = BoardApp(ServerFeed(tmp_path))  # no room database at all
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        await pilot.pause()
        text = str(app.screen.query_one("#room-view", Static).render())
        assert "Nobody has joined from their own machine yet" in text
        assert "tutor join HOST:PORT --name NAME" in text


@pytest.mark.timeout(30)
async def test_room_view_at_80x24(tmp_path: Path) -> None:
    seed_room(tmp_path)
    app = BoardApp(ServerFeed(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.has_class("-room")
        text = str(app.screen.query_one("#room-view", Static).render())
        assert "Room: 2 playing · 1 joined · 3 left · 6 results" in text
        assert "gil/crunch-2: 5 machines" in text and "processes on 3, sequential on 2" in text
        assert "dee: sequential won; 1 core" in text
        assert "eve: sequential won; spawn, heavy load (60%)" in text
        await pilot.press("n")
        text = str(app.screen.query_one("#room-view", Static).render())
        assert "crunch (tutor run): 1 machine" in text
        await pilot.press("l")  # the leaderboard replaces the room view
        assert not app.screen.has_class("-room")


def test_room_view_snapshot(tmp_path: Path, snap_compare) -> None:
    seed_room(tmp_path)

    async def show(pilot) -> None:
        await pilot.press("v")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(BoardApp(ServerFeed(tmp_path)), terminal_size=SIZE, run_before=show)


@pytest.mark.timeout(30)
async def test_joined_learners_are_rows_of_the_board_and_the_export(tmp_path: Path) -> None:
    from textual.widgets import DataTable

    from tutor.serve.leaderboard import collect

    seed_room(tmp_path)
    rows = {r["profile"]: r for r in collect(tmp_path)}
    assert set(rows) == {"ada", "bob", "cy", "dee", "eve", "zed"}
    ada = rows["ada"]
    assert ada["joined"] is True and ada["connected"] is True
    # run:crunch is no challenge; gil/crunch-2 was right, predicted 2.0 against 3.6 measured.
    assert (ada["challenges_right"], ada["challenges_answered"]) == (1, 1)
    assert ada["prediction_accuracy"] == round(100 * (1 - 1.6 / 3.6))
    assert rows["dee"]["challenges_right"] == 0 and rows["dee"]["connected"] is False
    app = BoardApp(ServerFeed(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one("#learners", DataTable).row_count == 6
        summary = str(app.screen.query_one("#summary", Static).render())
        assert "3 joined · 6 learners" in summary


def test_export_csv_writes_the_room_beside_it(tmp_path: Path, capsys) -> None:
    import csv

    from tutor.cli import main

    seed_room(tmp_path / "data")
    out = tmp_path / "results.csv"
    assert main(["board", "--data-dir", str(tmp_path / "data"), "--export", str(out)]) == 0
    assert "6 results of joined games (" in capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "results-room.csv").open()))
    # One row per strategy of each verdict, each with the machine's facts.
    assert len(rows) == 12
    ada = [r for r in rows if r["name"] == "ada" and r["challenge"] == "gil/crunch-2"]
    assert {r["strategy"] for r in ada} == {"sequential", "processes"}
    assert {(r["cores"], r["python"], r["gil_enabled"]) for r in ada} == {("8", "3.12.1", "True")}
    learners = list(csv.DictReader(out.open()))
    assert {r["profile"] for r in learners if r["joined"] == "True"} == {
        "ada",
        "bob",
        "cy",
        "dee",
        "eve",
        "zed",
    }
