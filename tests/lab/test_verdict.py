"""Verdicts come from measurements: unit tests of the rules with plain result dicts."""

from __future__ import annotations

from tutor.lab.verdict import judge


def result(strategy: str, wall: float, **extra) -> dict:
    base = {
        "scenario": "crunch",
        "tasks": 4,
        "workers": 4,
        "strategy": strategy,
        "ok": True,
        "wall_s": wall,
        "cores": 2,
        "parallel_capacity": 1.9,
        "python": "3.11.7",
        "gil_enabled": True,
        "free_threaded_build": False,
        "noisy": False,
        "foreign_load_percent": 2.0,
        "start_method": None,
        "spread": None,
    }
    return base | extra


def test_the_fastest_measured_strategy_wins_whatever_the_textbook_says():
    results = {
        "sequential": result("sequential", 2.4),
        "threads": result("threads", 1.0),
        "processes": result("processes", 1.3, start_method="fork"),
    }
    v = judge(results, chosen="processes", expected_winner="processes", predicted_speedup=2.0)
    assert v.winner == "threads"
    assert not v.correct
    assert v.disagrees_with_textbook
    assert v.speedups["threads"] == 2.4
    measured = round(2.4 / 1.3, 2)
    assert v.prediction_error == round(abs(2.0 - measured) / measured, 3)


def test_a_result_within_ten_percent_is_a_tie_and_counts_as_right():
    results = {"threads": result("threads", 1.00), "asyncio": result("asyncio", 1.08)}
    v = judge(results, chosen="asyncio")
    assert v.tied == {"threads", "asyncio"} and v.correct


def test_a_wide_spread_never_turns_a_clear_loss_into_a_tie():
    results = {
        "sequential": result("sequential", 2.71, spread=1.2),
        "processes": result("processes", 1.20, spread=0.1),
    }
    v = judge(results, chosen="sequential")
    assert v.winner == "processes" and not v.correct
    # Noisy, and said so, but the gap is wider than the noise: the verdict holds.
    assert v.noisy and v.settled and "the verdict holds" in v.noise


def test_failed_runs_never_win():
    results = {
        "threads": result("threads", 0.1, ok=False, error="boom"),
        "processes": result("processes", 1.0),
    }
    assert judge(results, chosen="threads").winner == "processes"


def test_memory_challenges_judge_peak_memory():
    results = {
        "threads": result("threads", 1.0, peak_mem_bytes=20_000_000),
        "processes": result("processes", 0.9, peak_mem_bytes=90_000_000),
    }
    assert judge(results, chosen="threads", measure="peak_mem_bytes").winner == "threads"


def test_reasons_speak_of_this_machine():
    one_core = {
        "threads": result("threads", 1.0, cores=1),
        "processes": result("processes", 1.0, cores=1),
    }
    assert any("only 1 core" in r for r in judge(one_core, chosen="threads").reasons)
    busy = {
        "threads": result(
            "threads", 1.0, parallel_capacity=1.0, noisy=True, foreign_load_percent=60.0
        )
    }
    v = judge(busy, chosen="threads")
    assert "1.0x the work of one" in " ".join(v.reasons) and "60%" in v.noise
    free = {"threads": result("threads", 1.0, gil_enabled=False, free_threaded_build=True)}
    assert any("free-threaded" in r for r in judge(free, chosen="threads").reasons)


def rounds(strategy: str, *walls: float, **extra) -> dict:
    """A comparison summary: every round's time, the fastest as the estimate (CPU work)."""
    return result(strategy, min(walls), wall_s_runs=list(walls), estimator="fastest", **extra)


def test_a_winner_is_named_only_when_its_lead_is_beyond_the_noise():
    close = {
        "threads": rounds("threads", 1.00, 1.30, 1.02),
        "processes": rounds("processes", 1.03, 0.99, 1.25),
    }
    v = judge(close, chosen="threads")
    assert not v.settled and v.tied == {"threads", "processes"} and v.correct
    assert "too close to call" in v.noise
    clear = {
        "threads": rounds("threads", 2.0, 2.1, 2.05),
        "processes": rounds("processes", 1.0, 1.1, 1.05),
    }
    v = judge(clear, chosen="threads")
    assert v.settled and v.winner == "processes" and not v.correct


def test_speedups_carry_an_interval_that_holds_the_estimate():
    results = {
        "sequential": rounds("sequential", 2.0, 2.2, 2.1),
        "processes": rounds("processes", 1.05, 1.0, 1.2),
    }
    v = judge(results, chosen="processes", predicted_speedup=2.0)
    low, high = v.intervals["processes"]
    assert low <= v.speedups["processes"] <= high
    assert v.prediction_within


def test_a_speedup_beyond_the_cores_is_flagged_and_explained_not_credited():
    results = {
        "sequential": result("sequential", 3.0, foreign_load_percent=40.0),
        "processes": result("processes", 1.0, start_method="fork"),
    }
    v = judge(results, chosen="processes")
    assert v.implausible == {"processes"}
    text = " ".join(v.reasons)
    assert "more than this machine can give" in text and "40%" in text


def test_threads_under_a_gil_are_never_credited_with_a_speedup_on_pure_python():
    results = {"sequential": result("sequential", 1.5), "threads": result("threads", 1.0)}
    v = judge(results, chosen="threads")
    assert v.implausible == {"threads"}
    assert any("take turns on one core" in r for r in v.reasons)
    free = {
        "sequential": result("sequential", 1.5, gil_enabled=False, free_threaded_build=True),
        "threads": result("threads", 1.0, gil_enabled=False, free_threaded_build=True),
    }
    assert judge(free, chosen="threads").implausible == set()


def test_waiting_work_is_judged_by_its_own_spread_not_by_other_programs():
    busy = dict(noisy=True, foreign_load_percent=60.0, scenario="downloads")
    results = {
        "sequential": result("sequential", 9.02, **busy),
        "threads": result("threads", 3.03, **busy),
    }
    v = judge(results, chosen="threads")
    assert v.correct and v.settled and not v.noisy
    assert "waiting does not need the CPU" in v.noise


def test_a_figure_just_above_the_cores_is_never_stated_beside_a_lower_cap():
    from tutor.lab.explain import explain

    seq = rounds("sequential", 2.07, 2.2)
    proc = rounds("processes", 1.0, 1.3, start_method="fork")
    text = explain(
        [
            dict(seq, speedup=1.0, speedup_low=1.0, speedup_high=1.0),
            dict(proc, speedup=2.07, speedup_low=1.7, speedup_high=2.2, implausible=False),
        ]
    )
    assert "2.07x (about the 2x most this machine gives, within the noise)" in text
