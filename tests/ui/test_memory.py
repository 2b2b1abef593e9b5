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
        clock[0] += 5.0
        assert full_collections(collector.tick) == 0  # no key since: nothing to do
        for _ in range(80):  # typing without a pause for 40 s
            clock[0] += 0.5
            collector.input_seen()
            collector.tick()
        # 30 s after the last one (at 1002), whatever the typing:
        assert collector.last_full > 1000.0 + 2 + memory.LONGEST_WITHOUT_S - 1
        clock[0] += memory.LONGEST_WITHOUT_S
        assert full_collections(collector.tick) == 1  # and never longer apart than that
    finally:
        collector.stop()
    assert gc.get_threshold() == before


async def test_a_closed_screen_is_collected_once_the_one_below_is_drawn(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("enter")  # a lesson: its first showing collects nothing
        await pilot.pause()
        opened_at = app.collector.last_full
        await pilot.press("escape")
        await pilot.pause()
        await pilot.pause()
        assert app.collector.last_full > opened_at


async def test_key_presses_count_as_input(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        first = app.collector.last_input
        await pilot.pause(0.05)
        await pilot.press("down")
        assert app.collector.last_input > first
    assert gc.get_threshold()[2] != memory.FULL_COLLECTION_THRESHOLD  # given back on exit
