"""The parsed lesson: plain, immutable data the UI, the quiz and the linter share.

Every object keeps the line of the lesson file it came from, so anything
downstream (the linter, `tutor lint --run`, the UI's error view) can point a
lesson author at the exact place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tutor.lessons.expression import Situation, SpeedupFormula

Severity = Literal["error", "warning"]
Measure = Literal["wall_s", "peak_mem_bytes", "lag_s", "response_s"]
Prediction = Literal["speedup"]
QuizKind = Literal["single", "multiple"]


@dataclass(frozen=True)
class LessonError:
    """One problem in a lesson file, at a 1-based line and column.

    A record, not an exception: the loader collects all of them instead of
    stopping at the first, and it never raises for a bad lesson.
    """

    path: Path
    line: int
    column: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}:{self.column}: {prefix}{self.message}"

    def display(self, path: str | None = None) -> str:
        """Like str(), with the path written as the caller prefers (e.g. relative)."""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{path or self.path}:{self.line}:{self.column}: {prefix}{self.message}"


@dataclass(frozen=True)
class Section:
    """A `##` heading: one entry of the lesson's table of contents."""

    heading: str
    line: int


@dataclass(frozen=True)
class MarkdownText:
    """Plain Markdown between the interactive blocks, shown as written."""

    text: str
    line: int


@dataclass(frozen=True)
class Choice:
    """One answer of a challenge: a lab strategy and how the lesson names it."""

    strategy: str
    label: str


@dataclass(frozen=True)
class Expectation:
    """The textbook outcome. Only used to explain a machine that disagrees:
    the right answer is always decided from the measurement."""

    winner: str
    speedup: dict[str, SpeedupFormula] = field(default_factory=dict, hash=False)
    """strategy -> expected speedup over one at a time: a number or a formula of the
    machine and the run (`min(tasks, cores)`), evaluated with :meth:`speedup_at`."""

    def speedup_at(self, strategy: str, situation: Situation) -> float | None:
        """The textbook speedup of `strategy` on this machine, None when the lesson gives none."""
        formula = self.speedup.get(strategy)
        return None if formula is None else formula.at(situation)


@dataclass(frozen=True)
class Challenge:
    """Predict which strategy wins, then run the real workload and measure."""

    id: str
    scenario: str
    question: str
    choices: tuple[Choice, ...]
    explain: dict[str, str] = field(hash=False)
    """One text per choice strategy, shown when that strategy measured best."""
    params: dict[str, float | int | str] = field(default_factory=dict, hash=False)
    """Lab parameters: tasks, workers, start_method, preset or scenario ParamSpec names."""
    story: str | None = None
    measure: Measure = "wall_s"
    """One of tutor.lab.registry.MEASURES that the scenario reports."""
    """The result field compared between strategies; lower wins."""
    predict: Prediction | None = None
    expect: Expectation | None = None
    differs: str | None = None
    hint: str | None = None
    line: int = 0
    """Line of the opening fence in the lesson file."""

    @property
    def strategies(self) -> tuple[str, ...]:
        return tuple(c.strategy for c in self.choices)


@dataclass(frozen=True)
class QuizChoice:
    text: str
    why: str
    correct: bool = False


@dataclass(frozen=True)
class QuizQuestion:
    """A quiz question: `single` has exactly one correct choice, `multiple` at least one."""

    id: str
    question: str
    choices: tuple[QuizChoice, ...]
    kind: QuizKind = "single"
    hint: str | None = None
    line: int = 0

    @property
    def correct_indices(self) -> tuple[int, ...]:
        return tuple(i for i, c in enumerate(self.choices) if c.correct)


@dataclass(frozen=True)
class Include:
    """Source code taken from the lab's real module, so a lesson never drifts from it."""

    ref: str
    """`module:name` as written, e.g. `tutor.lab.scenarios.crunch:crunch_task`."""
    module: str
    name: str
    source: str
    """The definition's source (decorators included), dedented."""
    source_path: Path
    source_line: int
    """Line of the definition in `source_path`."""
    line: int = 0


Block = MarkdownText | Challenge | QuizQuestion | Include


@dataclass(frozen=True)
class LessonHeader:
    """What a lesson's front matter says about it."""

    id: str
    title: str
    order: int
    summary: str
    topics: tuple[str, ...]
    minutes: int
    language: str


# Dict fields are left out of the hashes so lessons and blocks can be set members
# and dict keys (the UI keys widgets and progress by them).
@dataclass(frozen=True)
class Lesson(LessonHeader):
    path: Path
    body: str
    """The Markdown after the front matter, exactly as written."""
    sections: tuple[Section, ...]
    blocks: tuple[Block, ...]
    """Text, challenges, quiz questions and includes in the order they appear."""
    body_line: int = 1
    """File line where `body` starts."""
    remember: tuple[str, ...] = ()
    """The items of the lesson's `## What to remember` section (Markdown, one line each)."""
    remember_line: int | None = None
    """File line of that heading; None when the lesson has none."""

    @property
    def challenges(self) -> tuple[Challenge, ...]:
        return tuple(b for b in self.blocks if isinstance(b, Challenge))

    @property
    def quiz(self) -> tuple[QuizQuestion, ...]:
        return tuple(b for b in self.blocks if isinstance(b, QuizQuestion))

    @property
    def includes(self) -> tuple[Include, ...]:
        return tuple(b for b in self.blocks if isinstance(b, Include))


@dataclass
class Catalog:
    """Every lesson that loaded cleanly, plus every problem found on the way."""

    lessons: list[Lesson] = field(default_factory=list)
    """Sorted by `order`, then `id`. A lesson with any error is left out."""
    errors: list[LessonError] = field(default_factory=list)
    warnings: list[LessonError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    """Every lesson file that was read, in reading order."""
    extra_dirs: list[Path] = field(default_factory=list)
    """The folders (or files) read besides the built-in lessons, as given."""
    builtin: bool = True
    """Whether the built-in lessons were read."""

    def lint_command(self) -> str:
        """The exact `tutor lint` command that reports this catalog's problems."""
        import shlex

        words = ["tutor", "lint"]
        for entry in self.extra_dirs:
            words += ["--lessons", shlex.quote(str(entry))]
        if not self.builtin:
            words.append("--only-lessons")
        return " ".join(words)

    def get(self, lesson_id: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.id == lesson_id), None)

    @property
    def challenges(self) -> list[tuple[Lesson, Challenge]]:
        return [(lesson, c) for lesson in self.lessons for c in lesson.challenges]

    @property
    def quiz_questions(self) -> list[tuple[Lesson, QuizQuestion]]:
        return [(lesson, q) for lesson in self.lessons for q in lesson.quiz]
