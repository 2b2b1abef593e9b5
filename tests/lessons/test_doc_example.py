"""The complete example in docs/lesson-format.md loads exactly as documented."""

from __future__ import annotations

import re
from pathlib import Path

from tutor.lessons import Challenge, Include, MarkdownText, QuizQuestion, load_lesson_file
from tutor.lessons.expression import Situation

DOC = Path(__file__).resolve().parents[2] / "docs" / "lesson-format.md"


def _example() -> str:
    text = DOC.read_text(encoding="utf-8")
    after = text.split("## A complete example", 1)[1]
    m = re.search(r"^````markdown\n(.*?)^````$", after, re.S | re.M)
    assert m, "the example lesson (a ````markdown fence) is missing from the doc"
    return m.group(1)


def test_doc_example_round_trips(tmp_path):
    example = _example()
    path = tmp_path / "01-kitchen-demo.md"
    path.write_text(example, encoding="utf-8")
    lesson, errors = load_lesson_file(path)
    assert errors == [], [str(e) for e in errors]
    assert lesson is not None

    assert lesson.id == "kitchen-demo" and lesson.order == 1 and lesson.minutes == 10
    assert lesson.topics == ("concurrency", "parallelism") and lesson.language == "en"
    assert [s.heading for s in lesson.sections] == [
        "Where the data lives",
        "Which kitchen is fastest?",
        "Quiz",
        "What to remember",
    ]
    assert lesson.remember == (
        "Waiting overlaps, even on one core.",
        "Chopping needs more hands: more cores.",
        "Measure on your own machine.",
    )
    assert [type(b) for b in lesson.blocks] == [
        MarkdownText, Include, MarkdownText, Challenge, MarkdownText, QuizQuestion, QuizQuestion,
        MarkdownText,
    ]  # fmt: skip

    (inc,) = lesson.includes
    assert inc.ref == "tutor.paths:data_dir" and inc.source.startswith("def data_dir(")

    (ch,) = lesson.challenges
    assert ch.scenario == "chef"
    assert ch.params == {"tasks": 4, "workers": 4, "boil_s": 0.5}
    assert [(c.strategy, c.label) for c in ch.choices] == [
        ("threads", "One cook, four pots (threads)"),
        ("processes", "Four cooks (processes)"),
    ]
    assert ch.story.startswith("Four orders arrive at once.")
    assert ch.measure == "wall_s" and ch.predict == "speedup"
    assert ch.expect.winner == "processes"
    # A number stays a number; a formula gives each machine its own textbook figure.
    assert ch.expect.speedup["threads"].constant == 2.1
    processes = ch.expect.speedup["processes"]
    assert processes.constant is None
    assert (
        round(ch.expect.speedup_at("processes", Situation(cores=2, tasks=4, workers=4)), 1) == 3.0
    )
    assert (
        round(ch.expect.speedup_at("processes", Situation(cores=8, tasks=4, workers=4)), 1) == 3.8
    )
    assert set(ch.explain) == {"threads", "processes"}
    assert ch.differs and ch.hint
    assert ch.line == example.split("\n").index("```challenge") + 1

    single, multiple = lesson.quiz
    assert single.kind == "single" and single.correct_indices == (0,)
    assert "`time.sleep(1)`" in single.question and single.hint
    assert all(c.why for c in single.choices)
    assert multiple.kind == "multiple" and multiple.correct_indices == (0, 1)


def test_every_key_in_the_doc_tables_is_one_the_validator_knows():
    from tutor.lessons import validate

    text = DOC.read_text(encoding="utf-8")
    tables = {
        "## Front matter": validate.FRONT_KEYS,
        "### ` ```challenge `": validate.CHALLENGE_KEYS,
        "### ` ```quiz `": validate.QUIZ_KEYS,
        "### ` ```include `": ("ref",),
    }
    for heading, keys in tables.items():
        section = text.split(heading, 1)[1].split("\n#", 1)[0]
        documented = re.findall(r"^\| `(\w+)` \|", section, re.M)
        assert tuple(documented) == tuple(keys), heading


def test_doc_example_is_lint_clean(tmp_path):
    """The example is what an author copies: it has every hint and its "What to remember"."""
    from tutor.lessons import load_catalog

    (tmp_path / "01-kitchen-demo.md").write_text(_example(), encoding="utf-8")
    catalog = load_catalog([tmp_path], builtin=False)
    assert catalog.errors == [] and catalog.warnings == [], [str(w) for w in catalog.warnings]
