"""Verdicts come from measurements: unit tests of the rules with plain result dicts."""

from __future__ import annotations

from tutor.lab.verdict import judge


def result(strategy: str, wall: float, **extra) -> dict:
    base = {
        "strategy": strategy, "ok": True, "wall_s": wall, "cores": 2, "parallel_capacity": 1.9,
        "python": "3.11.7", "gil_enabled": True, "free_threaded_build": False, "noisy": False,
        "foreign_load_percent": 2.0, "start_method": None, "spread": None,
    }
    return base | extra


def test_the_fastest_measured_strategy_wins_whatever_the_textbook_says():
    results = {"sequential": result("sequential", 2.4), "threads": result("threads", 1.0),
               "processes": result("processes", 1.3, start_method="fork")}
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
    results = {"sequential": result("sequential", 2.71, spread=1.2), "processes": result("processes", 1.20, spread=0.1)}
    v = judge(results, chosen="sequential")
    assert v.winner == "processes" and not v.correct
    assert v.unreliable


def test_failed_runs_never_win():
    results = {"threads": result("threads", 0.1, ok=False, error="boom"), "processes": result("processes", 1.0)}
    assert judge(results, chosen="threads").winner == "processes"


def test_memory_challenges_judge_peak_memory():
    results = {"threads": result("threads", 1.0, peak_mem_bytes=20_000_000),
               "processes": result("processes", 0.9, peak_mem_bytes=90_000_000)}
    assert judge(results, chosen="threads", measure="peak_mem_bytes").winner == "threads"


def test_reasons_speak_of_this_machine():
    one_core = {"threads": result("threads", 1.0, cores=1), "processes": result("processes", 1.0, cores=1)}
    assert any("only 1 core" in r for r in judge(one_core, chosen="threads").reasons)
    busy = {"threads": result("threads", 1.0, parallel_capacity=1.0, noisy=True, foreign_load_percent=60.0)}
    reasons = " ".join(judge(busy, chosen="threads").reasons)
    assert "1.0x the work of one" in reasons and "60%" in reasons
    free = {"threads": result("threads", 1.0, gil_enabled=False, free_threaded_build=True)}
    assert any("free-threaded" in r for r in judge(free, chosen="threads").reasons)
