"""The command line starts without paying for what it does not use.

That the lab, lessons and progress never import Textual, asyncssh or
textual-serve at all is a layer contract (pyproject.toml, checked by
tests/test_code_quality.py). What is checked here is at run time: the command
line's own modules import the game only when the game starts (harlequin's
import-hygiene test).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = "import sys, {module}; bad = [m for m in ('textual', 'asyncssh', 'textual_serve') if m in sys.modules]; assert not bad, bad"


@pytest.mark.parametrize(
    "module",
    [
        "tutor.cli",
        "tutor.cli.play",
        "tutor.cli.lab",
        "tutor.cli.lessons",
        "tutor.cli.progress",
        "tutor.cli.serve",
        "tutor.serve.defaults",  # every command's parser reads it
        # The room's plain parts: the protocol, the outbox, host keys, the room view.
        "tutor.room.protocol",
        "tutor.room.outbox",
        "tutor.room.hostkeys",
        "tutor.room.headless",
        "tutor.serve.room.store",
        "tutor.serve.room.view",
    ],
)
def test_command_line_modules_import_no_ui_or_server_library(module):
    proc = subprocess.run(
        [sys.executable, "-c", CHECK.format(module=module)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["lessons", "--json"],
        ["lint"],
        ["doctor", "--json"],
        ["--help"],
        ["progress", "show", "--json"],
    ],
)
def test_headless_commands_do_not_import_textual(argv):
    code = (
        "import sys\nfrom tutor.cli import main\n"
        f"try:\n    rc = main({argv!r})\nexcept SystemExit as e:\n    rc = e.code\n"
        "assert 'textual' not in sys.modules, 'textual was imported'\nsys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_python_dash_m_tutor_works():
    proc = subprocess.run(
        [sys.executable, "-m", "tutor", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "concurrency-tutor" in proc.stdout
