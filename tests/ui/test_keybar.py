"""The key bar: what it shows, that a click presses the key, and that switching screens leaks nothing."""

from __future__ import annotations

import gc
import time

from textual.dom import DOMNode

from tutor.ui.screens.help import HelpScreen
from tutor.ui.screens.home import HomeScreen
from tutor.ui.screens.lesson import LessonScreen
from tutor.ui.widgets.keybar import KeyBar

SIZE = (80, 24)


def descriptions(screen) -> list[str]:
    return [key.description for key in screen.query_one(KeyBar).keys]


async def test_the_bar_shows_the_keys_of_the_screen_on_top(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, HomeScreen)
        home = descriptions(app.screen)
        assert "Quit" in home and "Keys" in home
        await pilot.press("enter")
        assert isinstance(app.screen, LessonScreen)
        await pilot.pause()
        lesson = descriptions(app.screen)
        assert lesson[0] == "Map" and "Contents" in lesson
        # Hidden bindings (show=False) stay out of the bar: they are in the `?` help.
        assert "Scroll down" not in lesson
        bar = str(app.screen.query_one(KeyBar).render())
        assert "esc Map" in bar and "^p palette" in bar


async def test_a_click_on_a_key_presses_it(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        bar = app.screen.query_one(KeyBar)
        text = str(bar.render())
        column = text.index("Keys")
        await pilot.click(KeyBar, offset=(column, 0))
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


def live_nodes() -> int:
    gc.collect()
    return sum(1 for thing in gc.get_objects() if isinstance(thing, DOMNode))


async def test_switching_screens_leaves_no_widget_behind(make_app):
    """Textual's Footer kept every replaced key widget alive: the heap grew with each switch."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:

        async def round_trip() -> None:
            await pilot.press("question_mark")
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("enter")  # the lesson
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()

        await round_trip()  # first use builds caches that are meant to stay
        before = live_nodes()
        for _ in range(5):
            await round_trip()
        assert isinstance(app.screen, HomeScreen)
        # A closed screen's short timers may hold it until they are due (asyncio
        # keeps a cancelled sleep in its queue): a leak is what is still there after.
        deadline = time.monotonic() + 5
        while (alive := live_nodes()) > before and time.monotonic() < deadline:
            await pilot.pause(0.2)
        assert alive <= before
