"""run_plan: the one rule that turns a challenge into a comparison (game and lint alike)."""

from __future__ import annotations

from tutor.lessons.expression import constant
from tutor.lessons.model import Challenge, Choice, Expectation
from tutor.lessons.plan import run_plan


def _challenge(
    strategies, *, predict=None, expect=None, params=None, scenario="crunch"
) -> Challenge:
    return Challenge(
        id="c",
        scenario=scenario,
        question="?",
        choices=tuple(Choice(s, s) for s in strategies),
        explain={s: "" for s in strategies},
        params=params or {},
        predict=predict,
        expect=expect,
    )


def test_the_choice_runs_first_then_the_other_choices():
    plan = run_plan(_challenge(["sequential", "threads", "processes"]), "processes")
    assert plan.strategies == ["processes", "sequential", "threads"]
    assert plan.contenders == ["sequential", "threads", "processes"]


def test_a_speedup_needs_the_baseline_whether_predicted_or_expected():
    predicted = run_plan(_challenge(["threads", "processes"], predict="speedup"), "threads")
    assert predicted.strategies == ["threads", "processes", "sequential"]
    expected = run_plan(
        _challenge(
            ["threads", "processes"], expect=Expectation("processes", {"processes": constant(1.9)})
        ),
        "threads",
    )
    assert expected.strategies == ["threads", "processes", "sequential"]
    # The baseline never wins: only the choices contend.
    assert "sequential" not in expected.contenders
    assert run_plan(_challenge(["threads", "processes"]), "threads").strategies == [
        "threads",
        "processes",
    ]


def test_lint_and_the_game_get_the_same_runs():
    challenge = _challenge(
        ["threads", "processes"], expect=Expectation("processes", {"processes": constant(1.9)})
    )
    game = run_plan(challenge, "threads")
    lint = run_plan(challenge, quick=True, budget_s=None)
    assert sorted(game.strategies) == sorted(lint.strategies)


def test_sizes_go_to_the_run_and_the_rest_to_the_scenario():
    plan = run_plan(
        _challenge(
            ["threads", "processes"],
            params={"tasks": 4, "workers": 2, "preset": "seed", "delay": 1.0},
            scenario="downloads",
        ),
        "threads",
    )
    assert (plan.tasks, plan.workers, plan.start_method) == (4, 2, None)
    assert plan.params == {"preset": "seed", "delay": 1.0}


def test_a_retry_reuses_the_work_of_the_first_play():
    plan = run_plan(_challenge(["threads", "processes"]), "threads", work={"steps_per_task": 123})
    assert plan.work == {"steps_per_task": 123}
    assert plan.request("processes", False, plan.work).resolve()["work"] == {"steps_per_task": 123}
