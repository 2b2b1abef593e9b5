"""The live lab: the real workload runs in a child process; lanes, CPU and the comparison fill in."""

from __future__ import annotations

import threading
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Rule, Static
from textual.worker import Worker, WorkerState, get_current_worker

from tutor.ui.format import strategy_label
from tutor.ui.labmodel import LabModel, plan_strategies, run_request_args
from tutor.ui.messages import EventReceived, RunFinished, RunsCompleted, RunStarted
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.keybar import KeyBar
from tutor.ui.widgets.lab import CompareTable, CpuMeter, LanesView
from tutor.ui.widgets.titlebar import TitleBar

REDRAW_S = 0.1
"""10 Hz: lab events can arrive much faster; the screen redraws at a steady rate."""


class LabScreen(TutorScreen):
    """Runs the learner's choice first, then the alternatives, one after another."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel run", id="lab.cancel"),
        Binding("escape", "back", "Back", id="lab.back"),
        Binding("enter", "verdict", "Verdict", id="lab.verdict"),
        Binding("left", "view(-1)", "Previous run's lanes", id="lab.previous", show=False),
        Binding("right", "view(1)", "Next run's lanes", id="lab.next", show=False),
    ]

    def __init__(
        self,
        lesson: Any,
        challenge: Any,
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
        strategies = plan_strategies(
            [c.strategy for c in challenge.choices], choice, challenge.predict
        )
        self.model = LabModel(strategies)
        self._drawn = -1
        self._lanes_drawn = -1
        self._texts: dict[str, Content | str] = {}
        self._stop = threading.Event()
        self._current_run: Any = None

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
        """One run after another in this thread; only messages go to the screen."""
        from tutor.lab.client import LabRun, RunRequest

        worker = get_current_worker()
        tracker = self.tutor.runs
        request_kw, params = run_request_args(self.challenge.params)
        order = self.model.order
        cancelled = False
        for index, strategy in enumerate(order):
            if worker.is_cancelled or self._stop.is_set():
                cancelled = True
                break
            try:
                run = LabRun(
                    RunRequest(
                        self.challenge.scenario,
                        strategy,
                        quick=self.tutor.quick,
                        params=dict(params),
                        **request_kw,
                    )
                )
            except ValueError as exc:
                self.post_message(RunFinished(strategy, None, str(exc)))
                continue
            if not tracker.add(run):
                cancelled = True
                break
            self._current_run = run
            error: str | None = None
            try:
                self.post_message(RunStarted(strategy, index, len(order)))
                run.start()
                tracker.started(run)
                if self._stop.is_set():
                    run.cancel()
                tracked = run.pid is not None
                for event in run.events():
                    if not tracked and run.pid is not None:
                        # Served: the runner started only after its bench slot.
                        tracker.started(run)
                        tracked = True
                    self.post_message(EventReceived(strategy, event))
            except Exception as exc:  # a broken run must not take the app down
                error = f"{type(exc).__name__}: {exc}"
                run.cancel()
            finally:
                tracker.discard(run)
                self._current_run = None
            self.post_message(RunFinished(strategy, run.result, error))
        self.post_message(RunsCompleted(cancelled or self._stop.is_set()))

    # Messages from the worker -------------------------------------------
    @on(RunStarted)
    def _run_started(self, message: RunStarted) -> None:
        self.model.start(message.strategy)

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
        self.model.done()
        self._redraw()
        self.refresh_bindings()

    # Drawing ------------------------------------------------------------
    def _set(self, selector: str, content: Content | str) -> None:
        """Update a fixed-height line only when its text changed, without a relayout."""
        widget = self.query_one(selector, Static)
        if self._texts.get(selector) != content:
            self._texts[selector] = content
            widget.update(content, layout=False)

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
            self._set(
                "#lab-title",
                Content.assemble(
                    (f"▶ Run {index} of {total}: ", "bold"),
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
                self._set(
                    "#lab-title",
                    Content.styled(f"✓ All {total} runs done on this machine.", "bold $success"),
                )
                self._set(
                    "#lab-status",
                    Content.assemble(("Enter", "bold reverse"), ": see the verdict   Escape: back"),
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
        self.app.pop_screen()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_view(self, step: int) -> None:
        self.model.view(step)
        # A key press redraws at once; only lab events wait for the 10 Hz tick.
        self._redraw()

    def cancel_runs(self) -> None:
        self._stop.set()
        run = self._current_run
        if run is not None:
            run.cancel()
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
        self.tutor.show_verdict(self)
