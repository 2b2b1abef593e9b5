"""The live lab: the real workload runs in a child process; lanes, CPU and the comparison fill in."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Rule, Static
from textual.worker import Worker, WorkerState, get_current_worker

from tutor.ui.format import strategy_label
from tutor.ui.labmodel import LabModel
from tutor.ui.messages import EventReceived, RunFinished, RunsCompleted, RunStarted
from tutor.ui.outcome import LabOutcome
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.keybar import KeyBar
from tutor.ui.widgets.lab import CompareTable, CpuMeter, LanesView
from tutor.ui.widgets.titlebar import TitleBar
from tutor.wording import count

if TYPE_CHECKING:
    from tutor.lab.client import LabRun
    from tutor.lab.compare import Comparison
    from tutor.lab.events import Event, Summary
    from tutor.lessons import Challenge, Lesson

REDRAW_S = 0.1
"""10 Hz: lab events can arrive much faster; the screen redraws at a steady rate."""


class LabScreen(TutorScreen):
    """Runs the learner's choice first, then the alternatives, one after another.

    Closes with ``dismiss(outcome)``: a :class:`LabOutcome` once something was
    measured (Enter: show the verdict; Escape: record it without showing), None
    when nothing was (cancelled, or every run failed).
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel run", id="lab.cancel"),
        Binding("escape", "back", "Back", id="lab.back"),
        Binding("enter", "verdict", "Verdict", id="lab.verdict"),
        Binding("left", "view(-1)", "Previous run's lanes", id="lab.previous", show=False),
        Binding("right", "view(1)", "Next run's lanes", id="lab.next", show=False),
    ]

    def __init__(
        self,
        lesson: Lesson,
        challenge: Challenge,
        choice: str,
        predicted_speedup: float | None,
        *,
        autostart: bool = True,
    ) -> None:
        super().__init__()
        self.lesson = lesson
        self.challenge = challenge
        self.choice = choice
        self.predicted_speedup = predicted_speedup
        self.autostart = autostart
        from tutor.lab.registry import get_scenario
        from tutor.lab.stats import estimator_for
        from tutor.lessons.plan import run_plan

        self.plan = run_plan(
            challenge,
            choice,
            quick=self.tutor.quick,
            work=self.tutor.calibrated_work.get((lesson.id, challenge.id)),
        )
        self.model = LabModel(
            self.plan.strategies,
            max_rounds=self.plan.max_rounds,
            estimator=estimator_for(get_scenario(challenge.scenario).kind),
        )
        self._drawn = -1
        self._lanes_drawn = -1
        self._texts: dict[str, Content | str] = {}
        self._stop = threading.Event()
        self._comparison: Comparison | None = None

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Vertical(id="lab"):
            yield Static(id="lab-title")
            yield LanesView(self.model, id="lanes")
            yield CpuMeter(self.model, id="cpu")
            yield Static(id="lab-note")
            yield Rule(line_style="dashed")
            yield CompareTable(self.model, self.choice, self.challenge.measure, id="compare")
            yield Static(id="lab-status")
        yield KeyBar()

    def on_mount(self) -> None:
        self.sub_title = f"{self.lesson.title} · live lab"
        self.set_interval(REDRAW_S, self._redraw)
        self._redraw()
        if self.autostart:
            self.run_all()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False
        # The footer shows "Cancel run" while running and "Verdict" once it is there.
        if action == "verdict":
            return self.model.finished and not self.model.cancelled
        if action == "cancel":
            return not self.model.finished
        if action == "back":
            return self.model.finished
        return True

    # The worker ---------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="lab")
    def run_all(self) -> None:
        """The whole comparison in this thread; only messages go to the screen."""
        from tutor.lab.compare import Comparison
        from tutor.lab.interpreters import lesson_pythons
        from tutor.lessons.plan import interpreter_tags

        worker = get_current_worker()
        tracker = self.tutor.runs
        order = self.model.order
        try:
            tags = interpreter_tags(self.challenge)
            if tags:  # threads@ft and the like: found here, off the UI thread (probing takes ~1 s)
                self.plan.pythons = lesson_pythons(tags)
            comparison = Comparison(self.plan)
        except ValueError as exc:
            for strategy in order:
                self.post_message(RunFinished(strategy, None, str(exc)))
            self.post_message(RunsCompleted(False))
            return
        self._comparison = comparison
        if worker.is_cancelled or self._stop.is_set():
            comparison.cancel()
        current: dict[str, Any] = {}

        def on_run(run: LabRun, round_index: int) -> None:
            strategy = run.variant
            current.update(run=run, strategy=strategy, tracked=False)
            if not tracker.add(run):  # the app is closing: this run must not start
                comparison.cancel()
                run.cancel()
                return
            self.post_message(RunStarted(strategy, order.index(strategy), len(order), round_index))

        def on_event(event: Event) -> None:
            run: LabRun = current["run"]
            if not current["tracked"] and run.pid is not None:
                # Known once started (when served, only after its bench slot).
                tracker.started(run)
                current["tracked"] = True
            self.post_message(EventReceived(current["strategy"], event))
            if event.get("event") == "result":
                tracker.discard(run)
                self.post_message(RunFinished(current["strategy"], event))

        summaries: list[Summary] = []
        try:
            summaries = comparison.run(on_event=on_event, on_run=on_run)
        except Exception as exc:  # a broken run must not take the app down
            comparison.cancel()
            if current:
                tracker.discard(current["run"])
                self.post_message(
                    RunFinished(current["strategy"], None, f"{type(exc).__name__}: {exc}")
                )
        cancelled = comparison.cancelled or self._stop.is_set()
        self.post_message(
            RunsCompleted(
                cancelled, [dict(s) for s in summaries], dict(comparison.work), comparison.stopped
            )
        )

    # Messages from the worker -------------------------------------------
    @on(RunStarted)
    def _run_started(self, message: RunStarted) -> None:
        self.model.start(message.strategy, message.round)

    @on(EventReceived)
    def _event_received(self, message: EventReceived) -> None:
        self.model.apply(message.strategy, message.event)

    @on(RunFinished)
    def _run_finished(self, message: RunFinished) -> None:
        self.model.finish(message.strategy, message.result, message.error)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        # The worker catches run failures itself; this is for a bug in it: never
        # leave the screen saying "running" with nothing running.
        if event.worker.group == "lab" and event.state == WorkerState.ERROR:
            self.cancel_runs()
            self.model.cancel()
            self.model.done()
            self.notify(f"The lab stopped: {event.worker.error}", severity="error")
            self._redraw()
            self.refresh_bindings()

    @on(RunsCompleted)
    def _runs_completed(self, message: RunsCompleted) -> None:
        if message.cancelled:
            self.model.cancel()
        elif message.work:
            # A retry of this challenge measures exactly the same work.
            self.tutor.calibrated_work[(self.lesson.id, self.challenge.id)] = dict(message.work)
        self.model.done(message.summaries, message.stopped)
        self._redraw()
        self.refresh_bindings()

    # Drawing ------------------------------------------------------------
    def _set(self, selector: str, content: Content | str) -> None:
        """Update a fixed-height line only when its text changed, without a relayout."""
        widget = self.query_one(selector, Static)
        if self._texts.get(selector) != content:
            self._texts[selector] = content
            widget.update(content, layout=False)

    def redraw(self) -> None:
        """Draw what the model holds now, without waiting for the 10 Hz timer."""
        self._redraw()

    def _redraw(self) -> None:
        model = self.model
        if model.version == self._drawn:
            return
        self._drawn = model.version
        # Relayout only when the number of lanes changes; otherwise a repaint is enough
        # (layout of the whole screen at 10 Hz costs the UI thread for nothing).
        shown = model.shown
        lanes = len(shown.lanes) if shown is not None else 0
        self.query_one(LanesView).refresh(layout=lanes != self._lanes_drawn)
        self._lanes_drawn = lanes
        self.query_one(CpuMeter).refresh()
        self.query_one(CompareTable).refresh()
        current = model.current
        total = len(model.order)
        scenario = self.challenge.scenario
        if current is not None:
            run = model.runs[current]
            index = model.order.index(current) + 1
            sizes = []
            if run.tasks:
                sizes.append(f"{run.tasks} tasks")
            if run.workers:
                sizes.append(f"{run.workers} worker{'s' if run.workers != 1 else ''}")
            step = (
                f"▶ Run {index} of {total}: "
                if model.round == 0
                else f"▶ Repeat {model.round + 1} of up to {model.max_rounds}, run {index} of {total}: "
            )
            self._set(
                "#lab-title",
                Content.assemble(
                    (step, "bold"),
                    (strategy_label(current), "bold $accent"),
                    f" · {scenario}" + (f" · {', '.join(sizes)}" if sizes else ""),
                ),
            )
            self._set("#lab-note", Content.styled(run.note, "$text-muted"))
        elif not model.finished:
            self._set("#lab-title", Content.assemble(("Starting the lab…", "bold"), f" {scenario}"))
        if model.finished:
            if model.cancelled:
                self._set(
                    "#lab-title", Content.styled("⊘ Cancelled: nothing was recorded.", "bold")
                )
                self._set("#lab-status", "Escape: back to the challenge")
            elif model.results:
                rounds = model.rounds_done
                why = {
                    "separated": "a clear winner",
                    "budget": "time limit",
                    "rounds": "most rounds",
                }.get(model.stopped or "", "")
                self._set(
                    "#lab-title",
                    Content.assemble(
                        (
                            f"✓ Measured on this machine: {count(rounds, 'round')} of the same work",
                            "bold $success",
                        ),
                        (f" ({why})" if why else "", "$text-muted"),
                    ),
                )
                self._set(
                    "#lab-status",
                    Content.assemble(
                        ("Enter", "bold reverse"),
                        ": see the verdict · Escape: back (saved either way)",
                    ),
                )
            else:
                self._set(
                    "#lab-title",
                    Content.styled("✗ No run finished: nothing to compare.", "bold $error"),
                )
                errors = "; ".join(f"{s}: {r.error}" for s, r in model.runs.items() if r.error)
                self._set(
                    "#lab-status", Content.assemble((errors[:300], "$error"), "\nEscape: back")
                )
        else:
            failed = [
                f"✗ {strategy_label(s)}: {r.error}"
                for s, r in model.runs.items()
                if r.state == "failed"
            ]
            self._set(
                "#lab-status",
                Content.styled("\n".join(failed)[:300], "$error") if failed else "Escape: cancel",
            )

    # Actions ------------------------------------------------------------
    def action_cancel(self) -> None:
        if not self.model.finished:
            self.cancel_runs()
            self.model.cancel()
            self.notify("Run cancelled: nothing was recorded.")
        self.dismiss(None)

    def action_back(self) -> None:
        # Finished: what was measured is recorded, shown or not (the status line says so).
        self.dismiss(self.outcome(see_verdict=False))

    def outcome(self, *, see_verdict: bool) -> LabOutcome | None:
        """What this comparison measured, for the app to judge and record; None if nothing."""
        model = self.model
        if not model.finished or model.cancelled or not model.results:
            return None
        return LabOutcome(
            self.lesson,
            self.challenge,
            self.choice,
            self.predicted_speedup,
            model.results,
            list(model.order),
            see_verdict=see_verdict,
        )

    def action_view(self, step: int) -> None:
        self.model.view(step)
        # A key press redraws at once; only lab events wait for the 10 Hz tick.
        self._redraw()

    def cancel_runs(self) -> None:
        self._stop.set()
        comparison = self._comparison
        if comparison is not None:
            comparison.cancel()
        self.workers.cancel_group(self, "lab")

    def on_unmount(self) -> None:
        # Leaving the screen in any way (quit included) stops the workload.
        if not self.model.finished:
            self.cancel_runs()

    def action_verdict(self) -> None:
        if not self.model.finished or self.model.cancelled:
            return
        if not self.model.results:
            self.notify("No run finished, so there is no verdict.", severity="warning")
            return
        self.dismiss(self.outcome(see_verdict=True))
