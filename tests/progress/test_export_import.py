"""Export is complete JSON; import validates, merges, and never duplicates."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutor.progress import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    ProgressImportError,
    open_store,
    validate_export,
)


def _fill(s, challenge) -> None:
    challenge(s, cid="c1", correct=False, predicted_speedup=2.0, measured_speedup=1.0)
    challenge(s, cid="c1", correct=True, predicted_speedup=1.0, measured_speedup=1.0)
    s.record_quiz("gil", "q1", chosen=[1, 2], correct=True, hint_used=True)
    s.add_time("gil", 42.5)
    s.mark_done("gil")
    s.record_quiz("processes", "q1", chosen=[0], correct=False, hint_used=False)
    s.set_position("processes", "section-2")


def test_export_is_complete_json(store, challenge):
    _fill(store, challenge)
    data = store.export()
    assert data["format"] == EXPORT_FORMAT and data["version"] == EXPORT_VERSION
    assert data["profile"] == "tester"
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert len(data["challenge_attempts"]) == 2 and len(data["quiz_attempts"]) == 2
    assert data["position"]["lesson_id"] == "processes"
    assert {lesson["lesson_id"] for lesson in data["lessons"]} == {"gil", "processes"}


def test_round_trip_into_another_machine_and_profile(tmp_path, store, challenge):
    _fill(store, challenge)
    data = json.loads(json.dumps(store.export()))  # through real JSON text
    with open_store(tmp_path / "laptop", "amy") as other:
        other.merge(data)
        assert other.all_progress() == store.all_progress()
        assert other.position() == store.position()
        assert other.export()["challenge_attempts"] == data["challenge_attempts"]
        assert other.export()["quiz_attempts"] == data["quiz_attempts"]
        assert other.profile == "amy"  # the export's profile name is not imposed


def test_reimport_is_idempotent(store, challenge):
    _fill(store, challenge)
    data = store.export()
    before = store.all_progress()
    summary = store.merge(data)
    assert (summary.challenge_attempts_added, summary.quiz_attempts_added) == (0, 0)
    assert (summary.challenge_attempts_seen, summary.quiz_attempts_seen) == (2, 2)
    store.merge(data)
    assert store.all_progress() == before
    assert len(store.export()["challenge_attempts"]) == 2


def test_merge_from_two_machines_keeps_the_union(tmp_path, challenge):
    with open_store(tmp_path / "a", "amy") as a, open_store(tmp_path / "b", "amy") as b:
        challenge(a, cid="c1", correct=False)
        a.add_time("gil", 10)
        challenge(b, cid="c2", correct=True)
        b.add_time("gil", 5)
        b.mark_done("gil")
        a.merge(b.export())
        b.merge(a.export())  # and back: nothing doubles on either side
        a.merge(b.export())
        for s in (a, b):
            lp = s.lesson_progress("gil")
            assert (lp.challenges_answered, lp.challenges_right) == (2, 1)
            assert lp.seconds == 15  # per-machine time, added once each
            assert lp.done
        assert len(a.challenge_attempts()) == len(b.challenge_attempts()) == 2


def test_latest_position_wins(tmp_path):
    with open_store(tmp_path / "a", "amy") as a, open_store(tmp_path / "b", "amy") as b:
        a.set_position("old")
        b.set_position("new", "quiz")
        a.merge(b.export())
        assert a.position() == ("new", "quiz")
        b.merge(a.export())
        assert b.position() == ("new", "quiz")
        old = a.export()
        old["position"]["updated_at"] = 1.0
        a.merge(old)
        assert a.position() == ("new", "quiz")


def test_imported_attempts_keep_their_order_and_time(store):
    data = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "quiz_attempts": [
            {"uid": "b", "lesson_id": "gil", "question_id": "q", "chosen": [0],
             "correct": True, "hint_used": False, "created_at": 2000.0},
            {"uid": "a", "lesson_id": "gil", "question_id": "q", "chosen": [1],
             "correct": False, "hint_used": False, "created_at": 1000.0},
        ],
    }  # fmt: skip
    store.merge(data)
    lp = store.lesson_progress("gil")
    # The attempt made later (created_at) is the latest, whatever the file order.
    assert (lp.quiz_right, lp.first_try_right) == (1, 0)
    assert lp.last_activity == 2000.0


def _valid() -> dict:
    return {
        "format": EXPORT_FORMAT,
        "version": 1,
        "profile": "x",
        "position": {"lesson_id": "gil", "anchor": None, "updated_at": 5.0},
        "lessons": [{"lesson_id": "gil", "started_at": 1.0, "done_at": None, "updated_at": 2.0}],
        "time": [{"lesson_id": "gil", "origin": "o1", "seconds": 3.0, "updated_at": 2.0}],
        "challenge_attempts": [
            {"uid": "u1", "lesson_id": "gil", "challenge_id": "c", "choice": "threads",
             "predicted_speedup": 1.0, "measured_speedup": None, "winner": "threads",
             "correct": True, "result": {}, "created_at": 1.5}
        ],
        "quiz_attempts": [
            {"uid": "u2", "lesson_id": "gil", "question_id": "q", "chosen": [0],
             "correct": False, "hint_used": True, "created_at": 1.6}
        ],
    }  # fmt: skip


def _set(path, value):
    def mutate(d):
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return d

    return mutate


def _drop(path):
    def mutate(d):
        target = d
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        return d

    return mutate


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: [d], "expected a JSON object"),
        (_set(["format"], "something-else"), "not a concurrency-tutor progress export"),
        (_drop(["format"]), "not a concurrency-tutor progress export"),
        (_set(["version"], 2), "version 2 is not supported"),
        (_set(["version"], "1"), "version '1' is not supported"),
        (_set(["version"], True), "not supported"),
        (_set(["lessons"], {}), "'lessons' must be a list"),
        (_set(["lessons", 0], "gil"), r"lessons\[0\] must be an object"),
        (_set(["lessons", 0, "started_at"], "yesterday"), r"lessons\[0\].started_at must be a finite number"),
        (_set(["time", 0, "seconds"], -1), r"time\[0\].seconds must be a finite number >= 0"),
        (_set(["challenge_attempts", 0, "correct"], "yes"), r"challenge_attempts\[0\].correct must be true or false"),
        (_drop(["challenge_attempts", 0, "uid"]), r"challenge_attempts\[0\].uid must be a non-empty string"),
        (_set(["challenge_attempts", 0, "predicted_speedup"], float("nan")), "predicted_speedup must be a finite number or null"),
        (_set(["challenge_attempts", 0, "result"], "fast"), r"challenge_attempts\[0\].result must be an object"),
        (_set(["quiz_attempts", 0, "chosen"], ["a"]), r"quiz_attempts\[0\].chosen must be a list of whole numbers"),
        (_set(["quiz_attempts", 0, "hint_used"], None), r"quiz_attempts\[0\].hint_used must be true or false"),
        (_set(["quiz_attempts", 0, "lesson_id"], ""), r"quiz_attempts\[0\].lesson_id must be a non-empty string"),
        (_set(["position"], ["gil"]), "'position' must be an object or null"),
        (_set(["position", "anchor"], 3), "position.anchor must be a string or null"),
        (_set(["profile"], 7), "'profile' must be a string or null"),
    ],
)  # fmt: skip
def test_bad_exports_are_refused_with_one_line_and_nothing_written(store, mutate, message):
    data = mutate(copy.deepcopy(_valid()))
    with pytest.raises(ProgressImportError, match=message) as info:
        store.merge(data)
    assert "\n" not in str(info.value)
    assert store.all_progress() == {}
    assert store.position() is None


def test_valid_minimal_exports_are_accepted(store):
    validate_export(_valid())
    store.merge({"format": EXPORT_FORMAT, "version": 1})  # nothing to merge is fine
    assert store.all_progress() == {}
    store.merge(_valid())
    lp = store.lesson_progress("gil")
    assert (lp.challenges_right, lp.quiz_answered, lp.seconds) == (1, 1, 3.0)
    assert store.position() == ("gil", None)


ids = st.sampled_from(["gil", "processes", "asyncio"])
attempt = st.one_of(
    st.tuples(
        st.just("challenge"),
        ids,
        st.sampled_from(["c1", "c2"]),
        st.booleans(),
        st.one_of(st.none(), st.floats(0.1, 8)),
        st.one_of(st.none(), st.floats(0.1, 8)),
    ),
    st.tuples(
        st.just("quiz"), ids, st.sampled_from(["q1", "q2", "q3"]), st.booleans(), st.booleans()
    ),
    st.tuples(st.just("time"), ids, st.floats(0, 1000)),
    st.tuples(st.just("done"), ids),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(attempt, max_size=15))
def test_any_history_round_trips(tmp_path_factory, history):
    base = tmp_path_factory.mktemp("prop")
    with open_store(base / "a", "p") as a, open_store(base / "b", "p") as b:
        for step in history:
            kind, lesson = step[0], step[1]
            if kind == "challenge":
                a.record_challenge(
                    lesson, step[2], choice="threads", predicted_speedup=step[4],
                    measured_speedup=step[5], winner="threads", correct=step[3], result={},
                )  # fmt: skip
            elif kind == "quiz":
                a.record_quiz(lesson, step[2], chosen=[0], correct=step[3], hint_used=step[4])
            elif kind == "time":
                a.add_time(lesson, step[2])
            else:
                a.mark_done(lesson)
        b.merge(json.loads(json.dumps(a.export())))
        b.merge(a.export())
        expected, got = a.all_progress(), b.all_progress()
        assert expected.keys() == got.keys()
        for lesson, lp in expected.items():
            other = got[lesson]
            assert other.seconds == pytest.approx(lp.seconds)
            if lp.prediction_error is None:
                assert other.prediction_error is None
            else:
                assert other.prediction_error == pytest.approx(lp.prediction_error)
            same = ("state", "challenges_answered", "challenges_right", "quiz_answered",
                    "quiz_right", "first_try_right", "last_activity")  # fmt: skip
            assert [getattr(other, f) for f in same] == [getattr(lp, f) for f in same]
