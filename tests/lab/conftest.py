"""The lab's platform modes.

``TUTOR_PLATFORM=portable python -m pytest tests/lab`` runs the whole lab suite
on the fallbacks macOS and Windows depend on (see tutor/lab/platform.py). The
``platform_mode`` fixture runs chosen tests in both modes in every ordinary run
too: "native" is whatever this session is, "portable" forces the fallbacks for
this process (the platform module decides again) and every child it starts.
"""

from __future__ import annotations

import importlib
import os

import pytest

from tutor.lab import platform

MODES = ["native", "portable"]


@pytest.fixture(params=MODES)
def platform_mode(request, monkeypatch):
    if request.param == "portable" and not platform.PORTABLE:
        monkeypatch.setenv("TUTOR_PLATFORM", "portable")
        importlib.reload(platform)
        assert platform.PORTABLE
        yield request.param
        monkeypatch.undo()
        importlib.reload(platform)
        return
    if request.param == "native" and platform.PORTABLE and os.environ.get("TUTOR_PLATFORM"):
        pytest.skip(
            "this session is portable (TUTOR_PLATFORM=portable): its portable case covers it"
        )
    yield request.param
