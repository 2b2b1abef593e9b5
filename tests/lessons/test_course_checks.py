"""`tutor lint` warns about what every lesson should have: hints and a closing "What to remember"."""

from __future__ import annotations

from tests.lessons.test_cli import tutor
from tutor.lessons import load_catalog

REMEMBER = """
## What to remember

- A sleeping thread costs almost nothing.
- A busy cook needs a core,
  and a waiting cook does not.
- Measure before you choose.
"""


def _complete(lessons) -> str:
    """The valid lesson with hints on every task and a closing "What to remember"."""
    text = lessons.replace(
        lessons.VALID, "predict: speedup\n", 'predict: speedup\nhint: "Who needs a core?"\n'
    )
    text = lessons.replace(text, "id: demo-q1\n", 'id: demo-q1\nhint: "Does it run?"\n')
    return text + REMEMBER


def test_missing_hints_and_remember_are_warnings_at_their_lines(lessons):
    text = lessons.VALID
    lessons.write(text)
    r = tutor("lint", str(lessons.root))
    assert r.returncode == 0, r.stdout + r.stderr  # warnings never fail the lint
    out = r.stdout
    assert (
        f"01-demo.md:{lessons.line_of(text, '```challenge')}:1: warning: challenge 'demo-chef' has no hint"
        in out
    )
    assert (
        f"01-demo.md:{lessons.line_of(text, '```quiz')}:1: warning: quiz question 'demo-q1' has no hint"
        in out
    )
    assert "warning: the lesson does not end with '## What to remember'" in out
    assert "0 errors, 3 warnings" in out


def test_a_complete_lesson_is_clean_and_its_remember_lines_are_read(lessons):
    path = lessons.write(_complete(lessons))
    r = tutor("lint", str(lessons.root))
    assert r.returncode == 0 and "0 errors, 0 warnings" in r.stdout, r.stdout
    catalog = load_catalog([path], builtin=False)
    (lesson,) = catalog.lessons
    assert lesson.remember == (
        "A sleeping thread costs almost nothing.",
        "A busy cook needs a core, and a waiting cook does not.",
        "Measure before you choose.",
    )


def test_remember_must_come_last_and_hold_3_to_5_lines(lessons):
    text = (
        _complete(lessons).replace("- Measure before you choose.\n", "")
        + "\n## Afterword\n\nMore.\n"
    )
    lessons.write(text)
    catalog = load_catalog([lessons.root], builtin=False)
    messages = [w.message for w in catalog.warnings]
    assert any("must be the lesson's last section; '## Afterword'" in m for m in messages), messages
    assert any("has 2 list items; write 3 to 5" in m for m in messages), messages
    assert {w.line for w in catalog.warnings} == {lessons.line_of(text, "## What to remember")}


def test_the_built_in_course_is_lint_clean():
    catalog = load_catalog()
    assert catalog.errors == [] and catalog.warnings == [], [str(w) for w in catalog.warnings]
    for lesson in catalog.lessons:
        assert lesson.sections[-1].heading == "What to remember", lesson.id
        assert 3 <= len(lesson.remember) <= 5, lesson.id


def test_a_missing_lessons_folder_stops_the_game_with_one_line(tmp_path):
    for command in ([], ["quiz"]):
        r = tutor(
            *command,
            "--lessons",
            str(tmp_path / "nonexistent"),
            "--data-dir",
            str(tmp_path / "data"),
        )
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip().splitlines() == [
            f"tutor: error: --lessons {tmp_path / 'nonexistent'}: no such folder; "
            "give a folder that holds lesson .md files"
        ]
        assert not (tmp_path / "data").exists()  # nothing was opened


def test_the_lint_command_for_a_catalog_finds_its_problems(lessons):
    lessons.write("---\nid: broken\n---\n", "01-broken.md")
    catalog = load_catalog([lessons.root])
    assert catalog.errors and catalog.lint_command() == f"tutor lint --lessons {lessons.root}"
    only = load_catalog([lessons.root], builtin=False)
    assert only.lint_command() == f"tutor lint --lessons {lessons.root} --only-lessons"
    # Run as written, it reports exactly the errors the game left out.
    r = tutor(*only.lint_command().split()[1:])
    assert r.returncode == 1 and "01-broken.md:1:1:" in r.stdout
    assert f"{len(only.errors)} errors" in r.stdout
