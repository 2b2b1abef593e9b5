"""The comparison's statistics: pure functions, checked by property and by hand."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tutor.lab import stats

times = st.floats(min_value=0.01, max_value=100.0, allow_nan=False)
rounds = st.lists(st.tuples(times, times), min_size=1, max_size=7)


@given(rounds, st.sampled_from([stats.FASTEST, stats.MEDIAN]))
def test_the_interval_always_holds_the_estimate(pairs, how):
    low, point, high = stats.ratio_interval(pairs, how)
    assert low <= point <= high
    # Never narrower than the floor: identical repeats say nothing about the next minute.
    floor = stats.floor_for(len(pairs))
    assert low <= point * (1 - floor) + 1e-12 and high >= point * (1 + floor) - 1e-12


def test_cpu_work_is_judged_by_its_fastest_round_waiting_work_by_its_median():
    assert stats.estimator_for("cpu") == stats.FASTEST == stats.estimator_for("mixed")
    assert stats.estimator_for("io") == stats.MEDIAN == stats.estimator_for("cost")
    # A disturbed baseline round does not inflate a CPU speedup: the fastest rounds are compared.
    pairs = [(2.0, 1.0), (3.5, 1.05), (2.05, 1.02)]
    _, point, _ = stats.ratio_interval(pairs, stats.FASTEST)
    assert point == 2.0


def test_a_clear_gap_separates_and_a_small_one_never_does():
    clear = stats.ratio_interval([(2.0, 1.0), (2.1, 1.05), (1.95, 1.0)], stats.FASTEST)
    assert stats.separated(clear)
    # 3% slower in every round: statistically clear, practically the same.
    small = stats.ratio_interval([(1.03, 1.0), (1.031, 1.0), (1.029, 1.0)], stats.FASTEST)
    assert not stats.separated(small)
    # One round, 8% apart: inside one run's 10% floor.
    assert not stats.separated(stats.ratio_interval([(1.08, 1.0)], stats.MEDIAN))


def test_failed_rounds_are_left_out_of_the_pairs():
    assert stats.paired([1.0, None, 3.0], [2.0, 2.0, None]) == [(1.0, 2.0)]
    assert stats.ratio_interval([], stats.MEDIAN) is None
