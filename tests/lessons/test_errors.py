"""Every kind of broken lesson gets an error at the exact file:line:col, all at once."""

from __future__ import annotations

import pytest

from tutor.lessons import MAX_BYTES, load_catalog, load_lesson_file

# (case, text to replace in the valid lesson, replacement, text on the line the
#  error must point at, column or None, words the message must contain)
CASES = [
    ("bad-yaml-front", "title: A demo lesson", "title: [A demo", "order: 1", 6,
     ["bad YAML in the front matter", "starts on line 3"]),
    ("bad-yaml-block", "  - strategy: threads", "\t- strategy: threads", "\t- strategy", 1,
     ["bad YAML in the challenge block", "cannot start any token"]),
    ("missing-key", "minutes: 5\n", "", "---", 1, ["missing the required key 'minutes'"]),
    ("unknown-key", "title: A demo", "titel: A demo", "titel:", 1,
     ["unknown key 'titel'", "did you mean 'title'?", "allowed: id, title"]),
    ("wrong-type", "order: 1", "order: first", "order:", 8, ["order must be a whole number, not text"]),
    ("bool-not-text", "minutes: 5", "minutes: 5\nlanguage: no", "language:", 11,
     ["language must be text, not true/false", "quotes"]),
    ("unknown-scenario", "scenario: chef", "scenario: chefs", "scenario:", 11,
     ["unknown scenario 'chefs'", "did you mean 'chef'?", "crunch", "pipeline"]),
    ("unknown-strategy", "strategy: processes", "strategy: process", "strategy: process", 15,
     ["unknown strategy 'process' for scenario 'chef'", "did you mean 'processes'?",
      "allowed: sequential, threads, processes, asyncio"]),
    ("unknown-param", "boil_s: 0.5", "boil: 0.5", "params:", 32,
     ["unknown key 'boil' in params of scenario 'chef'", "did you mean 'boil_s'?", "prep_s"]),
    ("tasks-range", "tasks: 4,", "tasks: 400,", "params:", 17, ["tasks must be from 1 to 32, not 400"]),
    ("param-range", "boil_s: 0.5", "boil_s: 99", "params:", 40, ["boil_s must be from 0 to 10, not 99"]),
    ("start-method", "workers: 4,", "workers: 4, start_method: vfork,", "params:", None,
     ["unknown start method 'vfork'", "fork, forkserver, spawn"]),
    ("preset", "workers: 4,", "workers: 4, preset: seed,", "params:", None, ["scenario 'chef' has no presets"]),
    ("workers-type", "workers: 4,", "workers: many,", "params:", None, ["workers must be a whole number"]),
    ("no-correct", "    correct: true\n", "", ("choices:", 2), 1,
     ["no choice is marked 'correct: true'", "needs a right answer"]),
    ("two-correct-single", '    why: "It is not scheduled."', '    why: "It is not scheduled."\n    correct: true',
     ("    correct: true", 2), 14, ["'single' question must have exactly one correct choice, found 2", "kind: multiple"]),
    ("correct-not-bool", "correct: true", "correct: maybe", "correct: maybe", 14,
     ["correct must be true or false"]),
    ("quiz-kind", 'id: demo-q1', "id: demo-q1\nkind: several", "kind:", 7,
     ["unknown quiz kind 'several'", "single, multiple"]),
    ("include-module", "tutor.paths:data_dir", "tutor.pathz:data_dir", "ref:", 6,
     ["broken include", "module 'tutor.pathz' not found"]),
    ("include-name", "tutor.paths:data_dir", "tutor.paths:dta_dir", "ref:", 6,
     ["broken include", "no function or class named 'dta_dir'", "did you mean 'data_dir'?"]),
    ("include-variable", "tutor.paths:data_dir", "tutor.lessons.loader:MAX_BYTES", "ref:", 6,
     ["is a variable, not a function or class"]),
    ("include-syntax", "tutor.paths:data_dir", "data_dir", "ref:", 6, ["must look like 'module:name'"]),
    ("block-typo", "```challenge", "```chalenge", "```chalenge", 4,
     ["unknown block 'chalenge'", "did you mean 'challenge'?"]),
    ("winner", "winner: processes", "winner: asyncio", "winner:", 11,
     ["expect.winner 'asyncio' is not one of the choices", "threads, processes"]),
    ("speedup-value", "{threads: 2.0, processes: 3.0}", "{threads: 2.0, processes: -3}", "speedup:", None,
     ["speedup of processes must be above 0"]),
    ("predict-needs-sequential", "scenario: chef\nparams: {tasks: 4, workers: 4, boil_s: 0.5}",
     "scenario: startup", "predict:", 10, ["needs a scenario with a 'sequential' strategy", "'startup' has"]),
    ("measure", "predict: speedup", "predict: speedup\nmeasure: seconds", "measure:", 10,
     ["unknown measure 'seconds'", "wall_s, peak_mem_bytes"]),
    ("duplicate-key", "predict: speedup", "predict: speedup\npredict: speedup", ("predict:", 2), 1,
     ["duplicate key 'predict' in the challenge (first given on line"]),
    ("explain-missing", '  processes: "Processes won."', "", "explain:", 1,
     ["explain has no text for processes"]),
    ("explain-extra", '  processes: "Processes won."', '  processes: "P."\n  asyncio: "A."', "asyncio:", 3,
     ["unknown key 'asyncio' in explain", "allowed: threads, processes"]),
    ("one-choice", '  - strategy: processes\n    label: "Four cooks (processes)"\n', "", "choices:", 1,
     ["at least 2 choices, found 1"]),
    ("duplicate-strategy", "strategy: processes", "strategy: threads", ("strategy: threads", 2), 15,
     ["strategy 'threads' is already a choice"], ),
    ("challenge-missing-question", 'question: "Which kitchen is first?"\n', "", "```challenge", 1,
     ["the challenge is missing the required key 'question'"]),
    ("slug", "id: demo-chef", "id: Demo Chef", "id: Demo Chef", 5, ["must use only a-z, 0-9 and '-'"]),
    ("duplicate-id-in-file", "id: demo-q1", "id: demo-chef", "id: demo-chef", 5,
     ["duplicate challenge/quiz id 'demo-chef'"]),
    ("no-front-matter", "---\nid: demo", "id: demo", "id: demo", 1,
     ["expected YAML front matter", "start with a line '---'"]),
    ("unclosed-front-matter", "minutes: 5\n---\n", "minutes: 5\n", "---", 1,
     ["front matter opened by '---' on line 1 is never closed"]),
    ("topics-type", "topics: [threads, gil]", "topics: threads", "topics:", 9, ["topics must be a list of text"]),
    ("minutes-range", "minutes: 5", "minutes: 0", "minutes:", 10, ["minutes must be from 1 to 600, not 0"]),
    ("empty-block", "```include\nref: tutor.paths:data_dir\n```", "```include\n```", "```include", 1,
     ["the include block is empty"]),
    ("challenge-not-mapping", "## Quiz", "```challenge\njust a sentence\n```\n\n## Quiz", "just a sentence", 1,
     ["the challenge must be a mapping of keys (id, scenario", "not text"]),
    ("quiz-choice-keys", '  - text: "A core"', '  - txt: "A core"', "txt:", 5,
     ["unknown key 'txt' in a quiz choice", "did you mean 'text'?"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "old", "new", "needle", "column", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_error_points_at_the_exact_place(lessons, case, old, new, needle, column, words):
    text = lessons.replace(lessons.VALID, old, new)
    path = lessons.write(text)
    lesson, errors = load_lesson_file(path)
    assert lesson is None
    line = (
        lessons.line_of(text, *needle)
        if isinstance(needle, tuple)
        else lessons.line_of(text, needle)
    )
    matching = [e for e in errors if all(w in e.message for w in words)]
    assert matching, f"no error with {words}; got: {[str(e) for e in errors]}"
    err = matching[0]
    assert err.path == path
    assert err.line == line, str(err)
    if column is not None:
        assert err.column == column, str(err)
    assert str(err).startswith(f"{path}:{line}:")


def test_quiz_multiple_allows_several_correct_answers(lessons):
    text = lessons.replace(
        lessons.VALID,
        '    why: "It is not scheduled."',
        '    why: "It is not scheduled."\n    correct: true',
    )
    text = lessons.replace(text, "id: demo-q1", "id: demo-q1\nkind: multiple")
    lesson, errors = load_lesson_file(lessons.write(text))
    assert errors == []
    assert lesson.quiz[0].correct_indices == (0, 1)


def test_unclosed_interactive_block(lessons):
    text = lessons.VALID.rstrip("\n")
    assert text.endswith("```")
    text = text[: -len("```")]
    lesson, errors = load_lesson_file(lessons.write(text))
    assert lesson is None
    (err,) = errors
    assert err.line == lessons.line_of(text, "```quiz")
    assert "never closed" in err.message and "'```'" in err.message


def test_indented_fence_errors_point_at_the_real_column(lessons):
    block = lessons.VALID.split("```quiz\n")[1].split("\n```")[0]
    indented = "\n".join("    " + ln for ln in block.split("\n"))
    text = lessons.VALID.replace(
        f"```quiz\n{block}\n```", f"1. A list item\n\n    ```quiz\n{indented}\n    ```"
    )
    text = lessons.replace(text, "correct: true", "correct: maybe")
    _, errors = load_lesson_file(lessons.write(text))
    (err,) = errors
    assert err.line == lessons.line_of(text, "correct: maybe")
    assert err.column == lessons.col_of(text, "maybe")


def test_not_utf8_points_at_the_first_bad_byte(lessons):
    text = lessons.VALID.encode()
    at = text.index(b"Intro text.")
    data = text[:at] + b"Caf\xe9 " + text[at:]
    lesson, errors = load_lesson_file(lessons.write(data))
    assert lesson is None
    (err,) = errors
    assert err.line == lessons.line_of(lessons.VALID, "Intro text.")
    assert err.column == 4
    assert "not UTF-8" in err.message and "0xe9" in err.message


@pytest.mark.parametrize("content", [b"", b"  \n\n\t\n", b"\xef\xbb\xbf"])
def test_empty_file(lessons, content):
    lesson, errors = load_lesson_file(lessons.write(content))
    assert lesson is None
    (err,) = errors
    assert (err.line, err.column) == (1, 1) and "empty file" in err.message


def test_huge_file_is_refused_without_parsing(lessons):
    padding = "x" * 79 + "\n"
    text = lessons.VALID + padding * (MAX_BYTES // len(padding) + 1)
    lesson, errors = load_lesson_file(lessons.write(text))
    assert lesson is None
    (err,) = errors
    assert err.line == 1 and "too large" in err.message and "1 MiB" in err.message


def test_many_errors_in_one_file_are_all_reported(lessons):
    text = lessons.VALID
    for old, new in [
        ("title: A demo", "titel: A demo"),
        ("scenario: chef", "scenario: chefs"),
        ("strategy: processes", "strategy: process"),
        ("tutor.paths:data_dir", "tutor.paths:nope_not_here"),
        ("    correct: true\n", ""),
        ("minutes: 5", "minutes: lots"),
    ]:
        text = lessons.replace(text, old, new)
    _, errors = load_lesson_file(lessons.write(text))
    lines = sorted(e.line for e in errors)
    expected = sorted(
        lessons.line_of(text, n)
        for n in ("titel:", "scenario: chefs", "strategy: process", "ref:", "choices:", "minutes:")
    )
    # The 'choices:' needle hits the challenge first; the quiz's choices key is the second.
    expected[expected.index(lessons.line_of(text, "choices:"))] = lessons.line_of(
        text, "choices:", nth=2
    )
    assert lines == sorted(expected), [str(e) for e in errors]


def test_duplicate_ids_across_files_point_to_both_places(lessons):
    a = lessons.write(lessons.VALID, "01-a.md")
    other = lessons.replace(lessons.VALID, "id: demo\n", "id: other\n")
    other = lessons.replace(other, "id: demo-q1", "id: other-q1")
    b = lessons.write(other, "02-b.md")
    catalog = load_catalog([lessons.root], builtin=False)
    line = lessons.line_of(lessons.VALID, "id: demo-chef")
    assert [(e.path, e.line, e.column) for e in catalog.errors] == [(a, line, 5), (b, line, 5)]
    assert f"used again at {b}:{line}" in catalog.errors[0].message
    assert f"already used at {a}:{line}" in catalog.errors[1].message
    # Which copy is meant is unknown: both lessons are left out.
    assert catalog.lessons == []


def test_duplicate_lesson_ids_across_folders(lessons, tmp_path):
    a = lessons.write(lessons.VALID)
    copy = lessons.VALID.replace("demo-chef", "x-chef").replace("demo-q1", "x-q1")
    b = tmp_path / "mine" / "copy.md"
    b.parent.mkdir()
    b.write_text(copy)
    catalog = load_catalog([lessons.root, b.parent], builtin=False)
    assert [(e.path, e.line) for e in catalog.errors] == [(a, 2), (b, 2)]
    assert all("duplicate lesson id 'demo'" in e.message for e in catalog.errors)


def test_a_broken_lesson_does_not_hide_the_good_ones(lessons):
    lessons.write(lessons.VALID, "01-good.md")
    lessons.write("not a lesson\n", "02-bad.md")
    catalog = load_catalog([lessons.root], builtin=False)
    assert [lesson.id for lesson in catalog.lessons] == ["demo"]
    assert [e.path.name for e in catalog.errors] == ["02-bad.md"]
