"""`tutor progress ...` run as a user would: a child process, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.progress.checks import one_line_error
from tutor.progress import EXPORT_FORMAT, open_store
from tutor.progress.schema import SCHEMA_VERSION


@pytest.fixture
def filled(data_dir, challenge):
    with open_store(data_dir, "tester") as s:
        challenge(s, lesson="gil", cid="c1", predicted_speedup=2.0, measured_speedup=1.0)
        s.record_quiz("gil", "q1", chosen=[0], correct=True, hint_used=False)
        s.add_time("gil", 65)
        s.mark_done("gil")
        s.record_quiz("custom-lesson", "q1", chosen=[1], correct=False, hint_used=False)
        s.set_position("custom-lesson", "quiz")
    return data_dir


def test_show_empty(run_tutor):
    proc = run_tutor("progress", "show")
    assert proc.returncode == 0, proc.stderr
    assert "Overall:" in proc.stdout


def test_show_table(filled, run_tutor):
    proc = run_tutor("progress", "show")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "custom-lesson" in out  # not in the catalog: still shown, by id
    assert "done" in out and "in progress" in out  # states in words, not colour alone
    # The game's words and figures (tutor.wording): "off by", a time with its unit.
    assert "off by 100%" in out and "1 min 05 s" in out
    assert "Resume at: custom-lesson (quiz)" in out  # a lesson that is gone: its id
    assert "Done: every challenge tried and every quiz question right once." in out


def test_show_names_the_next_lesson_and_where_to_resume_by_title(data_dir, run_tutor):
    from tutor.lessons import load_catalog

    first, second = load_catalog().lessons[:2]
    question = second.quiz[0]
    with open_store(data_dir, "tester") as s:
        s.mark_done(first.id)
        s.set_position(second.id, question.id)
    out = run_tutor("progress", "show", env={"COLUMNS": "80"}).stdout
    assert f"Next: {second.title}" in out
    resume = next(line for line in out.splitlines() if line.startswith("Resume at:"))
    assert resume.startswith(f"Resume at: {second.title}, at the quiz question “")
    assert question.id not in resume


def test_show_json(filled, run_tutor):
    proc = run_tutor("--only-lessons", "progress", "show", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["profile"] == "tester"
    assert data["position"] == {"lesson_id": "custom-lesson", "anchor": "quiz"}
    lessons = {r["id"]: r for r in data["lessons"]}
    assert set(lessons) == {"gil", "custom-lesson"}  # --only-lessons, no folders: ids only
    gil = lessons["gil"]
    assert gil["title"] == "gil"
    assert gil["state"] == "done"
    assert (gil["challenges_right"], gil["challenges_answered"]) == (1, 1)
    assert (gil["quiz_right"], gil["quiz_answered"]) == (1, 1)
    assert gil["prediction_error"] == pytest.approx(1.0)
    assert gil["seconds"] == 65
    assert lessons["custom-lesson"]["state"] == "in progress"
    overall = data["overall"]
    assert overall["lessons_done"] == 1 and overall["quiz_answered"] == 2
    assert overall["prediction_error"] == pytest.approx(1.0)


def test_show_uses_catalog_titles_when_available(run_tutor):
    lessons = pytest.importorskip("tutor.lessons")
    expected = [(lesson.id, lesson.title) for lesson in lessons.load_catalog().lessons]
    proc = run_tutor("progress", "show", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["lessons"]
    # Catalog order and titles, every lesson listed even before it is started.
    assert [(r["id"], r["title"]) for r in rows] == expected
    assert all(r["state"] == "not started" for r in rows)


def test_data_dir_and_profile_options(filled, run_tutor, tmp_path):
    other = tmp_path / "elsewhere"
    proc = run_tutor("progress", "show", "--json", "--data-dir", str(other), "--profile", "amy")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["profile"] == "amy"
    assert data["database"] == str(other / "progress.sqlite3")
    assert data["overall"]["quiz_answered"] == 0
    # Options before the action work too.
    proc = run_tutor("progress", "--profile", "amy", "show", "--json")
    assert json.loads(proc.stdout)["profile"] == "amy"


def test_export_to_file_and_stdout(filled, run_tutor, tmp_path):
    target = tmp_path / "out.json"
    proc = run_tutor("progress", "export", str(target))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(target.read_text())
    assert data["format"] == EXPORT_FORMAT and data["profile"] == "tester"
    assert len(data["quiz_attempts"]) == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []

    proc = run_tutor("progress", "export", "-")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["quiz_attempts"] == data["quiz_attempts"]


def test_export_to_a_missing_folder(filled, run_tutor, tmp_path):
    line = one_line_error(run_tutor("progress", "export", str(tmp_path / "no" / "x.json")))
    assert "does not exist" in line


def test_import_merges_and_is_idempotent(filled, run_tutor, tmp_path):
    target = tmp_path / "out.json"
    assert run_tutor("progress", "export", str(target)).returncode == 0
    for expected_added in ("1 challenge attempts and 2 quiz answers added", "0 challenge"):
        proc = run_tutor("progress", "import", str(target), "--profile", "amy")
        assert proc.returncode == 0, proc.stderr
        assert expected_added in proc.stdout
    with open_store(filled, "amy") as s, open_store(filled, "tester") as t:
        assert s.all_progress() == t.all_progress()


def test_import_from_stdin(filled, run_tutor, tmp_path):
    exported = run_tutor("progress", "export", "-").stdout
    proc = run_tutor("progress", "import", "-", "--profile", "bob", input=exported)
    assert proc.returncode == 0, proc.stderr
    with open_store(filled, "bob") as s:
        assert s.lesson_progress("gil").done


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        ("", "not valid JSON"),
        ("{not json", "not valid JSON (line 1"),
        ('{"format": "something else"}', "not a concurrency-tutor progress export"),
        ('{"format": "concurrency-tutor-progress", "version": 99}', "version 99 is not supported"),
        (
            '{"format": "concurrency-tutor-progress", "version": 1, "quiz_attempts": [{"uid": 1}]}',
            "quiz_attempts[0].uid",
        ),
        (b"\xff\xfe garbage", "not UTF-8"),
    ],
)
def test_import_bad_file_is_one_line_exit_2(run_tutor, tmp_path, data_dir, content, expected):
    path = tmp_path / "in.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    line = one_line_error(run_tutor("progress", "import", str(path)))
    assert expected in line
    with open_store(data_dir, "tester") as s:
        assert s.all_progress() == {}


def test_import_a_folder(run_tutor, tmp_path):
    assert "is a folder" in one_line_error(run_tutor("progress", "import", str(tmp_path)))


def test_reset_with_yes(filled, run_tutor):
    proc = run_tutor("progress", "reset", "--lesson", "gil", "--yes")
    assert proc.returncode == 0, proc.stderr
    with open_store(filled, "tester") as s:
        assert set(s.all_progress()) == {"custom-lesson"}
    proc = run_tutor("progress", "reset", "-y")
    assert proc.returncode == 0, proc.stderr
    with open_store(filled, "tester") as s:
        assert s.all_progress() == {}


def test_reset_without_tty_and_without_yes_refuses(filled, run_tutor):
    line = one_line_error(run_tutor("progress", "reset"))
    assert "--yes" in line
    line = one_line_error(run_tutor("progress", "reset", "--lesson", "gil", input="yes\n"))
    assert "--yes" in line  # piped "yes" is not a person confirming
    with open_store(filled, "tester") as s:
        assert set(s.all_progress()) == {"gil", "custom-lesson"}


def _reset_on_a_terminal(answer: str, env: dict) -> tuple[int, str]:
    """Run `tutor progress reset` with a pty as its terminal and type `answer`."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tutor", "progress", "reset"],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        close_fds=True,
    )
    os.close(child)
    output = b""
    deadline = time.monotonic() + 60
    typed = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        if not typed and b"Type 'yes'" in output:
            os.write(main, answer.encode() + b"\n")
            typed = True
        if proc.poll() is not None and not ready:
            break
    os.close(main)
    return proc.wait(timeout=30), output.decode(errors="replace")


@pytest.mark.parametrize(("answer", "code", "kept"), [("yes", 0, False), ("no", 1, True)])
def test_reset_asks_on_a_terminal(filled, answer, code, kept):
    status, output = _reset_on_a_terminal(answer, dict(os.environ))
    assert "Type 'yes'" in output
    assert status == code, output
    with open_store(filled, "tester") as s:
        assert bool(s.all_progress()) is kept


def test_newer_database_is_an_error_not_a_traceback(filled, run_tutor):
    conn = sqlite3.connect(filled / "progress.sqlite3")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    proc = run_tutor("progress", "show")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "newer concurrency-tutor" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_profile_name_is_a_usage_error(run_tutor):
    line = one_line_error(run_tutor("progress", "show", "--profile", " bad"))
    assert "profile name" in line


def test_missing_action_is_a_usage_error(run_tutor):
    one_line_error(run_tutor("progress"))


def test_handler_without_data_dir_or_profile_options(filled, capsys):
    """Without --data-dir and --profile, the environment and defaults apply."""
    from tutor.cli import parse
    from tutor.cli.progress import progress_command

    assert progress_command(parse(["progress", "show", "--json"])) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["profile"] == "tester"
    assert data["database"] == str(filled / "progress.sqlite3")


def test_show_falls_back_to_ids_when_lessons_cannot_load(filled, capsys, monkeypatch):
    from tutor.cli import parse
    from tutor.cli.progress import progress_command

    args = parse(["progress", "show", "--json"])
    monkeypatch.setitem(sys.modules, "tutor.lessons", None)  # makes the import fail
    assert progress_command(args) == 0
    rows = json.loads(capsys.readouterr().out)["lessons"]
    assert {(r["id"], r["title"]) for r in rows} == {
        ("gil", "gil"),
        ("custom-lesson", "custom-lesson"),
    }


def test_reset_of_a_lesson_without_progress_names_the_allowed_ones(filled, run_tutor):
    line = one_line_error(run_tutor("progress", "reset", "--lesson", "gill", "--yes"))
    assert "custom-lesson, gil" in line
    line = one_line_error(run_tutor("progress", "reset", "--lesson", "", "--yes"))
    assert "no progress saved for lesson ''" in line
    with open_store(filled, "tester") as s:
        assert set(s.all_progress()) == {"gil", "custom-lesson"}
