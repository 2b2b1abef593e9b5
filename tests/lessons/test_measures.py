"""Challenges may compare the figures a scenario reports (lag, response time), and only those."""

from __future__ import annotations

from tutor.lab.explain import explain
from tutor.lessons import load_lesson_file

LESSON = """---
id: lag-demo
title: Lag
order: 1
summary: A blocked loop.
topics: [asyncio]
minutes: 5
---

# Lag

```challenge
id: lag-demo-one
scenario: SCENARIO
measure: MEASURE
question: "Which keeps the loop answering?"
choices:
  - strategy: STRAT_A
    label: "A"
  - strategy: STRAT_B
    label: "B"
explain:
  STRAT_A: "A won."
  STRAT_B: "B won."
hint: "Who holds the loop?"
```
"""


def _lesson(tmp_path, scenario: str, measure: str, a: str, b: str):
    text = (
        LESSON.replace("SCENARIO", scenario)
        .replace("MEASURE", measure)
        .replace("STRAT_A", a)
        .replace("STRAT_B", b)
    )
    path = tmp_path / "01-lag.md"
    path.write_text(text)
    return load_lesson_file(path)


def test_a_challenge_may_compare_the_lag_its_scenario_reports(tmp_path):
    lesson, errors = _lesson(tmp_path, "event-loop-lag", "lag_s", "blocking", "awaiting")
    assert errors == [] and lesson is not None
    assert lesson.challenges[0].measure == "lag_s"


def test_a_measure_the_scenario_does_not_report_is_an_error_naming_those_it_does(tmp_path):
    lesson, errors = _lesson(tmp_path, "convoy", "lag_s", "threads", "processes")
    assert lesson is None
    assert any(
        "unknown measure 'lag_s'" in e.message and "wall_s, response_s" in e.message for e in errors
    )


def _summary(strategy: str, **fields) -> dict:
    base = {
        "scenario": "deadlock", "strategy": strategy, "ok": True, "error": None, "cores": 2,
        "python": "3.11.7", "gil_enabled": True, "tasks": 10, "workers": 2, "wall_s": None,
        "deadlock": None, "details": {}, "spread": None, "foreign_load_percent": 0.0, "noisy": False,
    }  # fmt: skip
    return {**base, **fields}


def test_the_paragraph_says_who_deadlocked_and_gives_it_no_time():
    deadlock = {
        "after_s": 1.0, "stalled_s": 1.0, "cycle": [],
        "text": "w1 holds B and waits for A, held by w2; w2 holds A and waits for B, held by w1",
    }  # fmt: skip
    text = explain(
        [
            _summary("opposite", deadlock=deadlock),
            _summary("ordered", wall_s=0.08, wall_s_runs=[0.08]),
            _summary("timeout", wall_s=0.2, wall_s_runs=[0.2], details={"retries": 4}),
        ]
    )
    assert "Opposite deadlocked: w1 holds B and waits for A" in text
    assert "ordered came out best" in text
    assert "after 4 retries" in text


def test_the_paragraph_gives_lag_in_milliseconds():
    runs = [
        _summary("blocking", scenario="event-loop-lag", wall_s=0.6, lag_s=0.6,
                 details={"slow_callbacks_logged": 6}),
        _summary("awaiting", scenario="event-loop-lag", wall_s=0.1, lag_s=0.004),
    ]  # fmt: skip
    text = explain(runs)
    assert (
        "kept the event loop's lag lowest" in text
        and "lag 4.0 ms" in text
        and "lag 600.0 ms" in text
    )
    assert "logged 6 slow callbacks" in text
