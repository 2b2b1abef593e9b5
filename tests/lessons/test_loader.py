"""Valid lessons parse into the right objects; folders, order and fences behave."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import tutor.paths
from tutor.lessons import (
    Challenge,
    Include,
    LessonError,
    MarkdownText,
    QuizQuestion,
    load_catalog,
    load_lesson_file,
)


def test_valid_lesson_parses_into_typed_objects(lessons):
    path = lessons.write(lessons.VALID)
    lesson, errors = load_lesson_file(path)
    assert errors == []
    assert lesson is not None
    assert (lesson.id, lesson.title, lesson.order, lesson.minutes, lesson.language) == (
        "demo", "A demo lesson", 1, 5, "en",
    )  # fmt: skip
    assert lesson.topics == ("threads", "gil")
    assert lesson.path == path
    assert [s.heading for s in lesson.sections] == ["Racing cooks", "Quiz"]
    assert lesson.sections[0].line == lessons.line_of(lessons.VALID, "## Racing cooks")
    kinds = [type(b) for b in lesson.blocks]
    assert kinds == [MarkdownText, Include, Challenge, MarkdownText, QuizQuestion]
    intro = lesson.blocks[0]
    assert intro.text.startswith("# A demo lesson") and intro.text.endswith("## Racing cooks")
    assert intro.line == lessons.line_of(lessons.VALID, "# A demo lesson")

    (challenge,) = lesson.challenges
    assert challenge.id == "demo-chef" and challenge.scenario == "chef"
    assert challenge.params == {"tasks": 4, "workers": 4, "boil_s": 0.5}
    assert challenge.strategies == ("threads", "processes")
    assert challenge.expect is not None and challenge.expect.winner == "processes"
    assert {s: f.constant for s, f in challenge.expect.speedup.items()} == {
        "threads": 2.0,
        "processes": 3.0,
    }
    assert challenge.measure == "wall_s" and challenge.predict == "speedup"
    assert challenge.explain == {"threads": "Threads won.", "processes": "Processes won."}
    assert challenge.line == lessons.line_of(lessons.VALID, "```challenge")

    (q,) = lesson.quiz
    assert q.kind == "single" and q.correct_indices == (0,)
    assert q.choices[1].why == "It is not scheduled."


def test_include_shows_the_real_source_without_running_it(lessons):
    lesson, errors = load_lesson_file(lessons.write(lessons.VALID))
    assert errors == []
    (inc,) = lesson.includes
    real_source, real_line = inspect.getsourcelines(tutor.paths.data_dir)
    assert inc.source == "".join(real_source).rstrip("\n")
    assert inc.source_line == real_line
    assert inc.source_path == Path(tutor.paths.__file__)
    assert (inc.module, inc.name) == ("tutor.paths", "data_dir")


def test_include_of_a_method_is_dedented(lessons):
    text = lessons.replace(
        lessons.VALID, "ref: tutor.paths:data_dir", "ref: tutor.lessons.model:Lesson.challenges"
    )
    lesson, errors = load_lesson_file(lessons.write(text))
    assert errors == []
    source = lesson.includes[0].source
    assert source.startswith("@property\ndef challenges(self)")


@pytest.mark.parametrize(
    "open_, close",
    [
        ("~~~challenge", "~~~"),
        ("````challenge", "````"),
        ("  ```challenge", "  ```"),
        ("``` challenge {.yaml}", "```"),
    ],
)
def test_fence_variants_are_recognised(lessons, open_, close):
    indent = "  " if open_.startswith("  ") else ""
    block = lessons.VALID.split("```challenge\n")[1].split("\n```\n")[0]
    body = "\n".join(indent + line if line else line for line in block.split("\n"))
    text = lessons.VALID.replace(
        "```challenge\n" + block + "\n```\n", f"{open_}\n{body}\n{close}\n"
    )
    lesson, errors = load_lesson_file(lessons.write(text))
    assert errors == []
    assert lesson.challenges[0].id == "demo-chef"


def test_interactive_fence_inside_a_longer_fence_is_just_text(lessons):
    example = "````markdown\n```quiz\nid: not-live\n```\n````\n"
    lesson, errors = load_lesson_file(lessons.write(lessons.VALID + "\n" + example))
    assert errors == []
    assert [q.id for q in lesson.quiz] == ["demo-q1"]
    assert "id: not-live" in lesson.blocks[-1].text


def test_heading_inside_code_is_not_a_section(lessons):
    text = lessons.VALID + "\n```python\n## not a heading\n```\n"
    lesson, _ = load_lesson_file(lessons.write(text))
    assert [s.heading for s in lesson.sections] == ["Racing cooks", "Quiz"]


def test_crlf_and_bom_files_load_with_the_same_lines(lessons):
    data = ("\ufeff" + lessons.VALID).replace("\n", "\r\n").encode()
    lesson, errors = load_lesson_file(lessons.write(data))
    assert errors == []
    assert lesson.challenges[0].line == lessons.line_of(lessons.VALID, "```challenge")


def test_catalog_sorts_by_order_then_id_and_skips_readme(lessons):
    def variant(lid: str, order: int, prefix: str) -> str:
        t = lessons.VALID.replace("id: demo\n", f"id: {lid}\n").replace(
            "order: 1\n", f"order: {order}\n"
        )
        return t.replace("demo-chef", f"{prefix}-chef").replace("demo-q1", f"{prefix}-q1")

    lessons.write(variant("zeta", 2, "z"), "a.md")
    lessons.write(variant("beta", 2, "b"), "b.md")
    lessons.write(variant("alpha", 3, "a"), "c.md")
    lessons.write(variant("first", 1, "f"), "d.md")
    lessons.write("# Notes for instructors\n", "README.md")
    catalog = load_catalog([lessons.root], builtin=False)
    assert catalog.errors == []
    assert [lesson.id for lesson in catalog.lessons] == ["first", "beta", "zeta", "alpha"]
    # Two lessons share order 2: a warning (not an error) at the second one's `order` line.
    (warning,) = [w for w in catalog.warnings if "order" in w.message]
    assert warning.severity == "warning" and warning.line == 4 and "order 2" in warning.message
    assert len(catalog.challenges) == 4 and len(catalog.quiz_questions) == 4
    assert catalog.get("beta").path.name == "b.md"


def test_same_file_named_twice_is_read_once(lessons):
    path = lessons.write(lessons.VALID)
    catalog = load_catalog([lessons.root, path], builtin=False)
    assert catalog.errors == [] and len(catalog.lessons) == 1


def test_missing_folder_is_an_error_record_not_an_exception(tmp_path):
    catalog = load_catalog([tmp_path / "nope"], builtin=False)
    assert catalog.lessons == []
    (err,) = catalog.errors
    assert isinstance(err, LessonError) and err.line == 1 and "no such lesson" in err.message


def test_error_str_is_file_line_col_message():
    err = LessonError(Path("x.md"), 3, 7, "bad thing")
    assert str(err) == "x.md:3:7: bad thing"
    assert str(LessonError(Path("x.md"), 3, 7, "meh", "warning")) == "x.md:3:7: warning: meh"


def test_include_never_imports_the_module_it_shows(lessons, tmp_path, monkeypatch):
    # A package whose import would blow up: resolving an include must only read it.
    pkg = tmp_path / "site" / "boompkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('package imported')\n")
    (pkg / "work.py").write_text(
        "raise RuntimeError('module imported')\n\n\ndef job(n):\n    return n * 2\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    text = lessons.replace(lessons.VALID, "ref: tutor.paths:data_dir", "ref: boompkg.work:job")
    lesson, errors = load_lesson_file(lessons.write(text))
    assert errors == []
    inc = lesson.includes[0]
    assert inc.source == "def job(n):\n    return n * 2"
    assert inc.source_line == 4
    import sys

    assert "boompkg" not in sys.modules and "boompkg.work" not in sys.modules


def test_lessons_and_blocks_are_hashable(lessons):
    lesson, _ = load_lesson_file(lessons.write(lessons.VALID))
    again, _ = load_lesson_file(lessons.root / "01-demo.md")
    assert {lesson, again} == {lesson}
    assert {b: 1 for b in lesson.blocks}[again.challenges[0]] == 1
