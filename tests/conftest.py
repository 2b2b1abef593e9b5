"""Fixtures shared by every test tier.

Tests never read or write the developer's own progress: the data directory and
the profile are pointed at a temporary folder for every test.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path, monkeypatch):
    data = tmp_path / "tutor-data"
    monkeypatch.setenv("TUTOR_DATA_DIR", str(data))
    monkeypatch.setenv("TUTOR_PROFILE", "tester")
    monkeypatch.delenv("TUTOR_BENCH_DIR", raising=False)
    return data
