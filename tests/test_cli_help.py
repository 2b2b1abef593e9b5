"""The command line explains itself: every command has a description, every
option a help line, and help and tables read well in an 80-column shell."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from tutor.cli import build_parser


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


PARSERS = list(_parsers(build_parser()))


def test_plain_tutor_is_said_to_start_the_game():
    text = build_parser().format_help()
    assert "With no COMMAND, `tutor` starts the game" in " ".join(text.split())
    assert "usage: tutor [OPTIONS] [COMMAND ...]" in text


@pytest.mark.parametrize("path,parser", PARSERS[1:], ids=[" ".join(p) for p, _ in PARSERS[1:]])
def test_every_command_has_a_description_and_every_option_a_help(path, parser):
    assert parser.description, f"`tutor {' '.join(path)} --help` has no description"
    undocumented = [
        a.option_strings[0] if a.option_strings else a.dest
        for a in parser._actions
        if not isinstance(a, argparse._SubParsersAction) and not a.help
    ]
    assert not undocumented, f"tutor {' '.join(path)}: options without help: {undocumented}"


def _tutor(*argv: str) -> str:
    env = {**os.environ, "COLUMNS": "80", "LINES": "24", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "tutor", *argv], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize(
    "argv", [["--help"], ["run", "--help"], ["serve", "ssh", "--help"], ["lessons"]]
)
def test_help_and_tables_fit_80_columns(argv):
    out = _tutor(*argv)
    too_wide = [line for line in out.splitlines() if len(line.rstrip()) > 80]
    assert not too_wide, too_wide


def test_lessons_table_never_splits_a_word():
    out = _tutor("lessons")
    from tutor.lessons import load_catalog

    words = set(out.split())
    for lesson in load_catalog().lessons:
        assert lesson.id in words, f"id {lesson.id!r} was split"
        cut = [w for w in lesson.title.split() if w not in words]
        assert not cut, f"{lesson.title!r}: {cut} split over lines"


def test_run_table_never_wraps_a_figure(tmp_path):
    out = _tutor("run", "crunch", "--compare", "--quick", "--repeat", "2", "--no-probe")
    rows = [line for line in out.splitlines() if line.startswith("│")]
    strategies = [r for r in rows if r.split("│")[1].strip()]
    # One line per strategy: a wrapped cell would add a row with an empty first cell.
    assert rows and len(strategies) == len(rows), "\n".join(rows)
    assert all("…" not in r for r in rows), "\n".join(rows)
