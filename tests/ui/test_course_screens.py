"""The course in the game: the review page, the machine named before a prediction, the textbook
figure for the machine that measured, and the exact lint command for broken lessons."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from tests.ui.test_snapshots import SIZE, fixed_result
from tutor.lessons import load_catalog

REVIEW_LESSONS = Path(__file__).parent / "review_lessons"

TWO_CORES = {
    "cores": 2,
    "python": "3.12.1",
    "free_threaded_build": False,
    "gil_enabled": True,
    "default_start_method": "fork",
}
EIGHT_CORES_FT = {
    "cores": 8,
    "python": "3.14.0",
    "free_threaded_build": True,
    "gil_enabled": False,
    "default_start_method": "forkserver",
}


@pytest.fixture
def review_app(store):
    from tutor.ui.app import TutorApp

    catalog = load_catalog([REVIEW_LESSONS], builtin=False)
    assert not catalog.errors and not catalog.warnings, [
        str(e) for e in catalog.errors + catalog.warnings
    ]
    return TutorApp(catalog, store, quick=True, served=False)


def test_review_screen(snap_compare, review_app):
    async def run_before(pilot) -> None:
        await pilot.press("w")
        await pilot.pause()

    assert snap_compare(review_app, terminal_size=SIZE, run_before=run_before)


async def test_the_review_lists_every_lesson_and_goes_back_to_the_map(review_app):
    from tutor.ui.screens.home import HomeScreen
    from tutor.ui.screens.review import ReviewScreen, review_markdown

    async with review_app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(review_app.screen, ReviewScreen)
        text = review_markdown(review_app.catalog.lessons)
        assert text.index("### 1. Kitchen") < text.index("### 2. Locks")
        assert "- A waiting cook needs no core." in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(review_app.screen, HomeScreen)


@pytest.mark.parametrize(
    ("facts", "line"),
    [
        (TWO_CORES, "Your machine: 2 cores, Python 3.12.1, start method fork"),
        (
            EIGHT_CORES_FT,
            "Your machine: 8 cores, Python 3.14.0 free-threaded, GIL off, start method forkserver",
        ),
    ],
)
async def test_the_challenge_names_this_machine_before_the_prediction(
    make_app, monkeypatch, facts, line
):
    from tutor.lab import facts as lab_facts
    from tutor.ui.screens.challenge import ChallengeScreen

    monkeypatch.setattr(lab_facts, "machine_facts", lambda: dict(facts))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        lesson = app.catalog.get("test-crunch")
        await app.push_screen(ChallengeScreen(lesson, lesson.challenges[0]))
        await pilot.pause()
        shown = str(app.screen.query_one("#scenario", Static).render())
        assert line in shown
        # Before the prediction: the machine line comes above the question.
        assert (
            app.screen.query_one("#scenario").region.y < app.screen.query_one("#question").region.y
        )


def test_a_challenge_that_fixes_its_start_method_says_that_one():
    from types import SimpleNamespace

    from tutor.ui.screens.challenge import machine_line

    challenge = SimpleNamespace(params={"start_method": "spawn"})
    assert machine_line(TWO_CORES, challenge).endswith("start method spawn")
    assert machine_line(dict(TWO_CORES, cores=1), challenge).startswith("Your machine: 1 core,")


def _results(cores: int) -> dict:
    return {
        s: dict(fixed_result(s, t, 99.0), cores=cores, tasks=2, workers=2)
        for s, t in (("processes", 1.05), ("threads", 2.02), ("sequential", 2.0))
    }


@pytest.mark.parametrize(
    ("cores", "figures"), [(2, "processes about 1.9x"), (8, "processes about 1.9x")]
)
async def test_the_verdict_gives_the_textbook_for_the_machine_that_measured(
    make_app, cores, figures
):
    from tutor.ui.outcome import LabOutcome
    from tutor.ui.screens.verdict import VerdictScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        lesson = app.catalog.get("test-crunch")
        challenge = lesson.challenges[0]
        order = ["processes", "threads", "sequential"]
        await app.push_screen(
            VerdictScreen(LabOutcome(lesson, challenge, "processes", None, _results(cores), order))
        )
        await pilot.pause()
        text = str(app.screen.query_one("#verdict-textbook", Static).render())
        assert text.startswith(f"Textbook for {cores} cores: ") and figures in text


async def test_the_verdict_textbook_scales_with_the_cores(store):
    """A formula (the review lesson's `0.95 * min(tasks, workers, cores)`) on 2 and on 8 cores."""
    from tutor.ui.app import TutorApp
    from tutor.ui.outcome import LabOutcome
    from tutor.ui.screens.verdict import VerdictScreen

    catalog = load_catalog([REVIEW_LESSONS], builtin=False)
    app = TutorApp(catalog, store, quick=True, served=False)
    lesson = catalog.get("review-kitchen")
    challenge = lesson.challenges[0]
    shown = {}
    async with app.run_test(size=SIZE) as pilot:
        for cores in (2, 8):
            results = {
                s: dict(
                    fixed_result(s, t, 99.0), scenario="crunch", cores=cores, tasks=4, workers=4
                )
                for s, t in (("processes", 1.05), ("threads", 2.02), ("sequential", 2.0))
            }
            await app.push_screen(
                VerdictScreen(
                    LabOutcome(lesson, challenge, "processes", None, results, list(results))
                )
            )
            await pilot.pause()
            shown[cores] = str(app.screen.query_one("#verdict-textbook", Static).render())
            await app.pop_screen()
    assert "processes about 1.9x" in shown[2] and "processes about 3.8x" in shown[8]
    assert "threads about 1.0x" in shown[2] and "threads about 1.0x" in shown[8]


async def test_the_map_gives_the_exact_lint_command_for_broken_lessons(store, tmp_path):
    from tutor.ui.app import TutorApp

    broken = tmp_path / "my lessons"
    broken.mkdir()
    (broken / "01-broken.md").write_text("---\nid: broken\n---\n", encoding="utf-8")
    catalog = load_catalog([REVIEW_LESSONS, broken], builtin=False)
    for served, expected in (
        (False, f"run tutor lint --lessons {REVIEW_LESSONS} --lessons '{broken}' --only-lessons"),
        (True, "the host can list them"),
    ):
        app = TutorApp(catalog, store, quick=True, served=served)
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            details = str(app.screen.query_one("#lesson-details", Static).render())
            assert "problems in lesson files: " + expected in details.replace("\n", " ")
            assert served is False or str(broken) not in details


async def test_the_review_opens_at_the_lesson_highlighted_on_the_map(store):
    from textual.containers import VerticalScroll

    from tutor.ui.app import TutorApp
    from tutor.ui.screens.review import ReviewScreen

    catalog = load_catalog()
    target = catalog.lessons[6]
    app = TutorApp(catalog, store, quick=True, served=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*["down"] * 6, "w")
        for _ in range(20):  # the Markdown parses in the background: wait for the scroll
            await pilot.pause(0.05)
            if app.screen.query_one("#review", VerticalScroll).scroll_y > 0:
                break
        assert isinstance(app.screen, ReviewScreen) and app.screen.start is target
        page = app.screen.query_one("#review", VerticalScroll)
        heading = next(
            w
            for w in app.screen.query("#review-text MarkdownH3")
            if f"{target.order}. {target.title}" in str(w.render())
        )
        assert page.scroll_y > 0
        assert (
            page.region.y <= heading.region.y <= page.region.y + 2
        )  # at the top (the heading's margin above)
