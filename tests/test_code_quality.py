"""The rules that keep the code changeable, checked by the tools that own them.

- the layers (`lint-imports`, contracts in pyproject.toml): the command line on
  top, then the servers, the game, progress, lessons, the lab, and the leaf
  modules; the lab, lessons and progress never import a UI or server library;
- types (`mypy`, settings in pyproject.toml);
- style (`ruff check`) and formatting (`ruff format --check`).

Each runs as the developer would run it, from the repository root.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: it comes with pip install -e '.[test]'")
    return found


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_layers_hold() -> None:
    proc = _run(_tool("lint-imports"), "--no-cache")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_ruff_check() -> None:
    proc = _run(_tool("ruff"), "check", "tutor", "tests", "benchmarks")
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_types_check() -> None:
    proc = _run(sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / ".mypy_cache" / "linux"))
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_ruff_format() -> None:
    proc = _run(_tool("ruff"), "format", "--check", "tutor", "tests", "benchmarks")
    assert proc.returncode == 0, "run `ruff format tutor tests benchmarks`:\n" + proc.stdout[-4000:]
