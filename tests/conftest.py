"""Fixtures shared by every test tier.

Tests never read or write the developer's own progress: the data directory and
the profile are pointed at a temporary folder for every test.
"""

from __future__ import annotations

import signal

import pytest

# Started as a background job (`cmd &` in a script, nohup), the suite inherits
# SIGINT ignored, and so would every tutor it starts: Ctrl+C would do nothing and
# the tests that press it would fail or prove nothing. A terminal's foreground job
# has the default; with a handler here, every child starts with the default again.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path, monkeypatch):
    data = tmp_path / "tutor-data"
    monkeypatch.setenv("TUTOR_DATA_DIR", str(data))
    monkeypatch.setenv("TUTOR_PROFILE", "tester")
    monkeypatch.delenv("TUTOR_BENCH_DIR", raising=False)
    return data


FREE_THREADED_ENV = "TUTOR_FREE_THREADED_PYTHON"
"""Set by .ci/run to what scripts/free-threaded-python found or built; there a missing one fails."""


@pytest.fixture(scope="session")
def free_threaded_python() -> str:
    """A free-threaded CPython (GIL off) for the cross-interpreter tests.

    $TUTOR_FREE_THREADED_PYTHON (CI), else whatever ``scripts/free-threaded-python
    --find`` finds (never a build: that takes 25 minutes). Without one the tests
    skip and say how to get one; in CI (the variable set) they fail instead.
    """
    import os
    import subprocess
    from pathlib import Path

    required = os.environ.get(FREE_THREADED_ENV)
    path = required
    if not path:
        script = Path(__file__).resolve().parents[1] / "scripts" / "free-threaded-python"
        try:
            found = subprocess.run(
                [str(script), "--find"], capture_output=True, text=True, timeout=120
            )
            path = (
                found.stdout.strip().splitlines()[-1]
                if found.returncode == 0 and found.stdout.strip()
                else ""
            )
        except OSError:  # no bash (Windows)
            path = ""
    if not path or not os.access(path, os.X_OK):
        why = "no free-threaded Python found (scripts/free-threaded-python builds one; or uv python install 3.14t)"
        if required:
            pytest.fail(f"{FREE_THREADED_ENV}={required} is not an executable Python")
        pytest.skip(why)
    return path
