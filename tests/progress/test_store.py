"""The Store API: what the game records comes back as the right progress."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from tutor.progress import (
    LessonProgress,
    ProgressStoreError,
    list_profiles,
    open_store,
)
from tutor.progress.schema import APPLICATION_ID, SCHEMA_VERSION


def test_new_store_is_empty_and_creates_the_folder(data_dir):
    assert not data_dir.exists()
    with open_store(data_dir, "tester") as s:
        assert (data_dir / "progress.sqlite3").is_file()
        assert s.profile == "tester"
        assert s.recovered_from is None
        assert s.position() is None
        assert s.all_progress() == {}
        lp = s.lesson_progress("gil")
        assert lp == LessonProgress(lesson_id="gil")
        assert lp.state == "not started"
    # Opening and reading leaves no profile behind (a typo'd --profile stays invisible).
    assert list_profiles(data_dir) == []


def test_connection_settings_give_durability_and_concurrency(store):
    conn = store._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_challenge_keeps_its_best_verdict_and_every_attempt(store, challenge):
    challenge(store, cid="c1", correct=False)
    challenge(store, cid="c1", correct=True)  # retried and got it
    challenge(store, cid="c2", correct=True)
    challenge(store, cid="c2", correct=False)  # a retry measured otherwise: still right
    challenge(store, cid="c3", correct=False)
    lp = store.lesson_progress("gil")
    assert (lp.challenges_answered, lp.challenges_right) == (3, 2)
    assert store.task_states("gil").challenges == {"c1": True, "c2": True, "c3": False}
    assert lp.started and not lp.done and lp.state == "in progress"
    attempts = store.challenge_attempts("gil")
    assert [(a["challenge_id"], a["correct"]) for a in attempts] == [
        ("c1", False),
        ("c1", True),
        ("c2", True),
        ("c2", False),
        ("c3", False),
    ]
    assert attempts[0]["result"] == {"wall_s": 1.0}
    assert len({a["uid"] for a in attempts}) == 5


def test_prediction_error_is_mean_relative_error_of_every_prediction(store, challenge):
    challenge(store, cid="c1", predicted_speedup=2.0, measured_speedup=1.0)  # 100 %
    challenge(store, cid="c1", predicted_speedup=1.5, measured_speedup=2.0)  # 25 %
    challenge(store, cid="c2", predicted_speedup=None, measured_speedup=3.0)  # no guess
    challenge(store, cid="c3", predicted_speedup=2.0, measured_speedup=None)  # not measured
    challenge(store, cid="c4", predicted_speedup=2.0, measured_speedup=float("inf"))
    lp = store.lesson_progress("gil")
    assert lp.prediction_error == pytest.approx((1.0 + 0.25) / 2)
    challenge(store, lesson="other", cid="c1", predicted_speedup=None, measured_speedup=1.0)
    assert store.lesson_progress("other").prediction_error is None


def test_a_quiz_question_right_once_stays_right(store):
    store.record_quiz("gil", "q1", chosen=[1], correct=True, hint_used=False)
    store.record_quiz("gil", "q2", chosen=[0], correct=False, hint_used=False)
    store.record_quiz("gil", "q2", chosen=[2], correct=True, hint_used=True)
    store.record_quiz("gil", "q3", chosen=[0, 1], correct=True, hint_used=False)
    store.record_quiz("gil", "q3", chosen=[0], correct=False, hint_used=False)
    lp = store.lesson_progress("gil")
    assert (lp.quiz_answered, lp.quiz_right, lp.first_try_right) == (3, 3, 2)
    assert store.task_states("gil").questions == {"q1": True, "q2": True, "q3": True}
    answers = store.quiz_attempts("gil")
    assert [a["chosen"] for a in answers] == [[1], [0], [2], [0, 1], [0]]
    assert [a["hint_used"] for a in answers] == [False, False, True, False, False]


def test_time_position_and_done(store):
    store.add_time("gil", 10)
    store.add_time("gil", 2.5)
    store.add_time("gil", 0)  # nothing happened: no-op
    store.add_time("never", 0)
    assert store.lesson_progress("gil").seconds == pytest.approx(12.5)
    assert "never" not in store.all_progress()

    store.set_position("gil", "quiz")
    assert store.position() == ("gil", "quiz")
    store.set_position("processes")
    assert store.position() == ("processes", None)
    assert store.lesson_progress("processes").state == "in progress"  # opened = started

    before = time.time()
    store.mark_done("gil")
    first = store.lesson_progress("gil")
    assert first.done and first.state == "done"
    assert first.last_activity is not None and first.last_activity >= before
    store.mark_done("gil")  # idempotent
    assert store.lesson_progress("gil").done
    assert set(store.all_progress()) == {"gil", "processes"}


def test_progress_persists_across_reopen(data_dir, challenge):
    with open_store(data_dir, "tester") as s:
        challenge(s, predicted_speedup=1.0, measured_speedup=2.0, correct=False)
        s.record_quiz("gil", "q1", chosen=[3], correct=True, hint_used=False)
        s.add_time("gil", 30)
        s.set_position("gil", "challenge-1")
        s.mark_done("gil")
        before = s.all_progress()
    with open_store(data_dir, "tester") as s:
        assert s.all_progress() == before
        assert s.position() == ("gil", "challenge-1")
        assert before["gil"] == LessonProgress(
            lesson_id="gil",
            started=True,
            done=True,
            challenges_answered=1,
            challenges_right=0,
            quiz_answered=1,
            quiz_right=1,
            first_try_right=1,
            prediction_error=0.5,
            seconds=30.0,
            last_activity=before["gil"].last_activity,
        )


def test_profiles_are_separate(data_dir, challenge):
    with open_store(data_dir, "amy") as amy, open_store(data_dir, "bob") as bob:
        challenge(amy, cid="c1")
        bob.set_position("processes")
        assert set(amy.all_progress()) == {"gil"}
        assert set(bob.all_progress()) == {"processes"}
        assert amy.position() is None
        bob.reset()
        assert set(amy.all_progress()) == {"gil"}
    assert list_profiles(data_dir) == ["amy", "bob"]


def test_reset_one_lesson_or_everything(store, challenge):
    for lesson in ("gil", "processes"):
        challenge(store, lesson=lesson)
        store.record_quiz(lesson, "q1", chosen=[0], correct=True, hint_used=False)
        store.add_time(lesson, 5)
        store.mark_done(lesson)
    store.set_position("gil", "x")
    store.reset("gil")
    assert set(store.all_progress()) == {"processes"}
    assert store.lesson_progress("gil").state == "not started"
    assert store.position() is None  # it pointed into the lesson just reset
    assert store.challenge_attempts("gil") == []
    store.set_position("processes")
    store.reset()
    assert store.all_progress() == {}
    assert store.position() is None
    assert store.export()["challenge_attempts"] == []


def test_reset_of_an_unknown_profile_creates_nothing(data_dir):
    with open_store(data_dir, "ghost") as s:
        s.reset()
    assert list_profiles(data_dir) == []


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.record_quiz("", "q", chosen=[0], correct=True, hint_used=False), ValueError),
        (lambda s: s.record_quiz("l", "q", chosen=["a"], correct=True, hint_used=False), TypeError),
        (
            lambda s: s.record_quiz("l", "q", chosen=[True], correct=True, hint_used=False),
            TypeError,
        ),
        (
            lambda s: s.record_challenge(
                "l",
                "c",
                choice="threads",
                predicted_speedup="2",
                measured_speedup=None,
                winner="threads",
                correct=True,
                result={},
            ),
            TypeError,
        ),
        (
            lambda s: s.record_challenge(
                "l",
                "c",
                choice="threads",
                predicted_speedup=None,
                measured_speedup=None,
                winner="threads",
                correct=True,
                result=[1],
            ),
            TypeError,
        ),
        (lambda s: s.add_time("l", -1), ValueError),
        (lambda s: s.add_time("l", float("nan")), ValueError),
        (lambda s: s.set_position("x" * 500), ValueError),
        (lambda s: s.set_position("l", 3), TypeError),
    ],
)
def test_bad_arguments_are_rejected_and_nothing_is_written(store, call, error):
    with pytest.raises(error):
        call(store)
    assert store.all_progress() == {}


@pytest.mark.parametrize("name", ["", " amy", "amy\n", "a" * 65, "tab\there"])
def test_bad_profile_names(data_dir, name):
    with pytest.raises(ValueError, match="profile name"):
        open_store(data_dir, name)


def test_result_with_nan_is_stored_as_valid_json(store, challenge):
    challenge(store, result={"speedup": float("nan"), "runs": [1.0, float("inf")], "ok": True})
    assert store.challenge_attempts()[0]["result"] == {
        "speedup": None,
        "runs": [1.0, None],
        "ok": True,
    }


def test_closed_store_refuses_use(data_dir):
    s = open_store(data_dir, "tester")
    s.close()
    s.close()  # idempotent
    with pytest.raises(ProgressStoreError, match="closed"):
        s.position()
    with open_store(data_dir, "tester") as s2:
        pass
    with pytest.raises(ProgressStoreError):
        s2.add_time("gil", 1)


def test_one_store_shared_by_threads(store, challenge):
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                challenge(store, cid=f"t{n}-{i}")
                store.add_time("gil", 1)
                store.all_progress()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    lp = store.lesson_progress("gil")
    assert lp.challenges_answered == 200
    assert lp.seconds == 200


def test_reader_is_not_blocked_by_an_open_write_transaction(data_dir, store, challenge):
    challenge(store)
    other = sqlite3.connect(data_dir / "progress.sqlite3", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("DELETE FROM challenge_attempts")  # not committed
        started = time.monotonic()
        assert store.lesson_progress("gil").challenges_answered == 1  # WAL: old snapshot
        assert time.monotonic() - started < 1
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_settings_are_per_profile_and_survive_a_progress_reset(data_dir):
    with open_store(data_dir, "ada") as ada, open_store(data_dir, "bob") as bob:
        ada.set_setting("theme", "nord")
        ada.set_setting("theme", "gruvbox")  # the latest wins
        ada.add_time("gil", 5)
        assert bob.setting("theme") is None
        ada.reset()
        assert ada.setting("theme") == "gruvbox"
        assert ada.lesson_progress("gil").seconds == 0
        with pytest.raises(ValueError, match="value must be a non-empty string"):
            ada.set_setting("theme", "")
