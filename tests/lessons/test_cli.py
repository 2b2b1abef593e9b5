"""`tutor lint` and `tutor lessons` as a user runs them: exit codes, output, no Textual."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def tutor(
    *args: str, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", "tutor", *args],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_lint_clean_folder_exits_0(lessons):
    lessons.write(lessons.VALID)
    r = tutor("lint", str(lessons.root))
    assert r.returncode == 0, r.stdout + r.stderr
    assert (
        "1 lesson file checked: 1 ok, 0 with errors; 1 challenge, 1 quiz question; 0 errors"
        in r.stdout
    )


def test_lint_reports_every_error_as_file_line_col_and_exits_1(lessons):
    text = lessons.replace(lessons.VALID, "scenario: chef", "scenario: chefs")
    text = lessons.replace(text, "title: A demo", "titel: A demo")
    lessons.write(text)
    r = tutor("lint", "lessons", cwd=lessons.root.parent)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0].startswith(
        f"lessons/01-demo.md:{lessons.line_of(text, 'titel')}:1: unknown key 'titel'"
    )
    assert lines[1].startswith(
        f"lessons/01-demo.md:{lessons.line_of(text, 'chefs')}:11: unknown scenario 'chefs'"
    )
    assert "2 errors" in lines[-1]
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("lint", "no/such/lessons"), "no such file or folder: no/such/lessons"),
        (("lint", "--lessons", "no/such/dir"), "--lessons no/such/dir: no such folder"),
        (("lessons", "--only-lessons"), "--only-lessons needs at least one --lessons DIR"),
        (("lessons", "--lessons", "no/such/dir"), "no such folder"),
    ],
)
def test_bad_paths_are_usage_errors(args, words):
    r = tutor(*args)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and words in r.stderr
    assert "Traceback" not in r.stderr


def test_lint_named_paths_with_only_lessons_is_fine(lessons):
    lessons.write(lessons.VALID)
    r = tutor("lint", "--only-lessons", str(lessons.root))
    assert r.returncode == 0, r.stderr


def test_lint_empty_folder_is_a_usage_error(tmp_path):
    r = tutor("lint", str(tmp_path))
    assert r.returncode == 2 and "no lesson files (*.md)" in r.stderr


def test_lessons_json_lists_ids_and_counts(lessons):
    lessons.write(lessons.VALID)
    r = tutor("lessons", "--json", "--lessons", str(lessons.root), "--only-lessons")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["id"] == "demo" and row["title"] == "A demo lesson"
    assert row["challenges"] == 1 and row["quiz_questions"] == 1
    assert Path(row["path"]) == lessons.root / "01-demo.md"


def test_lessons_options_before_the_subcommand_and_table_output(lessons):
    lessons.write(lessons.VALID)
    lessons.write("broken\n", "02-broken.md")
    r = tutor("--lessons", str(lessons.root), "--only-lessons", "lessons")
    assert r.returncode == 0, r.stderr
    assert "demo" in r.stdout and "1 lessons, 1 challenges, 1 quiz questions" in r.stdout
    assert "1 lesson file with errors not listed" in r.stderr
    assert f"run 'tutor lint --lessons {lessons.root} --only-lessons' to see them" in r.stderr


def test_lint_and_lessons_never_import_textual(lessons):
    lessons.write(lessons.VALID)
    code = (
        "import sys\n"
        "import tutor.lessons\n"
        "assert 'textual' not in sys.modules\n"
        "from tutor.cli import main\n"
        f"assert main(['lint', {str(lessons.root)!r}]) == 0\n"
        f"assert main(['lessons', '--json', '--lessons', {str(lessons.root)!r}]) == 0\n"
        "assert 'textual' not in sys.modules, 'textual was imported'\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr


def test_builtin_lessons_load_quickly():
    from tutor.lessons import load_catalog
    from tutor.paths import builtin_lessons_dir

    assert builtin_lessons_dir().is_dir()
    load_catalog()  # warm the imports and the parsed-include cache like a running app would
    start = time.perf_counter()
    catalog = load_catalog()
    elapsed = time.perf_counter() - start
    assert catalog.files, "no built-in lessons found"
    # Generous bound for a shared, noisy machine; the benchmark records the real figure.
    assert elapsed < 1.0


def test_every_builtin_lesson_passes_lint():
    r = tutor("lint")
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0 errors" in r.stdout
