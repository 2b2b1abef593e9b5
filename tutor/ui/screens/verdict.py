"""The verdict: prediction against measurement, decided by what this machine measured."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tutor.ui.format import bar, measured, speedup, strategy_label
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.keybar import KeyBar
from tutor.ui.widgets.lessontext import LessonText
from tutor.ui.widgets.titlebar import TitleBar


def comparison_table(
    results: dict[str, dict[str, Any]],
    order: list[str],
    chosen: str,
    verdict: Any,
    measure: str,
    width: int,
) -> Content:
    """A small table with bars: one row per strategy, your pick marked, the winner marked."""
    values = {s: results[s].get(measure) for s in order if s in results}
    longest = max((v for v in values.values() if v), default=1.0) or 1.0
    speedups = verdict.speedups or {}
    # "x faster than one at a time" only means something for times with a baseline.
    with_speedup = measure == "wall_s" and any(speedups.get(s) for s in order)
    name_w = 24
    # 2 (marker) + name + 10 (value) + 2 (+ 16 speedup + 2) before the bar.
    track = max(width - name_w - (32 if with_speedup else 14), 6)
    head = f"  {'strategy':<{name_w}}{'measured':>10}  " + (
        f"{'vs one at a time':>16}  " if with_speedup else ""
    )
    rows = [Content.styled(head, "bold")]
    tied = set(getattr(verdict, "tied", set()) or set())
    for strategy in order:
        if strategy not in results:
            rows.append(Content(f"  {strategy_label(strategy):<{name_w}}{'failed':>10}"))
            continue
        value = values.get(strategy)
        # A deadlocked run never finished: it has no figure, and says so.
        shown = "deadlocked" if results[strategy].get("deadlock") else measured(measure, value)
        marks = []
        if strategy == verdict.winner and getattr(verdict, "settled", True):
            marks.append("★")
        elif strategy in tied:
            marks.append("≈")
        if strategy == chosen:
            marks.append("you")
        label = f"{strategy_label(strategy)}{' (' + ', '.join(marks) + ')' if marks else ''}"
        style = "bold" if strategy == verdict.winner else ""
        rows.append(
            Content.assemble(
                ("▶ " if strategy == chosen else "  ", "bold $accent"),
                (f"{label:<{name_w}}", style),
                f"{shown:>10}  ",
                f"{_speedup_text(strategy, verdict):>16}  " if with_speedup else "",
                (
                    bar((value or 0.0) / longest, track),
                    "$accent" if strategy == verdict.winner else "$secondary",
                ),
            )
        )
    return Content("\n").join(rows)


def _speedup_text(strategy: str, verdict: Any) -> str:
    """A speedup as measured; one the machine cannot give is marked, never shown as plain fact."""
    text = speedup((verdict.speedups or {}).get(strategy))
    limit = (getattr(verdict, "limits", None) or {}).get(strategy)
    if strategy in (getattr(verdict, "implausible", None) or ()):
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
        self,
        lesson: Any,
        challenge: Any,
        choice: str,
        predicted_speedup: float | None,
        results: dict[str, dict[str, Any]],
        order: list[str],
        *,
        record: bool = True,
    ) -> None:
        super().__init__()
        self.lesson = lesson
        self.challenge = challenge
        self.choice = choice
        self.predicted_speedup = predicted_speedup
        self.results = results
        self.order = order
        self.record = record
        from tutor.lab.verdict import judge

        expect = challenge.expect
        self.verdict = judge(
            results,
            choice,
            measure=challenge.measure,
            expected_winner=expect.winner if expect is not None else None,
            predicted_speedup=predicted_speedup,
        )

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
                    line = Content.assemble(line, " · beyond what this machine can give: not scored")
                elif v.prediction_within:
                    line = Content.assemble(line, " · inside what was measured")
                elif v.prediction_error is not None:
                    line = Content.assemble(line, f" · off by {abs(v.prediction_error) * 100:.0f}%")
                yield Static(line, id="verdict-prediction")
            explain = (challenge.explain or {}).get(v.winner) if v.winner else None
            if explain:
                yield Static(
                    Content.styled(
                        f"Why {strategy_label(v.winner)} won"
                        if v.settled
                        else f"Why {strategy_label(v.winner)} did as well as it did",
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

    def _headline(self) -> Content:
        v = self.verdict
        mine = strategy_label(self.choice)
        if v.winner is None:
            return Content.styled("✗ Nothing could be measured, so there is no verdict.", "bold $error")
        best = strategy_label(v.winner)
        if v.correct and v.settled:
            return Content.assemble(
                ("✓ Right. ", "bold $success"), f"You picked {mine}; it measured best on this machine."
            )
        if v.correct:
            others = " and ".join(strategy_label(s) for s in sorted(v.tied - {self.choice}))
            return Content.assemble(
                ("✓ Right. ", "bold $success"),
                f"You picked {mine}; it and {others} were too close to call on this machine, "
                "so either answer counts.",
            )
        close = sorted(v.tied - {v.winner})
        tie = f" (with {' and '.join(strategy_label(s) for s in close)} too close to call)" if close else ""
        return Content.assemble(
            ("✗ Not this time. ", "bold $error"),
            f"You picked {mine}; ",
            (best, "bold"),
            f" measured best on this machine{tie}.",
        )

    def on_mount(self) -> None:
        self.sub_title = f"{self.lesson.title} · verdict"
        self._draw_table()
        if self.record and self.verdict.winner is not None:
            self._save()
        self.query_one("#verdict", VerticalScroll).focus()

    def on_resize(self) -> None:
        self._draw_table()

    def _draw_table(self) -> None:
        # The scroll area's padding and scrollbar take 4 cells of the screen width.
        width = min(max(self.size.width - 5, 40), 100)
        self.query_one("#verdict-table", Static).update(
            comparison_table(
                self.results, self.order, self.choice, self.verdict, self.challenge.measure, width
            )
        )

    def _save(self) -> None:
        v = self.verdict
        not_saved = self.tutor.save(
            lambda: self.tutor.store.record_challenge(
                self.lesson.id,
                self.challenge.id,
                choice=self.choice,
                predicted_speedup=self.predicted_speedup,
                measured_speedup=None if self.choice in v.implausible else (v.speedups or {}).get(self.choice),
                winner=v.winner,
                correct=bool(v.correct),
                result={"results": self.results, "order": self.order, "reasons": list(v.reasons)},
            ),
            quiet=True,
        )
        self.query_one("#verdict-saved", Static).update(
            Content.styled("✓ Saved to your progress.", "$text-muted")
            if not_saved is None
            else Content.styled(f"✗ Not saved: {not_saved}.", "bold $warning")
        )

    def action_scroll(self, where: str) -> None:
        scroller = self.query_one("#verdict", VerticalScroll)
        getattr(scroller, f"scroll_{where}")(animate=False)

    def action_back(self) -> None:
        self.tutor.back_to_lesson()

    def action_retry(self) -> None:
        self.tutor.back_to_challenge()
