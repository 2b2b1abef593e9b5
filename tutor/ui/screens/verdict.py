"""The verdict: prediction against measurement, decided by what this machine measured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tutor.progress.rules import prediction_error
from tutor.ui.format import bar, measured, speedup, strategy_label
from tutor.ui.messages import VerdictClosed
from tutor.ui.outcome import SAVED
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.keybar import KeyBar
from tutor.ui.widgets.lessontext import LessonText
from tutor.ui.widgets.titlebar import TitleBar
from tutor.wording import percent_off

if TYPE_CHECKING:
    from tutor.lab.events import Results
    from tutor.lab.verdict import Verdict
    from tutor.ui.outcome import LabOutcome


def comparison_table(
    results: Results,
    order: list[str],
    chosen: str,
    verdict: Verdict,
    measure: str,
    width: int,
) -> Content:
    """A small table with bars: one row per strategy, your pick marked, the winner marked."""
    values = {s: results[s].get(measure) for s in order if s in results}
    longest = max((v for v in values.values() if v), default=1.0) or 1.0
    speedups = verdict.speedups or {}
    # "x faster than one at a time" only means something for times with a baseline.
    with_speedup = measure == "wall_s" and any(speedups.get(s) for s in order)
    # Every row fits the width (a wrapped row put its bar on a line of its own at
    # 60 columns): the speedup heading shortens, then the names, then the bar.
    speed_w = (16 if width >= 70 else 9) if with_speedup else 0
    fixed = 2 + 10 + 2 + (speed_w + 2 if with_speedup else 0)
    name_w = max(min(24, width - fixed - 8), 12)
    track = max(width - fixed - name_w, 4)
    head = f"  {'strategy':<{name_w}}{'measured':>10}  " + (
        f"{'vs one at a time' if speed_w == 16 else 'speedup':>{speed_w}}  " if with_speedup else ""
    )
    rows = [Content.styled(head, "bold")]
    tied = verdict.tied
    for strategy in order:
        if strategy not in results:
            rows.append(Content(f"  {strategy_label(strategy):<{name_w}}{'failed':>10}"))
            continue
        value = values.get(strategy)
        # A deadlocked run never finished: it has no figure, and says so.
        shown = "deadlocked" if results[strategy].get("deadlock") else measured(measure, value)
        marks = []
        if strategy == verdict.winner and verdict.settled:
            marks.append("★")
        elif strategy in tied:
            marks.append("≈")
        if strategy == chosen:
            marks.append("you")
        label = f"{strategy_label(strategy)}{' (' + ', '.join(marks) + ')' if marks else ''}"
        if len(label) > name_w - 1:
            label = label[: name_w - 2] + "…"
        style = "bold" if strategy == verdict.winner else ""
        rows.append(
            Content.assemble(
                ("▶ " if strategy == chosen else "  ", "bold $accent"),
                (f"{label:<{name_w}}", style),
                f"{shown:>10}  ",
                f"{_speedup_text(strategy, verdict, short=speed_w < 16):>{speed_w}}  "
                if with_speedup
                else "",
                (
                    bar((value or 0.0) / longest, track),
                    "$accent" if strategy == verdict.winner else "$secondary",
                ),
            )
        )
    return Content("\n").join(rows)


def _speedup_text(strategy: str, verdict: Verdict, *, short: bool = False) -> str:
    """A speedup as measured; one the machine cannot give is marked, never shown as plain fact."""
    text = speedup((verdict.speedups or {}).get(strategy))
    limit = verdict.limits.get(strategy)
    if strategy in verdict.implausible:
        if short:
            return f"⚠ {text}"
        return f"⚠ {text} (max {limit:g}x)" if limit else f"⚠ {text}"
    return text


class VerdictScreen(TutorScreen):
    """Never advances on its own: Enter goes back to the lesson when the learner is ready."""

    BINDINGS = [
        Binding("enter,escape", "back", "Back to lesson", id="verdict.back"),
        Binding("r", "retry", "Try again", id="verdict.retry"),
        Binding("j", "scroll('down')", "Scroll down", show=False, id="verdict.down"),
        Binding("k", "scroll('up')", "Scroll up", show=False, id="verdict.up"),
    ]

    def __init__(
        self, outcome: LabOutcome, verdict: Verdict | None = None, *, saved: str | None = None
    ) -> None:
        """``saved``: SAVED, the reason it was not saved, or None when nothing was recorded."""
        super().__init__()
        self.outcome = outcome
        self.lesson = outcome.lesson
        self.challenge = outcome.challenge
        self.choice = outcome.choice
        self.predicted_speedup = outcome.predicted_speedup
        self.results = outcome.results
        self.order = outcome.order
        self.saved = saved
        self.verdict = verdict if verdict is not None else outcome.judge()

    def compose(self) -> ComposeResult:
        v = self.verdict
        challenge = self.challenge
        yield TitleBar()
        with VerticalScroll(id="verdict"):
            yield Static(self._headline(), id="verdict-headline")
            # Right under the headline: the learner should not have to scroll to know it is saved.
            yield Static(id="verdict-saved")
            if v.noise:
                # One sentence that says which holds, the verdict or the noise.
                mark = ("⚠ ", "bold $warning") if v.noisy else ("≈ ", "bold")
                yield Static(Content.assemble(mark, v.noise), id="verdict-noise")
            yield Static(id="verdict-table")
            if self.predicted_speedup is not None:
                measured = (v.speedups or {}).get(self.choice)
                line = Content.assemble(
                    ("Your prediction: ", "bold"),
                    f"{speedup(self.predicted_speedup)} faster than one at a time · ",
                    ("measured: ", "bold"),
                    f"{speedup(measured)}",
                )
                low_high = v.intervals.get(self.choice)
                if low_high is not None and measured is not None:
                    line = Content.assemble(line, f" ({low_high[0]:.2f}x–{low_high[1]:.2f}x)")
                if self.choice in v.implausible:
                    # A figure the machine cannot give is no yardstick for a prediction.
                    line = Content.assemble(
                        line, " · beyond what this machine can give: not scored"
                    )
                elif v.prediction_within:
                    line = Content.assemble(line, " · inside what was measured")
                elif (error := prediction_error(self.predicted_speedup, measured)) is not None:
                    # The formula and rounding the progress screen averages: the same figure.
                    line = Content.assemble(line, f" · {percent_off(error)}")
                yield Static(line, id="verdict-prediction")
            textbook = self._textbook()
            if textbook is not None:
                yield Static(textbook, id="verdict-textbook")
            winner = v.winner
            explain = (challenge.explain or {}).get(winner) if winner else None
            if winner and explain:
                yield Static(
                    Content.styled(
                        f"Why {strategy_label(winner)} won"
                        if v.settled
                        else f"Why {strategy_label(winner)} did as well as it did",
                        "bold",
                    ),
                    classes="verdict-heading",
                )
                yield LessonText(explain, id="verdict-explain")
            if v.reasons:
                yield Static(
                    Content.styled("What this machine says", "bold"), classes="verdict-heading"
                )
                yield Static("\n".join(f"• {reason}" for reason in v.reasons), id="verdict-reasons")
            if v.disagrees_with_textbook:
                expected = challenge.expect.winner if challenge.expect is not None else None
                text = challenge.differs or (
                    f"The textbook expects {strategy_label(expected)} to win; this machine measured otherwise."
                    if expected
                    else "This machine measured something the textbook does not expect."
                )
                yield Static(
                    Content.assemble(
                        ("⚠ This machine disagrees with the textbook. ", "bold $warning"), text
                    ),
                    id="verdict-differs",
                )
            failed = [
                f"✗ {strategy_label(s)} did not finish" for s in self.order if s not in self.results
            ]
            if failed:
                yield Static("\n".join(failed), id="verdict-failed")
        yield KeyBar()

    def _textbook(self) -> Content | None:
        """The lesson's expected speedups, worked out for the machine that measured."""
        from tutor.lessons.plan import expected_speedups

        if self.challenge.measure != "wall_s":
            return None
        expected = expected_speedups(self.challenge, self.results)
        if not expected:
            return None
        cores = next((r.get("cores") for r in self.results.values() if r.get("cores")), None)
        where = f" for {cores} core{'s' if cores != 1 else ''}" if cores else ""
        figures = ", ".join(f"{strategy_label(s)} about {x:.1f}x" for s, x in expected.items())
        return Content.assemble(
            (f"Textbook{where}: ", "bold"), figures, " faster than one at a time."
        )

    def _headline(self) -> Content:
        v = self.verdict
        mine = strategy_label(self.choice)
        if v.winner is None:
            return Content.styled(
                "✗ Nothing could be measured, so there is no verdict.", "bold $error"
            )
        best = strategy_label(v.winner)
        if v.correct and v.settled:
            return Content.assemble(
                ("✓ Right. ", "bold $success"),
                f"You picked {mine}; it measured best on this machine.",
            )
        if v.correct:
            others = " and ".join(strategy_label(s) for s in sorted(v.tied - {self.choice}))
            return Content.assemble(
                ("✓ Right. ", "bold $success"),
                f"You picked {mine}; it and {others} were too close to call on this machine, "
                "so either answer counts.",
            )
        close = sorted(v.tied - {v.winner})
        tie = (
            f" (with {' and '.join(strategy_label(s) for s in close)} too close to call)"
            if close
            else ""
        )
        return Content.assemble(
            ("✗ Not this time. ", "bold $error"),
            f"You picked {mine}; ",
            (best, "bold"),
            f" measured best on this machine{tie}.",
        )

    def on_mount(self) -> None:
        self.sub_title = f"{self.lesson.title} · verdict"
        self._draw_table()
        self._show_saved()
        self.query_one("#verdict", VerticalScroll).focus()

    def on_resize(self) -> None:
        # A resize may come before the screen's widgets are there (drawn on mount then).
        if self.is_mounted and self.query("#verdict-table"):
            self._draw_table()

    def _draw_table(self) -> None:
        # The scroll area's padding and scrollbar take 4 cells of the screen width.
        width = min(max(self.size.width - 5, 40), 100)
        self.query_one("#verdict-table", Static).update(
            comparison_table(
                self.results, self.order, self.choice, self.verdict, self.challenge.measure, width
            )
        )

    def _show_saved(self) -> None:
        if self.saved is None:
            return  # nothing was recorded (a replay, or a snapshot)
        self.query_one("#verdict-saved", Static).update(
            Content.styled("✓ Saved to your progress.", "$text-muted")
            if self.saved == SAVED
            else Content.styled(f"✗ Not saved: {self.saved}.", "bold $warning")
        )

    def action_scroll(self, where: str) -> None:
        scroller = self.query_one("#verdict", VerticalScroll)
        getattr(scroller, f"scroll_{where}")(animate=False)

    def action_back(self) -> None:
        self.post_message(VerdictClosed(retry=False))

    def action_retry(self) -> None:
        self.post_message(VerdictClosed(retry=True))
