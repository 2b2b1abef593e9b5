"""A host-wide first-come-first-served queue for measured runs.

When the game is served to a room, 30 learners share one machine. A measured
run is only meaningful if it does not compete with other measured runs, so every
run waits here for one of a few *slots* (``TUTOR_BENCH_DIR`` names the
directory; the SSH server sets it for every session).

Layout of the directory (every process of every session uses it):

- ``slot-N.lock``: a run holds slot N while it holds ``flock(LOCK_EX)`` on it. The
  kernel drops the lock when the holder dies, however it dies: a crashed or
  SIGKILLed run never keeps its slot.
- ``tickets/T-<seq>-<pid>``: one per waiter, also locked by its owner. The
  sequence number (from ``seq``, incremented under a lock) gives the FIFO order;
  a ticket whose lock can be taken belongs to a dead waiter and is removed.
  Only the first live ticket may take a slot, so nobody overtakes.
- ``history.json``: the last durations of runs, for the wait estimate.
- ``config.json``: the slot count the server chose, so every session agrees.

Default slots: ``usable cores // 2``, at least 1. A measured run of the parallel
strategies wants more than one core (a process pool on 2 cores is the lesson);
halving leaves each run at least two cores on most hosts, and leaves room for the
apps, the server and the learners' typing. On this 2-core host that is one
measured run at a time.

No Textual, no asyncssh: the lab imports this.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from tutor import locking
from tutor.lab.facts import usable_cores

POLL_S = 0.2
"""How often the head of the line tries the slots. Every wake of a sleeping
process costs the host a few hundred microseconds on a busy machine, so even
the head polls no faster than a slot-free-to-start delay of 0.1 s on average
needs."""
HISTORY = 20
REPORT_EVERY_S = 1.0

# (wake, rescan, report) seconds for a waiter with 1 and with more tickets
# ahead. Waking costs one stat of the tickets folder (any arrival or departure
# changes its mtime); a rescan probes the locks of the tickets ahead and is
# also how a killed waiter's ticket is found dead, as that changes nothing on
# disk; a report computes the wait estimate. Next in line is kept brisk so it
# becomes head within half a second; further back nobody's turn depends on it.
_PACE_NEXT = (0.5, 1.0, REPORT_EVERY_S)
_PACE_BACK = (2.0, 10.0, 4.0)
_MTIME_GRAIN_NS = 100_000_000

__all__ = ["QueueCancelled", "acquire", "default_slots", "queue_status", "write_config"]


class QueueCancelled(Exception):
    """The waiter gave up (its ``cancel`` event was set) before getting a slot."""


def default_slots() -> int:
    return max(1, usable_cores() // 2)


def write_config(bench_dir: Path, *, slots: int | None = None) -> int:
    """Record the slot count for every process using this directory; returns it."""
    bench_dir.mkdir(parents=True, exist_ok=True)
    chosen = slots if slots and slots > 0 else default_slots()
    _write_json(bench_dir / "config.json", {"slots": chosen})
    return chosen


def configured_slots(bench_dir: Path) -> int:
    data = _read_json(bench_dir / "config.json")
    slots = data.get("slots") if isinstance(data, dict) else None
    return slots if isinstance(slots, int) and slots > 0 else default_slots()


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)  # readers see the old or the new file, never half of one


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _try_lock(fh: IO[Any], shared: bool = False) -> bool:
    return locking.lock(fh, shared=shared, blocking=False)


def _next_seq(bench_dir: Path) -> int:
    with open(bench_dir / "seq", "a+", encoding="ascii") as fh:
        locking.lock(fh)
        fh.seek(0)
        text = fh.read().strip()
        seq = int(text) + 1 if text.isdigit() else 1
        fh.seek(0)
        fh.truncate()
        fh.write(str(seq))
        fh.flush()
        return seq


def _held(path: Path) -> bool:
    """Is this lock file held by a live process? (probe with a shared lock)"""
    try:
        with open(path, "rb") as fh:
            if _try_lock(fh, shared=True):
                locking.unlock(fh)
                return False
            return True
    except FileNotFoundError:
        return False


def _seq_of(path: Path) -> int | None:
    try:
        return int(path.name.split("-")[1])
    except (IndexError, ValueError):
        return None


def _count_ahead(tickets: Path, seq: int) -> int:
    """Live tickets before ``seq``; dead ones among them are removed on the way.

    Only tickets ahead are probed: with 30 waiters that halves the locks tried,
    and a waiter's place depends on nothing behind it.
    """
    ahead = 0
    for path in tickets.glob("T-*"):
        other = _seq_of(path)
        if other is None or other >= seq:
            continue
        if _held(path):
            ahead += 1
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return ahead


def _mtime(folder: Path) -> int:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return 0


def _slot_paths(bench_dir: Path, slots: int) -> list[Path]:
    return [bench_dir / f"slot-{i}.lock" for i in range(slots)]


def _running_started(bench_dir: Path, slots: int) -> list[float]:
    """Start times (wall clock) of the runs holding slots now."""
    started: list[float] = []
    for path in _slot_paths(bench_dir, slots):
        if _held(path):
            try:
                info = json.loads(path.read_text(encoding="utf-8") or "{}")
                started.append(float(info.get("started", time.time())))
            except (OSError, ValueError):
                started.append(time.time())
    return started


def _typical_duration(bench_dir: Path) -> float | None:
    data = _read_json(bench_dir / "history.json")
    if not isinstance(data, list):
        return None
    values = sorted(float(x) for x in data if isinstance(x, int | float) and x >= 0)
    if not values:
        return None
    return values[len(values) // 2]  # median: one stuck run should not skew it


def estimate_wait(bench_dir: Path, ahead: int, slots: int) -> float | None:
    """Seconds until a waiter with ``ahead`` live tickets before it gets a slot.

    Simulates the queue: each slot frees when its run reaches the typical duration,
    each waiter ahead takes the earliest free slot.
    """
    typical = _typical_duration(bench_dir)
    if typical is None:
        return None
    now = time.time()
    free_at = [max(0.0, typical - (now - s)) for s in _running_started(bench_dir, slots)]
    free_at += [0.0] * max(0, slots - len(free_at))
    heapq.heapify(free_at)
    for _ in range(ahead):
        heapq.heappush(free_at, heapq.heappop(free_at) + typical)
    return round(free_at[0], 1)


def _record_duration(bench_dir: Path, seconds: float) -> None:
    with open(bench_dir / "history.lock", "a") as lock:
        locking.lock(lock)
        data = _read_json(bench_dir / "history.json")
        history = data if isinstance(data, list) else []
        history = [*history, round(seconds, 3)][-HISTORY:]
        _write_json(bench_dir / "history.json", history)


@contextlib.contextmanager
def acquire(
    bench_dir: Path,
    *,
    slots: int | None = None,
    on_wait: Callable[[int, float | None], None] | None = None,
    cancel: threading.Event | None = None,
    label: str = "",
) -> Iterator[int]:
    """Wait for a measured-run slot, first come first served; yields the slot number.

    ``on_wait(position, estimated_wait_s)`` is called while waiting (position 1 =
    next in line) whenever the position changes, and about once a second near
    the front (every 4 s further back).
    Setting ``cancel`` leaves the queue and raises :class:`QueueCancelled`.
    """
    bench_dir = Path(bench_dir)
    tickets = bench_dir / "tickets"
    tickets.mkdir(parents=True, exist_ok=True)
    n_slots = slots if slots and slots > 0 else configured_slots(bench_dir)

    # The ticket is created under a temporary name, locked, then renamed: others
    # never see an unlocked live ticket (which they would take for a dead one).
    seq = _next_seq(bench_dir)
    name = f"T-{seq:012d}-{os.getpid()}-{threading.get_ident()}"
    tmp = tickets / f".{name}"
    ticket_fh = open(tmp, "w", encoding="utf-8")  # noqa: SIM115 - held across the wait
    slot_fh: IO[Any] | None = None
    slot = -1
    try:
        locking.lock(ticket_fh)
        ticket_fh.write(json.dumps({"pid": os.getpid(), "label": label, "queued": time.time()}))
        ticket_fh.flush()
        ticket = tickets / name
        os.rename(tmp, ticket)
        last_report: tuple[int, float] | None = None
        # The waiters' cost lands on the run being measured, so only the head
        # of the line polls fast, and only the slots; see _PACE_* for the
        # others. Once at the head a waiter stays there: later tickets always
        # get higher numbers, so it never counts the tickets again.
        ahead = -1
        seen_mtime = -1
        scanned_at = -math.inf
        while True:
            if cancel is not None and cancel.is_set():
                raise QueueCancelled("left the bench queue")
            wake, rescan, report = _PACE_NEXT if ahead <= 1 else _PACE_BACK
            if ahead != 0:
                now = time.monotonic()
                mtime = _mtime(tickets)
                if mtime != seen_mtime or now - scanned_at >= rescan:
                    seen_mtime, scanned_at = mtime, now
                    ahead = _count_ahead(tickets, seq)
                    if time.time_ns() - mtime < _MTIME_GRAIN_NS:
                        # mtimes are coarse (a clock tick): a change just after
                        # this scan could leave the same mtime, so look again.
                        scanned_at = -math.inf
            if ahead == 0:
                for i, path in enumerate(_slot_paths(bench_dir, n_slots)):
                    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held during the run
                    if _try_lock(fh):
                        slot_fh, slot = fh, i
                        break
                    fh.close()
                if slot_fh is not None:
                    break
            if on_wait is not None:
                now = time.monotonic()
                if (
                    last_report is None
                    or last_report[0] != ahead + 1
                    or now - last_report[1] >= report
                ):
                    last_report = (ahead + 1, now)
                    on_wait(ahead + 1, estimate_wait(bench_dir, ahead, n_slots))
            pause = POLL_S if ahead == 0 else wake
            if cancel is not None:
                cancel.wait(pause)
            else:
                time.sleep(pause)
        # Holding the slot: leave the queue so the next waiter becomes head.
        with contextlib.suppress(FileNotFoundError):
            ticket.unlink()
        slot_fh.seek(0)
        slot_fh.truncate()
        slot_fh.write(json.dumps({"pid": os.getpid(), "label": label, "started": time.time()}))
        slot_fh.flush()
    except BaseException:
        for path in (tmp, tickets / name):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        ticket_fh.close()
        if slot_fh is not None:
            slot_fh.close()
        raise
    ticket_fh.close()
    started = time.monotonic()
    try:
        yield slot
    finally:
        _record_duration(bench_dir, time.monotonic() - started)
        slot_fh.close()  # closing releases the flock


def queue_status(bench_dir: Path) -> dict[str, int]:
    """``{"running": R, "waiting": W, "slots": S}`` for the instructor's board."""
    bench_dir = Path(bench_dir)
    slots = configured_slots(bench_dir)
    tickets = bench_dir / "tickets"
    waiting = 0
    if tickets.is_dir():
        waiting = sum(1 for p in tickets.glob("T-*") if _held(p))
    running = sum(1 for p in bench_dir.glob("slot-*.lock") if _held(p))
    return {"running": running, "waiting": waiting, "slots": slots}
