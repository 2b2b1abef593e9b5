"""Runs that cannot fit in memory are refused before anything starts (tutor.lab.budget)."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from tutor.lab.budget import HEADROOM, check_fits, estimate_bytes
from tutor.lab.client import RunRequest

GIB = 2**30
OVERSIZED = [
    "run",
    "compress",
    "--strategy",
    "processes",
    "--tasks",
    "32",
    "--workers",
    "32",
    "--set",
    "mib=512",
]


def spec(
    scenario="compress", strategy="threads", tasks=4, workers=4, start_method="fork", **params
):
    return {
        "scenario": scenario,
        "strategy": strategy,
        "tasks": tasks,
        "workers": workers,
        "start_method": start_method,
        "params": params,
    }


def test_compress_grows_with_concurrent_tasks_and_their_size():
    one = estimate_bytes(spec(tasks=1, workers=1, mib=512))
    assert 1.0 * GIB < one < 1.2 * GIB  # 512 MiB in, ~2.15x at the peak
    assert estimate_bytes(spec(tasks=32, workers=32, mib=512)) > 30 * one
    # Concurrency is what counts: 32 tasks on 4 workers hold 4 buffers at a time.
    assert estimate_bytes(spec(tasks=32, workers=4, mib=512)) == estimate_bytes(
        spec(tasks=4, workers=4, mib=512)
    )
    assert estimate_bytes(spec(strategy="sequential", tasks=32, workers=1, mib=512)) == one


def test_processes_cost_more_per_worker_the_more_they_start_afresh():
    costs = [
        estimate_bytes(spec("crunch", "processes", 50, 50, m))
        for m in ("fork", "forkserver", "spawn")
    ]
    assert costs == sorted(costs) and costs[0] < costs[2]
    assert estimate_bytes(spec("crunch", "threads", 50, 50)) < costs[0]


def test_memory_and_startup_count_every_worker_and_downloads_every_file():
    assert estimate_bytes(spec("memory", "processes", 200, 200, "spawn")) > 2.5 * GIB
    big = estimate_bytes(spec("downloads", "threads", 200, 200, size_kib=65536))
    assert big > 12 * GIB


def test_a_run_that_fits_passes_and_one_that_does_not_names_need_available_and_what_to_lower():
    check_fits(spec(mib=24), available=4 * GIB)
    with pytest.raises(ValueError) as err:
        check_fits(spec(tasks=32, workers=32, mib=512), available=int(21.9 * GIB))
    message = str(err.value)
    assert "\n" not in message
    assert "would need about 34.4 GiB" in message and "21.9 GiB is available" in message
    assert message.endswith("lower --tasks, --workers or mib")
    # Headroom: a run needing 90% of what is free is refused too.
    need = estimate_bytes(spec(mib=24))
    with pytest.raises(ValueError, match="lower"):
        check_fits(spec(mib=24), available=int(need / 0.9))
    check_fits(spec(mib=24), available=int(need / HEADROOM) + 1)


def test_resolve_refuses_the_oversized_run_and_accepts_a_quick_one():
    assert RunRequest("compress", "processes", quick=True).resolve()["params"]["mib"] == 4
    if psutil.virtual_memory().available * HEADROOM > 40 * GIB:
        pytest.skip("this machine could hold the oversized run")
    with pytest.raises(ValueError, match="would need about"):
        RunRequest("compress", "processes", 32, 32, params={"mib": 512}).resolve()


def test_the_cli_refuses_an_oversized_run_in_one_line_with_status_2_before_starting_anything():
    if psutil.virtual_memory().available * HEADROOM > 40 * GIB:
        pytest.skip("this machine could hold the oversized run: it must not be started by a test")
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "tutor", *OVERSIZED], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "would need about" in lines[0] and "lower --tasks, --workers or mib" in lines[0]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""  # no table, no event: the runner never started
    assert time.monotonic() - t0 < 20
