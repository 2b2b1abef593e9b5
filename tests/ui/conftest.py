"""Fixtures for the UI tests: a fixed lesson catalog, a fresh store, no blinking cursor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tutor.lessons import load_catalog
from tutor.progress import open_store

LESSONS = Path(__file__).parent / "lessons"


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch):
    # A blinking cursor makes snapshots depend on timing.
    from textual.widgets import Input

    monkeypatch.setattr(Input, "cursor_blink", False)


@pytest.fixture
def catalog():
    catalog = load_catalog(extra_dirs=[LESSONS], builtin=False)
    assert not catalog.errors, [str(e) for e in catalog.errors]
    return catalog


@pytest.fixture
def store(isolated_data_dir) -> Iterator:
    store = open_store(isolated_data_dir, "tester")
    yield store
    store.close()


@pytest.fixture
def make_app(catalog, store):
    from tutor.ui.app import TutorApp

    def make(**kwargs):
        kwargs.setdefault("quick", True)
        kwargs.setdefault("served", False)
        return TutorApp(catalog, store, **kwargs)

    return make
