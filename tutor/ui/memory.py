"""Keeping Python's garbage collector out of the way of key presses.

A full collection walks every object the process holds. At start-up that is
Textual, the stylesheet and the lesson catalog: about 55,000 objects that live
as long as the app. Measured in tmux at 80x24 on this project's 2-core machine,
full collections during screen switches took 45-75 ms, enough to push a key
press past 100 ms. Freezing the start-up objects (they are then never scanned
again) brought them to 9-14 ms. See docs/benchmarks.md.
"""

from __future__ import annotations

import gc
import time


def freeze_startup_objects() -> None:
    """Move everything alive now out of the collector's reach (call once, after the first frame)."""
    gc.freeze()


FULL_COLLECTION_THRESHOLD = 1_000_000
"""Generation-2 threshold while the app runs: full collections only when we ask."""

IDLE_S = 1.0
"""A full collection waits for this long without a key press..."""

LONGEST_WITHOUT_S = 30.0
"""...but never more than this, so memory stays bounded under constant typing."""


class IdleCollector:
    """Full garbage collections at moments the learner is not waiting for the screen.

    Even with the start-up objects frozen, a full collection walks the open
    screens' widgets and the closed ones not yet freed: 23-95 ms, every second
    or two while lessons open and close, and the slow lesson openings were the
    ones a full collection landed in. So Python's own full collections are
    turned off while the app runs, and this runs them instead:

    - just after a screen closes, once the screen below is drawn again (the
      closed screen is most of the garbage, and the learner already sees the
      answer to the key);
    - after `IDLE_S` without a key, if there was a key since the last one;
    - at least every `LONGEST_WITHOUT_S`, so memory stays bounded whatever happens.

    Young collections (3-6 ms) run as usual.
    """

    def __init__(self) -> None:
        self._thresholds = gc.get_threshold()
        self.last_input = time.monotonic()
        self.last_full = time.monotonic()

    def start(self) -> None:
        young, middle, _ = self._thresholds
        gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)

    def stop(self) -> None:
        gc.set_threshold(*self._thresholds)

    def input_seen(self) -> None:
        self.last_input = time.monotonic()

    def collect(self) -> None:
        gc.collect()
        self.last_full = time.monotonic()

    def tick(self) -> None:
        now = time.monotonic()
        typed_since = self.last_input > self.last_full
        if (typed_since and now - self.last_input >= IDLE_S) or (
            now - self.last_full >= LONGEST_WITHOUT_S
        ):
            self.collect()


def thaw_startup_objects() -> None:
    """Give them back to the collector when the app ends (tests run many apps in one process)."""
    gc.unfreeze()


def release_render_caches() -> None:
    """Drop Textual's render cache that holds on to the widgets' rendered lines.

    `StylesCache.get_inner_outer` is an `lru_cache(1024)` keyed by the styles
    cache of each widget ever drawn, so closed screens' lines stay alive until
    1,024 newer ones push them out. Recomputing an entry is two Style objects.
    """
    try:
        from textual._styles_cache import StylesCache

        StylesCache.get_inner_outer.cache_clear()
    except (ImportError, AttributeError):  # another Textual: nothing to release
        pass
