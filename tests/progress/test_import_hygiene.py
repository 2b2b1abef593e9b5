"""tutor.progress stays free of Textual (the CLI and the SSH board import it)."""

from __future__ import annotations

import subprocess
import sys


def test_progress_does_not_import_textual():
    code = (
        "import sys\n"
        "import tutor.progress, tutor.cli.progress, tutor.progress.schema\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_progress_show_does_not_import_textual(tmp_path):
    code = (
        "import sys\n"
        "from tutor.cli import main\n"
        f"rc = main(['progress', '--data-dir', {str(tmp_path)!r}, 'show', '--json'])\n"
        "assert rc == 0, rc\n"
        "assert not any(m == 'textual' or m.startswith('textual.') for m in sys.modules), 'textual'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
