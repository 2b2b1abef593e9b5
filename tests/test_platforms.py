"""The game and the lab on every platform, checked from Linux.

Two proofs without a Windows or macOS machine: the modules import with the
POSIX-only attributes removed (a NameError or AttributeError at import is what
stops everything on Windows), and mypy, checking as if for win32 and darwin,
finds no use of an attribute those platforms lack.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HIDE_POSIX = """
import os, signal, sys
for name in ("SIGKILL", "SIGHUP"):
    delattr(signal, name)
for name in ("killpg", "getpgid"):
    delattr(os, name)
sys.modules["fcntl"] = None  # import fcntl now raises ImportError, as on Windows
"""

POSIX_ONLY = {"tutor/serve/ssh/", "tutor/serve/ptychild.py", "tutor/serve/room/channel.py"}
"""Documented POSIX-only (tutor/serve/__init__.py) and never imported on Windows (a
folder: every module in it):
``tutor serve ssh`` refuses there first. They count for darwin."""


IMPORT_ALL = """
import importlib, pkgutil, tutor
skip = {skip!r}
for m in pkgutil.walk_packages(tutor.__path__, "tutor."):
    if not any(m.name == s or m.name.startswith(s + ".") for s in skip) and not m.name.endswith("__main__"):
        importlib.import_module(m.name)
print("imported")
"""


@pytest.mark.parametrize("modules", ["named", "all"])
def test_modules_import_without_posix_only_attributes(modules):
    if modules == "named":  # the entry points of the CLI, the runner, the game and the store
        code = (
            "import tutor.cli, tutor.lab.runner, tutor.ui.app, tutor.progress\nprint('imported')\n"
        )
    else:
        # hostkey too: asyncssh picks fcntl by sys.platform, which hiding attributes cannot fake.
        # The room client (tutor join) runs on Windows with asyncssh's own Windows code: skipped likewise.
        asyncssh_users = {
            "tutor.serve.hostkey",
            "tutor.room.client",
            "tutor.room.mirror",
            "tutor.ui.joined",
        }
        skip = {
            p.removesuffix(".py").rstrip("/").replace("/", ".") for p in POSIX_ONLY
        } | asyncssh_users
        code = IMPORT_ALL.format(skip=skip)
    proc = subprocess.run(
        [sys.executable, "-c", HIDE_POSIX + code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0 and "imported" in proc.stdout, proc.stderr


def test_the_lab_runs_a_processes_workload_without_posix_only_attributes(tmp_path):
    # Beyond importing: a whole portable run (spawn workers, the store untouched)
    # with those attributes gone in the CLI, the runner and every worker.
    hide = tmp_path / "sitecustomize.py"
    hide.write_text(HIDE_POSIX)
    env = {
        **os.environ,
        "TUTOR_PLATFORM": "portable",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tutor",
            "run",
            "crunch",
            "--strategy",
            "processes",
            "--quick",
            "--no-probe",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"start_method": "spawn"' in proc.stdout


# mypy's message names the attribute, not the module: the source line says which.
ATTR_ERROR = re.compile(
    r'^(?P<path>[^:]+):(?P<line>\d+): error: Module has no attribute "(?P<attr>\w+)"'
)
PLATFORM_MODULES = ("os", "signal", "fcntl", "resource")


def platform_attribute_errors(target: str) -> list[str]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--platform",
            target,
            "--no-error-summary",
            "--cache-dir",
            str(ROOT / ".mypy_cache" / target),
            "tutor",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    found = []
    for line in proc.stdout.splitlines():
        m = ATTR_ERROR.match(line)
        if not m or (target == "win32" and any(m["path"].startswith(p) for p in POSIX_ONLY)):
            continue
        source = (ROOT / m["path"]).read_text().splitlines()[int(m["line"]) - 1]
        used = rf"\b({'|'.join(PLATFORM_MODULES)})\.{m['attr']}\b"
        if re.search(used, source) or re.search(rf"\bimport\b.*\b{m['attr']}\b", source):
            found.append(line)
    return found


@pytest.mark.timeout(900)
@pytest.mark.parametrize("target", ["win32", "darwin"])
def test_no_platform_attribute_is_missing_on(target):
    pytest.importorskip("mypy", reason="mypy is not installed (pip install -e '.[test]')")
    errors = platform_attribute_errors(target)
    assert not errors, "\n".join(errors)
