"""RunContext: the multiprocessing context it hands to scenarios."""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver

import pytest

from tutor.lab.context import RunContext


def make_context(start_method: str) -> RunContext:
    return RunContext(
        scenario="startup",
        strategy="processes",
        tasks=1,
        workers=1,
        quick=True,
        start_method=start_method,
        params={},
        cores=2,
        note=lambda _: None,
        exclude_pid=lambda _: None,
        measure_memory=lambda: 0,
    )


@pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="no forkserver here"
)
def test_forkserver_preloads_the_scenario_as_a_script_would_its_main_module():
    # A script's workers live in __main__, which the server preloads by default;
    # the lab's live in the scenario module. Without the preload every worker
    # imported it again (~140 ms each here): 100 workers took 4.4 s, not 1.7 s.
    ctx = make_context("forkserver")
    assert ctx.mp().get_start_method() == "forkserver"
    preload = multiprocessing.forkserver._forkserver._preload_modules
    # First the guard that makes the server die with the runner (tests/lab/test_orphans.py).
    assert preload == ["tutor.lab.dies_with_runner", "__main__", "tutor.lab.scenarios.startup"]


def test_other_start_methods_are_handed_over_as_they_are():
    for method in multiprocessing.get_all_start_methods():
        assert make_context(method).mp().get_start_method() == method
