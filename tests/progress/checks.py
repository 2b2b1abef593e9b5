"""Checks shared by the progress tests that run `tutor progress ...` as a user would."""

from __future__ import annotations

import subprocess


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The usage error `proc` ended with: exit code 2, one line, no traceback."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("tutor: error: ")
    return lines[0]
