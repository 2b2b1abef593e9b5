"""Fixtures for the serve tests: real SSH servers in their own processes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# --import-mode=importlib puts no test folder on sys.path; the helpers live next to us.
sys.path.insert(0, str(Path(__file__).parent))

from serve_helpers import RunningServer, ServerPool  # noqa: E402


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """``server_factory(**ServeConfig fields)`` -> a started server on an ephemeral port."""
    pool = ServerPool(tmp_path)
    yield pool.start
    pool.close()
