"""kill -9 while writing, and several processes writing at once (real processes)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tutor.progress import board_rows, open_store

# A learner's app: records an attempt and some time, then says "saved" (the
# printed line) exactly when the call has returned.
WRITER = r"""
import sys
from tutor.progress import open_store

data_dir, profile, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
store = open_store(data_dir, profile)
print("ready", flush=True)
if sys.argv[5] == "wait":
    sys.stdin.readline()  # start together with the other writers
for i in range(first, first + count):
    if i % 3 == 0:
        store.record_quiz("kill", f"q{i}", chosen=[i % 4], correct=True, hint_used=False)
    else:
        store.record_challenge(
            "kill", f"c{i}", choice="threads", predicted_speedup=1.5, measured_speedup=1.2,
            winner="processes", correct=False, result={"i": i, "pad": "x" * 3000},
        )
    store.add_time("kill", 1.0)
    print(i, flush=True)
store.close()
"""


def _start(data_dir, profile="tester", first=0, count=10**9, wait=False):
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            WRITER,
            str(data_dir),
            profile,
            str(first),
            str(count),
            "wait" if wait else "go",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _integrity(path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def test_every_acknowledged_attempt_survives_kill_9(data_dir):
    rng = random.Random(7)
    acknowledged: set[int] = set()
    first = 0
    for _round in range(4):
        proc = _start(data_dir, first=first)
        assert proc.stdout.readline() == "ready\n", proc.stderr.read()
        target = rng.randint(20, 150)
        for _ in range(target):
            line = proc.stdout.readline()
            assert line.endswith("\n"), proc.stderr.read()
            acknowledged.add(int(line))
        # Killed at an arbitrary point, most likely inside a transaction.
        os.kill(proc.pid, signal.SIGKILL)
        out, _err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        # Lines already printed (still in the pipe) were acknowledged too;
        # a partial last line was not.
        for line in out.splitlines(keepends=True):
            if line.endswith("\n"):
                acknowledged.add(int(line))
        first = max(acknowledged) + 2  # the next round starts after any in-flight write

    path = data_dir / "progress.sqlite3"
    assert _integrity(path) == "ok"
    with open_store(data_dir, "tester") as s:
        assert s.recovered_from is None
        quiz = {int(a["question_id"][1:]) for a in s.quiz_attempts("kill")}
        challenges = {int(a["challenge_id"][1:]) for a in s.challenge_attempts("kill")}
        saved = quiz | challenges
        missing = acknowledged - saved
        assert not missing, f"acknowledged but lost: {sorted(missing)[:10]}"
        # At most one unacknowledged write per round may have committed.
        assert len(saved - acknowledged) <= 4
        seconds = s.lesson_progress("kill").seconds
        assert len(acknowledged) <= seconds <= len(acknowledged) + 4
        assert _integrity(path) == "ok"


def test_two_processes_on_one_profile_lose_nothing(data_dir):
    # The file does not exist yet: creating it at the same time is part of the test.
    procs = [_start(data_dir, first=n * 1000, count=200, wait=True) for n in range(2)]
    for p in procs:
        assert p.stdout.readline() == "ready\n", p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert err == ""
        assert len(out.split()) == 200

    assert _integrity(data_dir / "progress.sqlite3") == "ok"
    with open_store(data_dir, "tester") as s:
        attempts = s.challenge_attempts("kill") + s.quiz_attempts("kill")
        assert len(attempts) == 400
        # The time counter is shared: lost updates would show here.
        assert s.lesson_progress("kill").seconds == 400


def test_board_reads_while_learners_write(data_dir):
    with open_store(data_dir, "bob") as s:
        s.set_position("gil")
    writers = [_start(data_dir, profile=name, count=150) for name in ("amy", "tester")]
    for p in writers:
        assert p.stdout.readline() == "ready\n", p.stderr.read()
    seen: dict[str, int] = {}
    polls = 0
    deadline = time.monotonic() + 120
    while any(p.poll() is None for p in writers) and time.monotonic() < deadline:
        for row in board_rows(data_dir):
            total = row["challenges_answered"] + row["quiz_answered"]
            assert total >= seen.get(row["profile"], 0)  # a consistent, growing view
            seen[row["profile"]] = total
        polls += 1
    for p in writers:
        _out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    assert polls > 1
    rows = {r["profile"]: r for r in board_rows(data_dir)}
    assert sorted(rows) == ["amy", "bob", "tester"]
    for name in ("amy", "tester"):
        assert rows[name]["challenges_answered"] + rows[name]["quiz_answered"] == 150
        assert rows[name]["seconds"] == 150
        assert rows[name]["prediction_error"] == pytest.approx(0.3 / 1.2)
    assert rows["bob"]["lesson"] == "gil"
    assert rows["bob"]["challenges_answered"] == 0


def test_kill_9_while_creating_the_database_never_looks_corrupt(tmp_path):
    rng = random.Random(3)
    for n in range(6):
        folder = tmp_path / f"d{n}"
        proc = _start(folder)
        # Anywhere from "still importing" to "creating the file" to "writing".
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        with open_store(folder, "tester") as s:
            assert s.recovered_from is None, s.recovered_reason
            s.add_time("gil", 1)
        assert _integrity(folder / "progress.sqlite3") == "ok"
