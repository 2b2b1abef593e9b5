"""Expected speedups as formulas of the machine: parsed safely, checked, evaluated per machine."""

from __future__ import annotations

import pytest

from tutor.lessons import load_catalog, load_lesson_file
from tutor.lessons.expression import ALLOWED, ExpressionError, Situation, parse
from tutor.lessons.model import Challenge, Choice, Expectation
from tutor.lessons.plan import expected_speedups

TWO = Situation(cores=2, tasks=4, workers=4)
EIGHT = Situation(cores=8, tasks=4, workers=4)


@pytest.mark.parametrize(
    ("text", "on_two", "on_eight"),
    [
        ("1.9", 1.9, 1.9),
        ("min(tasks, cores)", 2.0, 4.0),
        ("0.95 * min(tasks, workers, cores)", 1.9, 3.8),
        ("2.8 / (0.8 / min(tasks, cores) + 0.53)", 3.0, 3.8),
        ("max(1, cores - 1) + -0.5", 0.5, 6.5),
    ],
)
def test_a_formula_gives_each_machine_its_own_figure(text, on_two, on_eight):
    formula = parse(text)
    assert round(formula.at(TWO), 1) == on_two
    assert round(formula.at(EIGHT), 1) == on_eight


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("__import__('os').system('true')", "unknown function '__import__('os').system'"),
        ("__import__('os')", "unknown function '__import__'"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("cores ** 2", "operator that is not allowed"),
        ("threads", "unknown name 'threads'"),
        ("min(cores)", "min() needs at least 2 values"),
        ("min(*[cores, 2])", "plain values only"),
        ("min(cores, key=abs)", "plain values only"),
        ("cores.bit_length()", "unknown function"),
        ("[cores][0]", "is not allowed"),
        ("'2'", "is not a number"),
        ("True + 1", "is not a number"),
        ("1e400", "too large"),
        ("9" * 30, "too large"),
        ("min(tasks, cores", "cannot read the expression"),
        ("cores if tasks else 1", "is not allowed"),
        ("1 " * 150, "characters long"),
        ("+".join(["1"] * 40), "too complex"),
    ],
)
def test_anything_else_is_refused_naming_what_is_allowed(text, words):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert words in str(caught.value)
    if "too complex" not in words and "too large" not in words and "min()" not in words:
        assert ALLOWED in str(caught.value)


def test_evaluation_problems_are_errors_not_crashes():
    with pytest.raises(ExpressionError, match="divides by zero"):
        parse("tasks / (cores - 2)").at(TWO)
    with pytest.raises(ExpressionError, match="must be above 0"):
        parse("cores - 2").at(TWO)


SPEEDUP = "  speedup: {threads: 2.0, processes: 3.0}"


@pytest.mark.parametrize(
    ("replacement", "words"),
    [
        (
            "  speedup:\n    processes: cores ** tasks",
            ["expected speedup of processes", "operator"],
        ),
        (
            "  speedup:\n    processes: import os",
            ["cannot read the expression", "allowed: a number"],
        ),
        (
            "  speedup:\n    processes: speed * cores",
            ["unknown name 'speed'", "cores, tasks, workers"],
        ),
        ("  speedup:\n    processes: 4 / (cores - 1)", ["divides by zero"]),
        ("  speedup:\n    processes: cores - 2", ["gives -1 with cores=1", "above 0"]),
        ("  speedup:\n    processes: cores * 100", ["gives 6400 with cores=64", "at most 1000"]),
        ("  speedup:\n    processes: [2, 3]", ["must be a number, or an expression"]),
        ("  speedup: {processes: min(tasks, cores)}", ["cut at a comma", "in quotes"]),
    ],
)
def test_the_validator_points_at_a_bad_formula(lessons, replacement, words):
    text = lessons.replace(lessons.VALID, SPEEDUP, replacement)
    _, errors = load_lesson_file(lessons.write(text))
    assert len(errors) == 1, [str(e) for e in errors]
    (error,) = errors
    assert error.path.name == "01-demo.md"
    assert (
        error.line == lessons.line_of(text, "processes: ")
        if "{" not in replacement
        else lessons.line_of(text, "speedup: {")
    )
    for word in words:
        assert word in error.message, error.message


def test_the_column_points_into_a_plain_formula(lessons):
    text = lessons.replace(lessons.VALID, SPEEDUP, "  speedup:\n    processes: min(tasks, cpus)")
    (error,) = load_lesson_file(lessons.write(text))[1]
    assert error.column == lessons.col_of(text, "cpus")


def test_quoted_and_block_formulas_load(lessons):
    text = lessons.replace(
        lessons.VALID, SPEEDUP, '  speedup: {threads: 2, processes: "min(tasks, workers, cores)"}'
    )
    lesson, errors = load_lesson_file(lessons.write(text))
    assert errors == []
    expect = lesson.challenges[0].expect
    assert (
        expect.speedup_at("processes", TWO) == 2.0 and expect.speedup_at("processes", EIGHT) == 4.0
    )
    assert (
        expect.speedup_at("threads", EIGHT) == 2.0 and expect.speedup_at("asyncio", EIGHT) is None
    )


def _result(strategy: str, cores: int, tasks: int = 4, workers: int = 4) -> dict:
    return {"strategy": strategy, "cores": cores, "tasks": tasks, "workers": workers, "ok": True}


def test_the_verdict_evaluates_with_the_machine_that_measured():
    challenge = Challenge(
        id="c",
        scenario="crunch",
        question="?",
        choices=(Choice("threads", "t"), Choice("processes", "p")),
        explain={"threads": "", "processes": ""},
        expect=Expectation(
            "processes", {"threads": parse("1.0"), "processes": parse("0.95 * min(tasks, cores)")}
        ),
    )
    on_two = {s: _result(s, 2) for s in ("threads", "processes")}
    on_eight = {s: _result(s, 8) for s in ("threads", "processes")}
    assert expected_speedups(challenge, on_two) == {"threads": 1.0, "processes": 1.9}
    assert expected_speedups(challenge, on_eight) == {"threads": 1.0, "processes": 3.8}
    # A quick run has fewer tasks: the figure follows the run, not the lesson's full size.
    assert expected_speedups(challenge, {"processes": _result("processes", 8, tasks=2)}) == {
        "processes": 1.9
    }
    # A strategy that did not run has no textbook figure to show.
    assert expected_speedups(challenge, {"threads": _result("threads", 8)}) == {"threads": 1.0}


EXPECTED_ON = {
    # challenge: (strategy, on 2 cores, on 8 cores): the course's 2-core figures kept,
    # and what an 8-core laptop should show instead.
    "kitchen-chef": ("processes", 3.0, 3.8),
    "gil-crunch": ("processes", 1.9, 3.8),
    "compress-threads": ("threads", 1.9, 3.8),
    "pipeline-hybrid": ("hybrid", 3.2, 5.3),
    "asyncio-chef": ("processes", 3.0, 3.8),
    "summary-kitchen": ("processes", 3.0, 3.8),
}


def test_the_course_figures_hold_on_2_cores_and_scale_on_8():
    catalog = load_catalog()
    assert not catalog.errors, [str(e) for e in catalog.errors]
    found = {c.id: (lesson, c) for lesson, c in catalog.challenges}
    for cid, (strategy, two, eight) in EXPECTED_ON.items():
        _, challenge = found[cid]
        tasks = int(challenge.params.get("tasks", 4))
        workers = int(challenge.params.get("workers", tasks))
        on = {
            cores: round(challenge.expect.speedup_at(strategy, Situation(cores, tasks, workers)), 1)
            for cores in (2, 8)
        }
        assert on == {2: two, 8: eight}, cid


def test_lint_run_gives_the_textbook_for_the_machine_that_measured(lessons):
    from tests.lessons.test_lint_run import CRUNCH, _summary
    from tutor.lessons.reproduce import check_challenge

    text = CRUNCH.replace("TASK_S", "0.1").replace(
        "  winner: processes\n",
        "  winner: processes\n  speedup:\n    processes: 0.95 * min(tasks, workers, cores)\n",
    )
    (challenge,) = load_lesson_file(lessons.write(text))[0].challenges
    lines = {}
    for cores in (2, 8):
        sizes = {"cores": cores, "tasks": 4, "workers": 4}
        summaries = [
            _summary("threads", 2.0, **sizes),
            _summary("processes", 0.6, speedup=3.3, **sizes),
            _summary("sequential", 2.0, **sizes),
        ]
        lines[cores] = check_challenge(challenge, summaries)[1]
    assert "speedup processes 3.3x (textbook 1.9x)" in lines[2]
    assert "speedup processes 3.3x (textbook 3.8x)" in lines[8]
