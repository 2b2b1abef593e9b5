"""The Textual app: services (catalog, store, lab runs) and navigation between screens.

Screens own their widgets and state; the app only knows how to go from one
screen to the next and how to stop everything when the learner leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tutor.lab import platform as lab_platform
from tutor.ui.messages import (
    AnswerRecorded,
    ChallengeChosen,
    ChallengeCommitted,
    LessonChosen,
    ProgressChanged,
    QuizChosen,
    ResetRequested,
    VerdictClosed,
)
from tutor.ui.runs import RunTracker
from tutor.ui.saving import Saver
from tutor.ui.screens.base import TutorScreen
from tutor.wording import lesson_done

if TYPE_CHECKING:
    from tutor.lessons import Catalog, Lesson, QuizQuestion
    from tutor.progress import Store, TaskStates
    from tutor.ui.outcome import LabOutcome

TIME_SAVE_S = 60.0
"""How often the time spent on the open lesson is saved (a crash loses at most this)."""

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
        catalog: Catalog,
        store: Store,
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
        self.saver = Saver(lambda text: self.notify(text, title="Progress", severity="warning"))
        self.leaving = False
        from tutor.ui.memory import IdleCollector

        self.collector = IdleCollector()

    # Start and stop -----------------------------------------------------
    def get_default_screen(self) -> Screen:
        if self.quiz_only:
            from tutor.ui.screens.quiz import QuizScreen

            items = self.quiz_items(self.quiz_lesson)
            # `tutor quiz` resumes at the first question not yet answered right.
            return QuizScreen(items, start=self.quiz_start(items), quiz_only=True)
        from tutor.ui.screens.home import HomeScreen

        return HomeScreen()

    def on_mount(self) -> None:
        from tutor.ui.memory import IDLE_S, freeze_startup_objects

        self.call_after_refresh(freeze_startup_objects)
        self.collector.start()
        self.set_interval(IDLE_S, self.collector.tick)
        self.set_interval(TIME_SAVE_S, self._save_time)
        self._restore_theme()
        self._apply_done_rule_everywhere()
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
                self.saver.save(lambda: self.store.set_setting("theme", theme))
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

    # Navigation: screens post messages (tutor.ui.messages), the app moves --
    def go_home(self) -> None:
        while len(self.screen_stack) > 1 and not self._is_base(self.screen):
            self.pop_screen()

    def _is_base(self, screen: Screen) -> bool:
        return screen is self.screen_stack[0]

    def _pop_to(self, kind: type[Screen]) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, kind):
            self.pop_screen()

    @on(LessonChosen)
    def _lesson_chosen(self, message: LessonChosen) -> None:
        from tutor.ui.screens.lesson import LessonScreen

        lesson = self.catalog.get(message.lesson_id)
        if lesson is None:
            self.notify(f"No lesson called {message.lesson_id!r}.", severity="error")
            return
        if self.quiz_only:
            self._open_quiz(lesson.id)
            return
        self.go_home()
        self.push_screen(LessonScreen(lesson, message.anchor))
        # A lesson with nothing to answer is done once opened (tutor.progress.rules).
        self._apply_done_rule(lesson.id)

    @on(QuizChosen)
    def _quiz_chosen(self, message: QuizChosen) -> None:
        self._open_quiz(message.lesson_id, message.question_id)

    @on(ChallengeChosen)
    def _challenge_chosen(self, message: ChallengeChosen) -> None:
        from tutor.ui.screens.challenge import ChallengeScreen

        self.push_screen(ChallengeScreen(message.lesson, message.challenge))

    @on(ChallengeCommitted)
    def _challenge_committed(self, message: ChallengeCommitted) -> None:
        from tutor.ui.screens.lab import LabScreen

        lab = LabScreen(
            message.lesson, message.challenge, message.choice, message.predicted_speedup
        )
        self.push_screen(lab, callback=self.lab_ended)

    def lab_ended(self, outcome: LabOutcome | None) -> None:
        """The lab screen closed: record what it measured, then show the verdict if asked.

        None means nothing was measured (cancelled, or every run failed): the lab
        screen already said that nothing was recorded.
        """
        if outcome is None:
            return
        from tutor.ui.outcome import SAVED
        from tutor.ui.screens.verdict import VerdictScreen

        verdict = outcome.judge()
        saved: str | None = None
        if verdict.winner is not None:
            not_saved = self.saver.save(lambda: outcome.record(self.store, verdict), quiet=True)
            saved = SAVED if not_saved is None else not_saved
            if not_saved is None:
                self._apply_done_rule(outcome.lesson.id)
        if outcome.see_verdict:
            self.push_screen(VerdictScreen(outcome, verdict, saved=saved))
        elif saved == SAVED and verdict.winner is not None:
            from tutor.ui.format import strategy_label

            # Left with Escape: the measurement still counts, and the learner is told how.
            mark = "✓ right" if verdict.correct else "✗ not right this time"
            self.notify(
                f"Verdict saved without showing it: {mark} "
                f"({strategy_label(verdict.winner)} measured best).",
                title="Progress",
            )
        elif saved is not None:
            self.notify(f"The verdict was not saved: {saved}.", severity="warning")

    @on(VerdictClosed)
    def _verdict_closed(self, message: VerdictClosed) -> None:
        from tutor.ui.screens.challenge import ChallengeScreen
        from tutor.ui.screens.lesson import LessonScreen

        self._pop_to(ChallengeScreen if message.retry else LessonScreen)

    def quiz_items(self, lesson_id: str | None) -> list[tuple[Lesson, QuizQuestion]]:
        if lesson_id is None:
            return list(self.catalog.quiz_questions)
        lesson = self.catalog.get(lesson_id)
        return [(lesson, q) for q in lesson.quiz] if lesson is not None else []

    def quiz_start(self, items: list[tuple[Lesson, QuizQuestion]]) -> int:
        """Where a quiz resumes: the first question not yet answered right (else the first)."""
        states: dict[str, TaskStates] = {}
        for index, (lesson, question) in enumerate(items):
            if lesson.id not in states:
                states[lesson.id] = self.store.task_states(lesson.id)
            if not states[lesson.id].questions.get(question.id, False):
                return index
        return 0

    def _open_quiz(self, lesson_id: str, question_id: str | None = None) -> None:
        from tutor.ui.screens.quiz import QuizScreen

        items = self.quiz_items(lesson_id)
        if not items:
            self.notify("This lesson has no quiz questions.")
            return
        found = [i for i, (_, q) in enumerate(items) if q.id == question_id]
        start = found[0] if found else self.quiz_start(items)
        self.push_screen(QuizScreen(items, start=start, quiz_only=self.quiz_only))

    def action_progress(self) -> None:
        from tutor.ui.screens.progress import ProgressScreen

        if not isinstance(self.screen, ProgressScreen):
            self.push_screen(ProgressScreen())

    def action_help(self) -> None:
        from tutor.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    # Progress -----------------------------------------------------------
    @on(AnswerRecorded)
    def _answer_recorded(self, message: AnswerRecorded) -> None:
        self._apply_done_rule(message.lesson_id)

    def _apply_done_rule(self, lesson_id: str, *, announce: bool = True) -> None:
        """Record the lesson as done the moment the rule holds, and say so once."""
        lesson = self.catalog.get(lesson_id)
        if lesson is None:
            return
        became: list[bool] = []

        def write() -> None:
            became.append(
                self.store.complete_if_done(
                    lesson.id, [c.id for c in lesson.challenges], [q.id for q in lesson.quiz]
                )
            )

        if self.saver.save(write) is not None or not became[0]:
            return
        if announce:
            has_tasks = bool(lesson.challenges or lesson.quiz)
            self.notify(lesson_done(lesson.title, has_tasks=has_tasks), title="Progress")
        self._progress_changed(lesson.id)

    def _apply_done_rule_everywhere(self) -> None:
        # Answers given before the rule was applied at once (or by another copy
        # of the game on this profile) may already complete a started lesson.
        from tutor.progress import ProgressStoreError

        try:
            started = [
                lesson_id
                for lesson_id, p in self.store.all_progress().items()
                if p.state == "in progress"
            ]
        except ProgressStoreError:
            return  # the learner is told at the first write
        for lesson_id in started:
            self._apply_done_rule(lesson_id, announce=False)

    def _progress_changed(self, lesson_id: str | None) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, TutorScreen):
                screen.post_message(ProgressChanged(lesson_id))

    @on(ResetRequested)
    def _reset_requested(self, message: ResetRequested) -> None:
        self.confirm_reset(message.lesson_id)

    def confirm_reset(self, lesson_id: str | None) -> None:
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
            if self.saver.save(lambda: self.store.reset(lesson_id)) is not None:
                return
            self.notify("✓ Progress reset." if lesson_id is None else "✓ Lesson progress reset.")
            self._progress_changed(lesson_id)

        self.push_screen(ConfirmScreen(question, yes="Reset", no="Keep"), callback=done)
