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


def freeze_startup_objects() -> None:
    """Move everything alive now out of the collector's reach (call once, after the first frame)."""
    gc.freeze()


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
