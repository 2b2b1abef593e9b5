"""Full garbage collections wait for a pause in the learner's typing."""

from __future__ import annotations

import gc

from tutor.ui import memory
from tutor.ui.memory import IdleCollector


def full_collections(action) -> int:
    seen: list[int] = []

    def callback(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            seen.append(1)

    gc.callbacks.append(callback)
    try:
        action()
    finally:
        gc.callbacks.remove(callback)
    return len(seen)


def test_full_collections_wait_for_idle_but_not_forever(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(memory.time, "monotonic", lambda: clock[0])
    collector = IdleCollector()
    before = gc.get_threshold()
    collector.start()
    try:
        assert gc.get_threshold()[2] == memory.FULL_COLLECTION_THRESHOLD
        clock[0] += 0.5
        collector.input_seen()
        clock[0] += 0.5
        assert full_collections(collector.tick) == 0  # a key 0.5 s ago: not now
        clock[0] += 1.0
        assert full_collections(collector.tick) == 1  # 1.5 s without a key
        for _ in range(80):  # typing without a pause for 40 s
            clock[0] += 0.5
            collector.input_seen()
            collector.tick()
        assert collector.last_full > 1000.0 + 2 + memory.LONGEST_WITHOUT_S - 1
    finally:
        collector.stop()
    assert gc.get_threshold() == before


async def test_key_presses_count_as_input(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        first = app.collector.last_input
        await pilot.pause(0.05)
        await pilot.press("down")
        assert app.collector.last_input > first
    assert gc.get_threshold()[2] != memory.FULL_COLLECTION_THRESHOLD  # given back on exit
