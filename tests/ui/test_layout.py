"""Nothing the learner needs is cut off at 80x24 (issue 14's "screens that get in the way")."""

from __future__ import annotations

import pytest

from tests.ui.test_flow import SIZE, on_every_challenge, wait_for
from tutor.ui.screens.help import HelpScreen
from tutor.ui.screens.lesson import LessonScreen, _first_paragraph
from tutor.ui.widgets.lessontext import CONTINUED, wrap_code


def test_a_quiz_card_shows_the_whole_first_sentence():
    # Source lines break mid-sentence; the card used to stop at the first one.
    question = "On a 2-core machine, 4 processes each cook one dish of\n0.2 s CPU work. How long?\n\n```python\nx = 1\n```"
    assert (
        _first_paragraph(question)
        == "On a 2-core machine, 4 processes each cook one dish of 0.2 s CPU work. How long?"
    )
    long = "word " * 60
    shortened = _first_paragraph(long)
    assert len(shortened) <= 200 and shortened.endswith(" …") and "wor …" not in shortened


def test_long_code_lines_wrap_with_a_marker_and_keep_their_indentation():
    from textual.content import Content

    code = Content("def f():\n    " + "x" * 30 + "\n    return 1")
    lines = wrap_code(code, 20).plain.splitlines()
    assert lines[0] == "def f():"
    assert lines[1] == "    " + "x" * 16
    assert lines[2].startswith("    " + CONTINUED) and all(len(line) <= 20 for line in lines)
    assert lines[-1] == "    return 1"
    assert wrap_code(code, 80).plain == code.plain  # fits: unchanged


@pytest.mark.parametrize("size", [SIZE, (80, 16)])
async def test_the_run_button_is_always_whole_on_screen(store, size):
    async def check(app, pilot, challenge) -> None:
        button = app.screen.query_one("#commit")
        # One line, inside the screen, above the key bar: never just its top border.
        assert button.region.height == 1
        assert app.screen.region.contains_region(button.region)

    await on_every_challenge(store, size, check)


async def test_the_help_fits_on_a_lesson_at_80x24(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        assert isinstance(app.screen, LessonScreen)
        await pilot.press("question_mark")
        await wait_for(
            pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen.query("#help-text")
        )
        await pilot.pause()
        scroller = app.screen.query_one("VerticalScroll")
        assert scroller.max_scroll_y == 0  # everything visible without scrolling
        text = str(app.screen.query_one("#help-text").render())
        assert "Contents" in text and "quit (a running lab run is cancelled first)" in text
