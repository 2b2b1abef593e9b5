"""The hazard scenarios, run for real: a deadlock the watchdog catches and ends, a
bounded queue's back-pressure, a blocked event loop's lag and the convoy effect.
Comparisons are relative (one variant against another, with wide margins), never
against fixed times."""

from __future__ import annotations

import os
import threading
import time

import psutil
import pytest

from tutor.lab.client import LabRun, RunRequest
from tutor.lab.compare import Comparison, ComparisonPlan
from tutor.lab.events import SUMMARY_KEYS
from tutor.lab.watchdog import Deadlocked, LockBook


def run(scenario: str, strategy: str, **params) -> tuple[dict, list[dict]]:
    lab = LabRun(RunRequest(scenario, strategy, quick=True, probe=False, params=params))
    events = list(lab.events())
    return events[-1], events


# -- the watchdog on its own (threads of this test process) -----------------


def _worker(book: LockBook, first, second, gate: threading.Barrier, stopped: list[str]) -> None:
    gate.wait()
    with book.worker():
        try:
            with first:
                gate.wait()  # both hold their first lock before either takes its second
                with second:
                    pass
        except Deadlocked:
            stopped.append(threading.current_thread().name)


def test_watchdog_finds_the_cycle_and_ends_both_threads():
    found = []
    book = LockBook(stall_s=0.2, on_deadlock=found.append)
    a, b = book.lock("A"), book.lock("B")
    gate, stopped = threading.Barrier(2), []
    threads = [
        threading.Thread(target=_worker, args=(book, a, b, gate, stopped), name="one"),
        threading.Thread(target=_worker, args=(book, b, a, gate, stopped), name="two"),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    book.close()
    assert not any(t.is_alive() for t in threads), "the watchdog must end the deadlocked threads"
    assert sorted(stopped) == ["one", "two"]
    assert len(found) == 1 and book.report is found[0]
    cycle = found[0]["cycle"]
    assert {tuple(e["holds"]) for e in cycle} == {("A",), ("B",)}
    for entry in cycle:
        # Each waits for exactly the lock the other holds.
        assert entry["waits_for"] not in entry["holds"]
        other = next(e for e in cycle if e is not entry)
        assert entry["held_by"] == other["worker"] and entry["waits_for"] in other["holds"]
    # Both locks were released on the way out, and the stopped run takes no lock again.
    assert not a.locked() and not b.locked()
    with pytest.raises(Deadlocked):
        a.acquire()


def test_watchdog_does_not_call_a_slow_holder_a_deadlock():
    book = LockBook(stall_s=0.1)
    a = book.lock("A")
    holding = threading.Event()

    def slow() -> None:
        with book.worker(), a:
            holding.set()
            time.sleep(0.6)  # far longer than stall_s, but it works: no cycle

    def waiter() -> None:
        holding.wait()
        with book.worker(), a:
            pass

    threads = [threading.Thread(target=slow), threading.Thread(target=waiter)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    book.close()
    assert book.report is None


# -- the scenarios through the runner ---------------------------------------


def test_opposite_orders_deadlock_and_the_runner_stops_cleanly():
    lab = LabRun(
        RunRequest("deadlock", "opposite", quick=True, probe=False, params={"stall_s": 0.5})
    )
    events = list(lab.events())
    result = events[-1]
    assert result["ok"] and result["wall_s"] is None
    deadlock = result["deadlock"]
    assert len(deadlock["cycle"]) == 2 and deadlock["stalled_s"] >= 0.5
    assert result["details"]["completed"] < result["details"]["transfers"]
    assert result["details"]["stopped_threads"] == 2
    # The lanes said who waits for what, and a note said it in words.
    details = {e.get("detail") for e in events if e["event"] == "phase"}
    assert {"has A wants B", "has B wants A"} <= details
    assert any(e["event"] == "note" and e["text"].startswith("deadlock: ") for e in events)
    # No process left behind: the runner ended with its result.
    assert lab.pid is not None and not psutil.pid_exists(lab.pid)


@pytest.mark.parametrize("strategy", ["ordered", "timeout"])
def test_the_cures_finish_every_transfer(strategy):
    result, _ = run("deadlock", strategy)
    assert result["ok"] and result["deadlock"] is None and result["wall_s"] > 0
    assert result["details"]["completed"] == result["details"]["transfers"]


def test_a_comparison_never_lets_a_deadlocked_variant_win():
    summaries = Comparison(
        ComparisonPlan(
            "deadlock",
            ["opposite", "ordered"],
            quick=True,
            probe=False,
            max_rounds=1,
            params={"stall_s": 0.3},
        )
    ).run()
    by = {s["strategy"]: s for s in summaries}
    for s in summaries:
        assert s.keys() >= SUMMARY_KEYS
    assert by["opposite"]["deadlock"] and by["opposite"]["wall_s"] is None
    from tutor.lab.verdict import judge

    verdict = judge(by, chosen="opposite")
    assert verdict.winner == "ordered" and not verdict.correct


def test_a_small_queue_pushes_back_on_the_producer():
    small, _ = run("producer-consumer", "threads", maxsize=1, item_s=0.002)
    unbounded, _ = run("producer-consumer", "threads", maxsize=0, item_s=0.002)
    for result in (small, unbounded):
        assert result["ok"], result["error"]
        assert sum(result["details"]["per_consumer"]) == result["tasks"]
    assert small["details"]["producer_blocked_s"] > 0
    assert unbounded["details"]["producer_blocked_s"] == 0


def test_process_consumers_handle_every_item_once():
    result, events = run("producer-consumer", "processes")
    assert result["ok"], result["error"]
    assert sum(result["details"]["per_consumer"]) == result["tasks"]
    assert len(result["details"]["per_consumer"]) == result["workers"] == 2


def test_a_blocking_call_stalls_the_event_loop_and_awaiting_does_not():
    blocking, events = run("event-loop-lag", "blocking", block_s=0.1)
    awaiting, _ = run("event-loop-lag", "awaiting", block_s=0.1)
    threaded, _ = run("event-loop-lag", "to_thread", block_s=0.1)
    # Every job blocked the loop in turn: the heartbeat waited for at least one whole job.
    assert blocking["lag_s"] >= 0.1
    assert awaiting["lag_s"] < blocking["lag_s"] / 2
    assert threaded["lag_s"] < blocking["lag_s"] / 2
    assert blocking["details"]["slow_callbacks_logged"] >= 1
    assert awaiting["details"]["slow_callbacks_logged"] == 0
    assert any(e["event"] == "phase" and e.get("detail") == "blocks the loop" for e in events)


def test_a_lag_comparison_summarises_lag_by_round():
    summaries = Comparison(
        ComparisonPlan(
            "event-loop-lag",
            ["blocking", "awaiting"],
            quick=True,
            probe=False,
            max_rounds=2,
            min_rounds=2,
        )
    ).run()
    for s in summaries:
        assert s.keys() >= SUMMARY_KEYS
        assert len(s["lag_s_runs"]) == 2 and s["lag_s"] is not None
    by = {s["strategy"]: s for s in summaries}
    from tutor.lab.verdict import judge

    assert judge(by, chosen="awaiting", measure="lag_s").winner == "awaiting"


def test_cpu_threads_slow_an_io_threads_answers_more_than_being_alone():
    alone, _ = run("convoy", "sequential")
    convoy, _ = run("convoy", "threads")
    for result in (alone, convoy):
        assert result["ok"], result["error"]
        assert result["details"]["requests"] == result["tasks"]
    assert convoy["details"]["cpu_workers"] == 2 and alone["details"]["cpu_workers"] == 0
    assert convoy["response_s"] > alone["response_s"]


# -- no process left behind --------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="looks at sessions (POSIX)")
@pytest.mark.parametrize(
    ("args", "busy"),
    [
        (["convoy", "--strategy", "processes", "--tasks", "2000", "--start-method", "spawn"], 2),
        (
            [
                "producer-consumer",
                "--strategy",
                "processes",
                "--tasks",
                "5000",
                "--set",
                "item_s=0.01",
            ],
            2,
        ),
    ],
    ids=["convoy", "producer-consumer"],
)
def test_sigkill_of_the_cli_ends_every_process_of_the_new_process_runs(args, busy):
    from tests.lab.test_orphans import WITHIN_S, _kill_and_watch, _start

    proc, family = _start(args, busy_workers=busy)
    assert len(family) >= 3, family  # the runner and its worker processes (and the server)
    alive = _kill_and_watch(proc, family)
    assert not alive, f"still alive {WITHIN_S:g} s after SIGKILL: {alive}"


def test_pool_tasks_waiting_for_their_own_pool_deadlock_and_are_stopped():
    result, events = run("deadlock", "pool", stall_s=0.5)
    assert result["ok"] and result["wall_s"] is None
    deadlock = result["deadlock"]
    assert len(deadlock["cycle"]) == 2 and "every worker of the pool is waiting" in deadlock["text"]
    assert result["details"]["stopped_threads"] == 2
    assert any(
        e["event"] == "phase" and str(e.get("detail", "")).startswith("wants task") for e in events
    )
