"""The instructor's view of every profile in one data dir."""

from __future__ import annotations

import pytest

from tutor.progress import board_rows, list_profiles, open_store


def test_no_database_no_rows(data_dir):
    assert board_rows(data_dir) == []
    assert list_profiles(data_dir) == []
    assert not data_dir.exists()  # reading created nothing


def test_one_row_per_profile(data_dir, challenge):
    with open_store(data_dir, "amy") as amy, open_store(data_dir, "bob") as bob:
        challenge(
            amy, lesson="gil", cid="c1", correct=False, predicted_speedup=3.0, measured_speedup=1.5
        )
        challenge(
            amy, lesson="gil", cid="c1", correct=True, predicted_speedup=1.5, measured_speedup=1.5
        )
        challenge(
            amy, lesson="io", cid="c1", correct=True, predicted_speedup=4.0, measured_speedup=2.0
        )
        amy.record_quiz("gil", "q1", chosen=[0], correct=False, hint_used=False)
        amy.record_quiz("gil", "q1", chosen=[1], correct=True, hint_used=True)
        amy.record_quiz("io", "q1", chosen=[1], correct=False, hint_used=False)
        amy.add_time("gil", 60)
        amy.add_time("io", 30)
        amy.mark_done("gil")
        amy.set_position("io", "quiz")
        bob.set_position("gil")
        last_amy = amy.lesson_progress("io").last_activity
    rows = board_rows(data_dir)
    assert [r["profile"] for r in rows] == ["amy", "bob"]
    amy_row, bob_row = rows
    assert amy_row == {
        "profile": "amy",
        "lesson": "io",
        "anchor": "quiz",
        "lessons_started": 2,
        "lessons_done": 1,
        "challenges_right": 2,
        "challenges_answered": 2,
        # mean over every prediction: (1.0 + 0.0 + 1.0) / 3
        "prediction_error": pytest.approx(2 / 3),
        "quiz_right": 1,
        "quiz_answered": 2,
        "seconds": 90.0,
        "last_activity": pytest.approx(last_amy),
    }
    assert bob_row["lesson"] == "gil" and bob_row["lessons_started"] == 1
    assert bob_row["prediction_error"] is None
    assert bob_row["last_activity"] is not None
    assert list_profiles(data_dir) == ["amy", "bob"]


def test_board_does_not_write(data_dir, challenge):
    with open_store(data_dir, "amy") as amy:
        challenge(amy)
    path = data_dir / "progress.sqlite3"
    before = path.read_bytes()
    board_rows(data_dir)
    list_profiles(data_dir)
    assert path.read_bytes() == before
