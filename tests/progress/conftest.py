"""Fixtures for the progress store tests (real SQLite files in tmp dirs, no mocks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tutor.progress import open_store

# Its asserts report their values like a test's own.
pytest.register_assert_rewrite("tests.progress.checks")


@pytest.fixture
def data_dir(isolated_data_dir: Path) -> Path:
    """The data dir that TUTOR_DATA_DIR points at (not created yet)."""
    return isolated_data_dir


@pytest.fixture
def store(data_dir):
    with open_store(data_dir, "tester") as s:
        yield s


@pytest.fixture
def challenge():
    """record_challenge with sensible defaults, so tests only spell what they check."""

    def record(s, lesson="gil", cid="c1", **kw):
        args = {
            "choice": "processes",
            "predicted_speedup": None,
            "measured_speedup": None,
            "winner": "processes",
            "correct": True,
            "result": {"wall_s": 1.0},
        }
        args.update(kw)
        s.record_challenge(lesson, cid, **args)

    return record


@pytest.fixture
def run_tutor(data_dir):
    """Run `python -m tutor ARGS...` in a child process, as a user would."""

    def run(*args: str, input: str | None = None, env: dict | None = None, **kw):
        full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "tutor", *args],
            input=input,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=60,
            stdin=None if input is not None else subprocess.DEVNULL,
            **kw,
        )

    return run
