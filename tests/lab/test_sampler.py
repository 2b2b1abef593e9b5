"""The periodic sampler shows only possible CPU figures, even when process times move between processes."""

from __future__ import annotations

import time

import psutil

from tutor.lab.sampler import PeriodicSampler


class JumpyTree:
    """CPU totals as a reaping parent makes them: up, then a drop, then a jump."""

    def __init__(self) -> None:
        self.totals = iter([10.0, 10.05, 8.0, 8.05, 30.0] + [30.05 + i * 0.05 for i in range(200)])

    def tree(self, rescan: bool = False) -> list:
        return []

    def cpu_seconds(self, tree: list | None = None) -> float:
        return next(self.totals)

    def memory_bytes(self, tree: list | None = None) -> int:
        return 1


def test_samples_stay_between_zero_and_every_core():
    samples: list[float] = []
    sampler = PeriodicSampler(JumpyTree(), lambda cpu, mem, shares: samples.append(cpu), hz=50)
    sampler.start()
    time.sleep(0.3)
    sampler.stop()
    assert len(samples) >= 4
    cores = psutil.cpu_count() or 1
    assert all(0.0 <= s <= 100.0 * cores for s in samples)
    assert samples[1] == 0.0  # the drop
    assert samples[3] == 100.0 * cores  # the jump
