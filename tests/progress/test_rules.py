"""The progress rules: done, next, prediction error (tutor.progress.rules) and the store applying them."""

from __future__ import annotations

import pytest

from tutor.progress import open_store
from tutor.progress.queries import TaskStates
from tutor.progress.rules import lesson_complete, next_lesson, prediction_error


def test_done_needs_every_challenge_tried_and_every_question_right_once():
    tried = TaskStates(challenges={"c1": False}, questions={"q1": True, "q2": False})
    assert not lesson_complete(["c1"], ["q1", "q2"], tried)  # q2 not right yet
    assert lesson_complete(["c1"], ["q1"], tried)  # a wrong verdict still counts as tried
    assert not lesson_complete(["c1", "c2"], [], tried)  # c2 never tried
    assert lesson_complete([], [], TaskStates())  # nothing to answer: done once opened


def test_next_is_the_first_unfinished_lesson_in_order():
    order = ["a", "b", "c", "d"]
    assert next_lesson(order, {"a", "c"}) == "b"
    assert next_lesson(order, set(order)) is None
    # After finishing c: the next unfinished one after it, wrapping round.
    assert next_lesson(order, {"a", "c"}, after="c") == "d"
    assert next_lesson(order, {"a", "c", "d"}, after="c") == "b"
    assert next_lesson(order, {"a", "b", "d"}, after="c") is None


def test_prediction_error():
    assert prediction_error(2.0, 1.6) == pytest.approx(0.25)
    assert prediction_error(None, 1.6) is None
    assert prediction_error(2.0, None) is None
    assert prediction_error(2.0, 0.0) is None


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path, "tester") as s:
        yield s


def _challenge(store, cid: str, correct: bool, predicted=None, measured=None) -> None:
    store.record_challenge(
        "gil", cid, choice="threads", predicted_speedup=predicted, measured_speedup=measured,
        winner="processes", correct=correct, result={},
    )  # fmt: skip


def test_done_is_recorded_the_moment_the_rule_holds(store):
    tasks = (["c1"], ["q1", "q2"])
    assert not store.complete_if_done("gil", *tasks)
    _challenge(store, "c1", correct=False)
    store.record_quiz("gil", "q1", chosen=[0], correct=True, hint_used=False)
    store.record_quiz("gil", "q2", chosen=[0], correct=False, hint_used=False)
    assert not store.complete_if_done("gil", *tasks)
    assert store.lesson_progress("gil").state == "in progress"
    store.record_quiz("gil", "q2", chosen=[1], correct=True, hint_used=False)
    assert store.complete_if_done("gil", *tasks)  # became done now: announce it
    assert store.lesson_progress("gil").state == "done"
    assert not store.complete_if_done("gil", *tasks)  # already done: said only once
    store.record_quiz("gil", "q2", chosen=[0], correct=False, hint_used=False)
    assert store.lesson_progress("gil").state == "done"


def test_overall_prediction_error_is_over_every_prediction(store):
    _challenge(store, "c1", True, predicted=2.0, measured=1.0)  # 100 %
    _challenge(store, "c2", True, predicted=1.0, measured=1.0)  # 0 %
    store.record_challenge(
        "other", "c1", choice="threads", predicted_speedup=1.5, measured_speedup=2.0,
        winner="threads", correct=True, result={},
    )  # 25 %  # fmt: skip
    # A mean of the two lessons' means would be (0.5 + 0.25) / 2; every prediction weighs the same.
    assert store.prediction_error() == pytest.approx((1.0 + 0.0 + 0.25) / 3)
