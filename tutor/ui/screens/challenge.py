"""A challenge: the scenario in plain words, the choice and the prediction, committed before any run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Static

from tutor.ui.messages import ChallengeCommitted
from tutor.ui.screens.base import TutorScreen
from tutor.ui.widgets.choices import ChoiceList
from tutor.ui.widgets.keybar import KeyBar
from tutor.ui.widgets.lessontext import LessonText
from tutor.ui.widgets.notice import Notice
from tutor.ui.widgets.titlebar import TitleBar

if TYPE_CHECKING:
    from tutor.lessons import Challenge, Lesson


def parse_speedup(text: str) -> float | None:
    """'2', '2.5', '2.5x' -> float; blank -> None; raises ValueError with a message otherwise."""
    text = text.strip().lower().rstrip("x×").strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError("type a number such as 2 or 1.5") from None
    if not 0 < value <= 1000:
        raise ValueError("type a number above 0 (1 = as fast as one at a time)")
    return value


def machine_line(facts: Mapping[str, object], challenge: Challenge) -> str:
    """'Your machine: 8 cores, Python 3.13.5, start method forkserver': said before the
    prediction, since the right answer and the speedups depend on all three."""
    cores = facts.get("cores") or 1
    python = f"Python {facts.get('python')}"
    if facts.get("free_threaded_build"):
        python += " free-threaded, GIL " + ("on" if facts.get("gil_enabled") else "off")
    method = (challenge.params or {}).get("start_method") or facts.get("default_start_method")
    return f"Your machine: {cores} core{'s' if cores != 1 else ''}, {python}, start method {method}"


class ChallengeScreen(TutorScreen):
    """Nothing runs until the learner has committed to an answer."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="challenge.back"),
        Binding("h", "hint", "Hint", id="challenge.hint"),
        Binding("ctrl+r", "commit", "Run it", id="challenge.commit"),
    ]

    def __init__(self, lesson: Lesson, challenge: Challenge) -> None:
        super().__init__()
        self.lesson = lesson
        self.challenge = challenge
        from tutor.lessons.plan import interpreter_tags

        self.tags = interpreter_tags(challenge)
        """Interpreters the choices name (threads@ft): looked for before anything can run."""
        self.missing: str | None = None
        """Why this machine cannot run the challenge as written (no free-threaded Python)."""
        self.looking = bool(self.tags)

    def compose(self) -> ComposeResult:
        from tutor.lab.facts import machine_facts
        from tutor.lab.registry import SCENARIOS

        challenge = self.challenge
        info = SCENARIOS.get(challenge.scenario)
        yield TitleBar()
        with VerticalScroll(id="challenge"):
            machine = machine_line(machine_facts(), challenge)
            if info is not None:
                yield Static(
                    Content.assemble(("Lab: ", "bold"), f"{info.title}: {info.summary}\n", machine),
                    id="scenario",
                )
            else:
                yield Static(machine, id="scenario")
            if challenge.story:
                yield LessonText(challenge.story, id="story")
            yield Static(
                Content.assemble(("? ", "bold $accent"), (challenge.question, "bold")),
                id="question",
            )
            yield ChoiceList([c.label for c in challenge.choices], id="choices")
            yield Static(
                Content.styled(
                    "↑ ↓ choose · Enter picks · Enter again, or Ctrl+R, runs it", "$text-muted"
                ),
                id="how",
            )
            if challenge.predict == "speedup":
                yield Static(
                    "Your guess: how many times faster than one at a time? (optional, e.g. 2.5)",
                    id="predict-label",
                )
                yield Input(
                    placeholder="e.g. 2.5", restrict=r"[0-9.,xX×]*", max_length=8, id="speedup"
                )
            if self.tags:
                yield Notice(id="pythons")
            yield Notice(id="hint")
            yield Notice(id="problem")
        # Outside the scrolling text and one line high: always whole on screen, even at 80x24.
        yield Button(
            "▶ Commit and run it on this machine (Ctrl+R)",
            id="commit",
            variant="primary",
            compact=True,
        )
        yield KeyBar()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False
        if action == "hint":
            # Only advertised when the challenge has one.
            return bool(self.challenge.hint)
        return True

    def on_mount(self) -> None:
        self.sub_title = f"{self.lesson.title} · challenge"
        self.query_one(ChoiceList).focus()
        if self.tags:
            self.query_one("#pythons", Notice).say(
                Content.styled("Looking for the Pythons this challenge compares...", "$text-muted")
            )
            self._find_pythons()

    @work(thread=True, exclusive=True, group="pythons")
    def _find_pythons(self) -> None:
        # Probing every Python on the machine takes about a second: never on the UI thread.
        from tutor.lab.interpreters import lesson_pythons, probed

        try:
            found = lesson_pythons(self.tags)
        except ValueError as exc:
            self.app.call_from_thread(self._pythons_found, None, str(exc))
            return
        described = []
        for tag in ("gil", "ft"):
            if tag in found:
                it = probed(found[tag])
                where = "" if it.is_this else f", {it.path}"
                described.append(
                    f"Python {it.label} (GIL {'off' if it.gil_enabled is False else 'on'}{where})"
                )
        self.app.call_from_thread(self._pythons_found, described, None)

    def _pythons_found(self, described: list[str] | None, missing: str | None) -> None:
        self.looking = False
        self.missing = missing
        notice = self.query_one("#pythons", Notice)
        if missing is not None:
            # The honest fallback: say exactly what is missing and how to get it; run nothing.
            self.query_one("#commit", Button).disabled = True
            notice.say(
                Content.assemble(
                    ("This machine cannot run this challenge yet: ", "bold $warning"),
                    missing[0].upper() + missing[1:] + ". ",
                    "Then come back; the lesson's other challenge runs on your Python meanwhile.",
                )
            )
            return
        notice.say(Content.assemble(("Runs under ", "bold"), " and ".join(described or []), "."))

    @property
    def choice_list(self) -> ChoiceList:
        return self.query_one(ChoiceList)

    @on(ChoiceList.Submitted)
    def _picked(self, event: ChoiceList.Submitted) -> None:
        # Enter on a choice only picks it: the learner still commits explicitly,
        # with Enter on the same choice again (skipping the optional prediction),
        # Enter in the prediction, or the button.
        self.query_one("#problem", Notice).clear()
        if event.again:
            self.action_commit()
            return
        inputs = self.query("#speedup")
        if inputs:
            inputs.first().focus()
        else:
            self.query_one("#commit", Button).focus()

    @on(Input.Submitted, "#speedup")
    def _speedup_entered(self) -> None:
        self.action_commit()

    @on(Button.Pressed, "#commit")
    def action_commit(self) -> None:
        problem = self.query_one("#problem", Notice)
        if self.looking:
            problem.say(
                Content.styled("… Still looking for the Pythons it compares; a moment.", "bold")
            )
            return
        if self.missing is not None:
            problem.say(
                Content.styled(
                    "✗ Nothing to run here without a free-threaded Python (see above).",
                    "bold $error",
                )
            )
            return
        chosen = self.choice_list.chosen
        if not chosen:
            problem.say(Content.styled("✗ Pick an answer first (↑ ↓ then Enter).", "bold $error"))
            self.choice_list.focus()
            return
        predicted: float | None = None
        inputs = self.query("#speedup")
        if inputs:
            try:
                predicted = parse_speedup(inputs.first(Input).value)
            except ValueError as exc:
                problem.say(Content.styled(f"✗ Speedup: {exc}.", "bold $error"))
                inputs.first().focus()
                return
        strategy = self.challenge.choices[chosen[0]].strategy
        self.post_message(ChallengeCommitted(self.lesson, self.challenge, strategy, predicted))

    def action_hint(self) -> None:
        if self.challenge.hint:
            self.query_one("#hint", Notice).say(
                Content.assemble(("Hint: ", "bold"), self.challenge.hint)
            )

    def action_back(self) -> None:
        self.dismiss()
