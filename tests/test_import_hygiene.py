"""The core stays UI-free: lab, lessons and progress never import Textual, and
the headless commands start without paying for it (harlequin's import-hygiene
test, applied to every core package at once)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = "import sys, {module}; bad = [m for m in ('textual', 'asyncssh', 'textual_serve') if m in sys.modules]; assert not bad, bad"


@pytest.mark.parametrize(
    "module",
    [
        "tutor.cli",
        "tutor.lab",
        "tutor.lab.client",
        "tutor.lab.runner",
        "tutor.lab.verdict",
        "tutor.lab.explain",
        "tutor.lab.commands",
        "tutor.lab.benchqueue",
        "tutor.lessons",
        "tutor.lessons.commands",
        "tutor.progress",
        "tutor.progress.commands",
        "tutor.ui.launch",
        # The room's plain parts: the protocol, the outbox, host keys, the room view.
        "tutor.room.protocol",
        "tutor.room.outbox",
        "tutor.room.hostkeys",
        "tutor.room.headless",
        "tutor.serve.room.store",
        "tutor.serve.room.view",
    ],
)
def test_core_modules_do_not_import_ui_or_server_libraries(module):
    proc = subprocess.run([sys.executable, "-c", CHECK.format(module=module)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("argv", [["lessons", "--json"], ["lint"], ["doctor", "--json"], ["--help"]])
def test_headless_commands_do_not_import_textual(argv):
    code = (
        "import sys\nfrom tutor.cli import main\n"
        f"try:\n    rc = main({argv!r})\nexcept SystemExit as e:\n    rc = e.code\n"
        "assert 'textual' not in sys.modules, 'textual was imported'\nsys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_python_dash_m_tutor_works():
    proc = subprocess.run([sys.executable, "-m", "tutor", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "concurrency-tutor" in proc.stdout
