"""The Textual app: services (catalog, store, lab runs) and navigation between screens.

Screens own their widgets and state; the app only knows how to go from one
screen to the next and how to stop everything when the learner leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable
from typing import Any

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tutor.lab import platform as lab_platform
from tutor.ui.runs import RunTracker
from tutor.ui.screens.base import TutorScreen

TIME_SAVE_S = 60.0
"""How often the time spent on the open lesson is saved (a crash loses at most this)."""

NOT_SAVED_TOAST_S = 60.0
"""A store that cannot write says so once a minute, not at every autosave."""

PARENT_CHECK_S = 1.0
"""How often a game served on the web checks that its server is still there."""


def watched_parent() -> int | None:
    """The server pid a served game must not outlive (`TUTOR_EXIT_WITH_PARENT`), if any."""
    value = os.environ.get("TUTOR_EXIT_WITH_PARENT", "").strip()
    return int(value) if value.isdigit() else None


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _commands() -> type:
    # Imported when the palette first opens, not at start-up.
    from tutor.ui.palette import TutorCommands

    return TutorCommands


class TutorApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "concurrency-tutor"
    COMMANDS = App.COMMANDS | {_commands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        # Learners press Ctrl+C to leave: it quits (and cancels a run) instead of Textual's hint.
        Binding("ctrl+c", "quit", "Quit", id="app.quit_ctrl_c", show=False, priority=True),
        Binding("question_mark", "help", "Keys", id="app.help"),
        Binding("ctrl+t", "change_theme", "Theme", id="app.theme", show=False),
    ]

    def __init__(
        self,
        catalog: Any,
        store: Any,
        *,
        quick: bool | None = None,
        served: bool | None = None,
        quiz_lesson: str | None = None,
        quiz_only: bool = False,
    ) -> None:
        super().__init__()
        self.catalog = catalog
        self.store = store
        self.quick = env_flag("TUTOR_QUICK") if quick is None else quick
        self.served = env_flag("TUTOR_SERVED") if served is None else served
        self.quiz_only = quiz_only
        self.quiz_lesson = quiz_lesson
        self.runs = RunTracker()
        self.calibrated_work: dict[tuple[str, str], dict[str, int]] = {}
        """(lesson id, challenge id) -> the work sizes its last comparison measured:
        a retry does the same work, so its figures can be compared with the first play's."""
        self._theme_restored = False
        self._not_saved_told: dict[str, float] = {}
        self.leaving = False
        from tutor.ui.memory import IdleCollector

        self.collector = IdleCollector()

    # Start and stop -----------------------------------------------------
    def get_default_screen(self) -> Screen:
        if self.quiz_only:
            from tutor.ui.screens.quiz import QuizScreen

            return QuizScreen(self.quiz_items(self.quiz_lesson), quiz_only=True)
        from tutor.ui.screens.home import HomeScreen

        return HomeScreen()

    def on_mount(self) -> None:
        from tutor.ui.memory import IDLE_S, freeze_startup_objects

        self.call_after_refresh(freeze_startup_objects)
        self.collector.start()
        self.set_interval(IDLE_S, self.collector.tick)
        self.set_interval(TIME_SAVE_S, self._save_time)
        self._restore_theme()
        if not self.served and not self.quiz_only:
            # Served, a whole room connects at once: each pays at its first lesson instead.
            self.call_after_refresh(self.set_timer, 0.3, self._warm_up)
        if not self.is_headless:
            self._install_signal_handlers()
        server = watched_parent()
        if server is not None:
            self.set_interval(PARENT_CHECK_S, lambda: self._check_parent(server))
        recovered = getattr(self.store, "recovered_from", None)
        if recovered:
            reason = getattr(self.store, "recovered_reason", None)
            # The file name only: a served game must not show the host's paths.
            self.notify(
                f"Your progress file could not be read{f' ({reason})' if reason else ''}. "
                f"It was moved aside to {recovered.name} and a fresh one was started.",
                title="Progress file recovered",
                severity="warning",
                timeout=20,
            )

    def _save_time(self) -> None:
        # From the app, not from a timer on each lesson screen: a closed screen's
        # timer kept the screen alive until its next tick was due (asyncio keeps a
        # cancelled sleep, with the context naming the screen, in its queue).
        for screen in self.screen_stack:
            if isinstance(screen, TutorScreen):
                screen.save_time()

    def _warm_up(self) -> None:
        from tutor.ui.warmup import warm_lesson_reader

        self.run_worker(warm_lesson_reader, thread=True, group="warm-up", exit_on_error=False)

    def _restore_theme(self) -> None:
        saved = self.store.setting("theme")
        if saved and saved in self.available_themes:
            self.theme = saved
        self._theme_restored = True

    def watch_theme(self, theme: str) -> None:
        # Saved per learner (profile), once the saved one has been put back.
        if not getattr(self, "_theme_restored", False):
            return
        from tutor.progress import ProgressStoreError

        try:
            if self.store.setting("theme") != theme:
                self.save(lambda: self.store.set_setting("theme", theme))
        except ProgressStoreError as exc:  # the read failed: nothing to save over
            self.notify(f"The theme could not be saved: {exc.reason}.", severity="warning")

    def _install_signal_handlers(self) -> None:
        # SIGTERM would end the process without stopping a lab run: stop it, then
        # leave cleanly (the terminal is still there to be restored).
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGTERM, self._terminated, signal.SIGTERM)
        # SIGHUP means the terminal (or SSH session) is gone. The kernel follows it
        # with SIGCONT, on which Textual's driver restarts its output thread against
        # the dead terminal and a normal shutdown then blocks forever. So this one
        # is a plain signal handler (it runs at once, before SIGCONT's) that stops
        # the lab runs and leaves without touching the terminal.
        # Windows has no SIGHUP (nor hang-ups of that kind).
        if lab_platform.SIGHUP is not None:
            with contextlib.suppress(ValueError):
                signal.signal(lab_platform.SIGHUP, self._hung_up)

    def _terminated(self, sig: int) -> None:
        self.leaving = True
        self.runs.cancel_all(close=True)
        self.exit(return_code=128 + sig)

    def _hung_up(self, signum: int, _frame: object) -> None:
        self._leave_now(128 + signum)

    def _check_parent(self, server: int) -> None:
        # Reparented: the server that started this game is gone, and with it
        # the learner's browser tab (textual-serve's driver never notices).
        if not lab_platform.parent_alive(server):
            self._leave_now(lab_platform.HANGUP_EXIT)

    def _leave_now(self, code: int) -> None:
        """Stop the lab runs and end at once, without touching a terminal that is gone."""
        self.runs.cancel_all(close=True)
        self.runs.wait_gone(timeout=2.0)
        # Every saved answer is already durable (the store syncs each write).
        os._exit(code)

    def on_key(self, event: events.Key) -> None:
        self.collector.input_seen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Keys typed right after q would open screens on an app already closing.
        return not self.leaving

    async def action_quit(self) -> None:
        self.leaving = True
        self.runs.cancel_all(close=True)
        self.exit()

    def on_unmount(self) -> None:
        from tutor.ui.memory import thaw_startup_objects

        self.runs.cancel_all(close=True)
        self.collector.stop()
        thaw_startup_objects()

    # Served over SSH: nothing may write files on the host -----------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if self.served and command.title == "Screenshot":
                continue
            yield command

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        if self.served:
            self.notify("Screenshots are off when the game is served.", severity="warning")
            return
        super().action_screenshot(filename, path)

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        if self.served:
            self.notify("Screenshots are off when the game is served.", severity="warning")
            return None
        return super().deliver_screenshot(filename, path, time_format)

    def open_url(self, url: str, *, new_tab: bool = True) -> None:
        # Served, "the default browser" would be the host's: show the link instead.
        if self.served:
            self.notify(url, title="Link", timeout=15)
            return
        super().open_url(url, new_tab=new_tab)

    def deliver_text(self, *args: Any, **kwargs: Any) -> str | None:
        if self.served:
            self.notify("Saving files is off when the game is served.", severity="warning")
            return None
        return super().deliver_text(*args, **kwargs)

    def deliver_binary(self, *args: Any, **kwargs: Any) -> str | None:
        if self.served:
            self.notify("Saving files is off when the game is served.", severity="warning")
            return None
        return super().deliver_binary(*args, **kwargs)

    # Navigation ---------------------------------------------------------
    def go_home(self) -> None:
        while len(self.screen_stack) > 1 and not self._is_base(self.screen):
            self.pop_screen()

    def _is_base(self, screen: Screen) -> bool:
        return screen is self.screen_stack[0]

    def open_lesson(self, lesson_id: str, anchor: str | None = None) -> None:
        from tutor.ui.screens.lesson import LessonScreen

        lesson = self.catalog.get(lesson_id)
        if lesson is None:
            self.notify(f"No lesson called {lesson_id!r}.", severity="error")
            return
        if self.quiz_only:
            self.open_quiz(lesson_id)
            return
        self.go_home()
        self.push_screen(LessonScreen(lesson, anchor))

    def open_challenge(self, lesson: Any, challenge: Any) -> None:
        from tutor.ui.screens.challenge import ChallengeScreen

        self.push_screen(ChallengeScreen(lesson, challenge))

    def start_lab(self, lesson: Any, challenge: Any, choice: str, predicted: float | None) -> None:
        from tutor.ui.screens.lab import LabScreen

        self.push_screen(LabScreen(lesson, challenge, choice, predicted))

    def show_verdict(self, lab: Any) -> None:
        from tutor.ui.screens.verdict import VerdictScreen

        self.switch_screen(
            VerdictScreen(
                lab.lesson,
                lab.challenge,
                lab.choice,
                lab.predicted_speedup,
                lab.model.results,
                lab.model.order,
            )
        )

    def back_to_lesson(self) -> None:
        from tutor.ui.screens.lesson import LessonScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, LessonScreen):
            self.pop_screen()

    def back_to_challenge(self) -> None:
        from tutor.ui.screens.challenge import ChallengeScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, ChallengeScreen):
            self.pop_screen()

    def quiz_items(self, lesson_id: str | None) -> list[tuple[Any, Any]]:
        if lesson_id is None:
            return list(self.catalog.quiz_questions)
        lesson = self.catalog.get(lesson_id)
        return [(lesson, q) for q in lesson.quiz] if lesson is not None else []

    def open_quiz(self, lesson_id: str, question_id: str | None = None) -> None:
        from tutor.ui.screens.quiz import QuizScreen

        items = self.quiz_items(lesson_id)
        if not items:
            self.notify("This lesson has no quiz questions.")
            return
        start = next((i for i, (_, q) in enumerate(items) if q.id == question_id), 0)
        self.push_screen(QuizScreen(items, start=start))

    def action_progress(self) -> None:
        from tutor.ui.screens.progress import ProgressScreen

        if not isinstance(self.screen, ProgressScreen):
            self.push_screen(ProgressScreen())

    def action_help(self) -> None:
        from tutor.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    # Progress -----------------------------------------------------------
    def save(self, write: Callable[[], object], *, quiet: bool = False) -> str | None:
        """Run one store write; None if it was saved, else the short reason it was not.

        A full disk or a locked file must not end the game: the learner keeps
        playing and is told, in words without any host path, that this was not
        kept. ``quiet`` callers show the reason where "saved" would have been;
        the others get a toast, at most one a minute for the same reason.
        """
        from tutor.progress import ProgressStoreError

        try:
            write()
        except ProgressStoreError as exc:
            reason = getattr(exc, "reason", None) or "the progress file could not be written"
            if not quiet:
                now = time.monotonic()
                last = self._not_saved_told.get(reason)
                if last is None or now - last >= NOT_SAVED_TOAST_S:
                    self._not_saved_told[reason] = now
                    self.notify(f"Not saved: {reason}.", title="Progress", severity="warning")
            return reason
        return None

    def answer_states(self, lesson_id: str) -> dict[str, bool]:
        """challenge or question id -> was the latest answer right (from the store)."""
        states: dict[str, bool] = {}
        for attempt in self.store.challenge_attempts(lesson_id):
            states[attempt["challenge_id"]] = bool(attempt["correct"])
        for attempt in self.store.quiz_attempts(lesson_id):
            states[attempt["question_id"]] = bool(attempt["correct"])
        return states

    def confirm_reset(self, lesson_id: str | None) -> None:
        from tutor.ui.messages import ProgressChanged
        from tutor.ui.screens.confirm import ConfirmScreen

        if lesson_id is None:
            question = "Forget ALL your progress: every answer, score and time, in every lesson?"
        else:
            lesson = self.catalog.get(lesson_id)
            question = f"Forget your progress in “{lesson.title if lesson else lesson_id}”?"

        def done(confirmed: bool | None) -> None:
            if not confirmed:
                self.notify("Nothing was reset.")
                return
            if self.save(lambda: self.store.reset(lesson_id)) is not None:
                return
            self.notify("✓ Progress reset." if lesson_id is None else "✓ Lesson progress reset.")
            for screen in self.screen_stack:
                if isinstance(screen, TutorScreen):
                    screen.post_message(ProgressChanged(lesson_id))

        self.push_screen(ConfirmScreen(question, yes="Reset", no="Keep"), callback=done)
