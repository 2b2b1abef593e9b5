"""The Pythons on this machine the lab can run under, and choosing one (``--python``).

The runner child needs nothing but the standard library (a test checks its
import closure), and it runs the tutor's own source through ``PYTHONPATH``,
so any CPython 3.11+ on the machine can run a workload: a free-threaded
3.13t or 3.14t, a pyenv 3.12, a uv-managed 3.14. Nothing needs installing there.

Where it looks, in this order (the first of several paths to one binary wins):

1. this Python (``sys.executable``), the one the tutor was installed in;
2. ``TUTOR_PYTHONS``: directories (or executables) separated by ``os.pathsep``;
3. ``PATH``: ``python3``, ``python3.N`` and ``python3.Nt`` (pyenv's shims skipped:
   pyenv's versions are listed from their own folders);
4. pyenv: ``$PYENV_ROOT/versions/*/bin`` (default ``~/.pyenv``);
5. uv: ``$UV_PYTHON_INSTALL_DIR`` or ``~/.local/share/uv/python/*/bin``;
6. the tutor's cache of built interpreters, ``<user cache dir>/concurrency-tutor/pythons/*/bin``
   (``scripts/free-threaded-python`` builds or links one there);
7. Windows: the ``py`` launcher's list (``py -0p``).

Each candidate is asked about itself by a short subprocess, in parallel, each
with a time-out; one that cannot answer is listed with the reason, never fatal.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from tutor.errors import UsageError
from tutor.lab.registry import LESSON_TAGS

MIN_VERSION = (3, 11)
PROBE_TIMEOUT_S = 10.0
SEARCH_ENV = "TUTOR_PYTHONS"

_NAME = re.compile(r"^python3(\.\d+t?)?(\.exe)?$")
_PY_LINE = re.compile(r"^\s*-V:\S+\s+(?:\*\s+)?(.+\.exe)\s*$", re.IGNORECASE)
_SPEC = re.compile(r"^(?:python)?(3(?:\.\d+){1,2})(t?)$")

# Run with -I (no user site, no PYTHONPATH, no current directory): the answer is the interpreter's own.
_PROBE = r"""
import json, multiprocessing, platform, sys, sysconfig, importlib.util
import concurrent.futures as cf
check = getattr(sys, "_is_gil_enabled", None)
print(json.dumps({
    "executable": sys.executable,
    "version": platform.python_version(),
    "version_info": list(sys.version_info[:3]),
    "implementation": platform.python_implementation(),
    "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "gil_enabled": True if check is None else bool(check()),
    "default_start_method": multiprocessing.get_all_start_methods()[0],
    "interpreter_pool": hasattr(cf, "InterpreterPoolExecutor"),
    "psutil": importlib.util.find_spec("psutil") is not None,
}))
"""


@dataclass(frozen=True)
class Interpreter:
    """One Python found on this machine and what it said about itself."""

    path: str
    source: str
    """Where it was found: this, TUTOR_PYTHONS, PATH, pyenv, uv, cache, py launcher, or given."""
    version: str | None = None
    implementation: str | None = None
    free_threaded: bool | None = None
    """A free-threaded ("t") build: the GIL can be off."""
    gil_enabled: bool | None = None
    """Whether the GIL is on when it starts (a free-threaded build runs without, unless told otherwise)."""
    default_start_method: str | None = None
    interpreter_pool: bool = False
    """It has concurrent.futures.InterpreterPoolExecutor (3.14+): the ``interpreters`` strategy can run."""
    psutil: bool = False
    error: str | None = None
    """Why it cannot be used (no answer, too old, not CPython): listed, never fatal."""
    version_info: tuple[int, ...] = ()

    @property
    def usable(self) -> bool:
        return self.error is None

    @property
    def label(self) -> str:
        """How a learner names it: "3.13.5t" for a free-threaded build, "3.11.7" otherwise."""
        if self.version is None:
            return Path(self.path).name
        return self.version + ("t" if self.free_threaded else "")

    @property
    def is_this(self) -> bool:
        return same_file(self.path, sys.executable)

    def describe(self) -> str:
        """One line: label, GIL state and path."""
        if self.error:
            return f"{self.path} ({self.error})"
        gil = "GIL off" if self.gil_enabled is False else "GIL on"
        return f"{self.label} ({gil}) at {self.path}"

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["version_info"] = list(self.version_info)
        data["label"] = self.label
        return data


def same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def cache_dir() -> Path:
    """Where built (or linked) interpreters live: ``<user cache dir>/concurrency-tutor/pythons``."""
    from platformdirs import user_cache_path

    return user_cache_path("concurrency-tutor", appauthor=False) / "pythons"


def _executables(directory: Path) -> Iterator[Path]:
    """python3, python3.N and python3.Nt in one directory, newest names first."""
    try:
        names = sorted((p.name for p in directory.iterdir() if _NAME.match(p.name)), reverse=True)
    except OSError:
        return
    for name in names:
        path = directory / name
        if os.access(path, os.X_OK) and path.is_file():
            yield path


def _bins(root: Path) -> Iterator[Path]:
    """``root/*/bin`` (and ``root/*`` on Windows, where python.exe sits at the top)."""
    try:
        children = sorted(root.iterdir())
    except OSError:
        return
    for child in children:
        yield child / "bin"
        if sys.platform == "win32":
            yield child


def candidates() -> Iterator[tuple[Path, str]]:
    """(path, source) of every Python worth asking, in the order of the module docstring."""
    yield Path(sys.executable), "this"
    for entry in filter(None, os.environ.get(SEARCH_ENV, "").split(os.pathsep)):
        path = Path(entry).expanduser()
        if path.is_file():
            yield path, SEARCH_ENV
        else:
            for directory in (path, path / "bin", *_bins(path)):
                for exe in _executables(directory):
                    yield exe, SEARCH_ENV
    for entry in filter(None, os.environ.get("PATH", "").split(os.pathsep)):
        if "pyenv" in entry and entry.rstrip("/\\").endswith("shims"):
            continue  # shims run whatever version pyenv selects: the versions are listed below
        for exe in _executables(Path(entry)):
            yield exe, "PATH"
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    for directory in _bins(pyenv):
        for exe in _executables(directory):
            yield exe, "pyenv"
    uv_root = os.environ.get("UV_PYTHON_INSTALL_DIR")
    if uv_root:
        uv = Path(uv_root)
    else:
        data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        uv = Path(data_home) / "uv" / "python"
    for directory in _bins(uv):
        for exe in _executables(directory):
            yield exe, "uv"
    for directory in _bins(cache_dir()):
        for exe in _executables(directory):
            yield exe, "cache"
    if sys.platform == "win32" and shutil.which("py"):
        yield from ((p, "py launcher") for p in _py_launcher())


def _py_launcher() -> list[Path]:
    try:
        out = subprocess.run(
            ["py", "-0p"], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    # Lines like " -V:3.13t *        C:\\Program Files\\Python313\\python3.13t.exe" (* = the default).
    found = (_PY_LINE.match(line) for line in out.splitlines())
    return [Path(m.group(1)) for m in found if m]


def _unique(found: Iterable[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """One entry per binary (python3 and python3.11 are often one file): the first path found."""
    seen: set[str] = set()
    out = []
    for path, source in found:
        try:
            key = str(path.resolve())
        except OSError:
            key = str(path)
        if key not in seen:
            seen.add(key)
            out.append((path, source))
    return out


def probe(path: str | os.PathLike[str], source: str = "given") -> Interpreter:
    """Ask one Python about itself (a short subprocess with a time-out); never raises."""
    path = str(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        proc = subprocess.run(
            [path, "-I", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return Interpreter(path, source, error=f"no answer within {PROBE_TIMEOUT_S:g} s")
    except OSError as exc:
        return Interpreter(path, source, error=f"cannot start: {exc.strerror or exc}")
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        lines = [ln for ln in (proc.stderr or "").splitlines() if ln.strip()]
        why = lines[-1].strip()[:120] if lines else f"exit status {proc.returncode}"
        return Interpreter(path, source, error=f"not a working Python 3: {why}")
    found = Interpreter(
        path=path,
        source=source,
        version=str(data["version"]),
        implementation=str(data["implementation"]),
        free_threaded=bool(data["free_threaded"]),
        gil_enabled=bool(data["gil_enabled"]),
        default_start_method=str(data["default_start_method"]),
        interpreter_pool=bool(data["interpreter_pool"]),
        psutil=bool(data["psutil"]),
        version_info=tuple(int(x) for x in data["version_info"]),
    )
    problem = unusable_because(found)
    if problem:
        return Interpreter(**{**asdict(found), "error": problem})
    return found


def unusable_because(found: Interpreter) -> str | None:
    """Why the lab cannot run under it, or None."""
    if found.version_info and tuple(found.version_info[:2]) < MIN_VERSION:
        return f"Python {found.version}: too old, the lab needs {MIN_VERSION[0]}.{MIN_VERSION[1]}+"
    if found.implementation != "CPython":
        return f"{found.implementation} {found.version}: the lab runs under CPython only"
    from tutor.lab.platform import HAS_PROC

    if not HAS_PROC and not found.psutil and not found.is_this:
        # Off Linux's /proc the runner samples through psutil (tutor.lab.sampler).
        return f"Python {found.version} has no psutil, which the lab needs on this platform (pip install psutil)"
    return None


def discover(free_threaded_names: bool = False) -> list[Interpreter]:
    """Every Python found, each probed (in parallel); this one first, broken ones with their error.

    ``free_threaded_names``: only this one and ``python3.Nt`` executables (every
    free-threaded install has one): what the game needs, in a fraction of the time.
    """
    found = _unique(candidates())
    if free_threaded_names:
        found = [
            (p, s) for p, s in found if s == "this" or p.name.removesuffix(".exe").endswith("t")
        ]
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(found)))) as pool:
        probed = list(pool.map(lambda item: probe(*item), found))
    # python3.13 and python3.13t of one install may be two copies of one build: list it once.
    seen: set[tuple[str, str]] = set()
    out = []
    for item in probed:
        key = (os.path.dirname(item.path), item.label)
        if item.version is None or key not in seen:
            seen.add(key)
            out.append(item)
    return out


@functools.lru_cache(maxsize=32)
def probed(path: str) -> Interpreter:
    """:func:`probe`, asked once per path per process (runs of one comparison ask again and again)."""
    return probe(path)


def interpreter_pool_problem(python: str | None) -> str | None:
    """Why the ``interpreters`` strategy cannot run under ``python`` (None: this one), or None."""
    if python is None or same_file(python, sys.executable):
        import concurrent.futures

        has_pool = hasattr(concurrent.futures, "InterpreterPoolExecutor")
        version = ".".join(map(str, sys.version_info[:3]))
    else:
        found = probed(python)
        has_pool, version = found.interpreter_pool, found.version or python
    if has_pool:
        return None
    return (
        f"the interpreters strategy needs concurrent.futures.InterpreterPoolExecutor (Python 3.14+); "
        f"Python {version} has none: choose a 3.14 with --python"
    )


HOW_TO_GET_FREE_THREADED = (
    "python.org's installer for macOS or Windows (tick 'free-threaded binaries'), "
    "uv python install 3.14t, or pyenv install 3.13t"
)

_found_lock = threading.Lock()
_found: list[Interpreter] | None = None


def discovered(refresh: bool = False) -> list[Interpreter]:
    """The free-threaded Pythons (and this one), found once per process: the game asks from several screens."""
    global _found
    with _found_lock:
        if _found is None or refresh:
            _found = discover(free_threaded_names=True)
        return _found


def lesson_pythons(tags: Iterable[str]) -> dict[str, str]:
    """tag -> interpreter path for a challenge's ``@gil`` / ``@ft`` choices.

    Raises ValueError with one sentence saying what is missing and how to get it.
    """
    wanted = set(tags)
    unknown = wanted - set(LESSON_TAGS)
    if unknown:
        raise ValueError(
            f"unknown interpreter tag {sorted(unknown)[0]!r}; tags: {', '.join(LESSON_TAGS)}"
        )
    out: dict[str, str] = {}
    found = discovered() if "ft" in wanted else []
    if "gil" in wanted:
        if _this_has_gil():
            out["gil"] = sys.executable
        else:
            # The tutor runs on a free-threaded Python: look everywhere for one with a GIL.
            others = discover()
            hit = next(
                (f for f in others if f.usable and f.gil_enabled and not f.free_threaded), None
            )
            if hit is None:
                raise ValueError(
                    "no Python with the GIL found on this machine (the tutor runs on a free-threaded one)"
                )
            out["gil"] = hit.path
    if "ft" in wanted:
        hit = next(
            (f for f in found if f.usable and f.free_threaded and f.gil_enabled is False), None
        )
        if hit is None:
            raise ValueError(
                f"no free-threaded Python found on this machine; get one: {HOW_TO_GET_FREE_THREADED}"
            )
        out["ft"] = hit.path
    return out


def _this_has_gil() -> bool:
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def _matches(found: Interpreter, version: str, free_threaded: bool) -> bool:
    if not found.usable or found.version is None or bool(found.free_threaded) != free_threaded:
        return False
    return found.version == version or found.version.startswith(version + ".")


def resolve(spec: str, found: list[Interpreter] | None = None) -> Interpreter:
    """The Python ``--python SPEC`` names: a path, a command on PATH, or a version ("3.13t", "3.12").

    A version's trailing ``t`` asks for a free-threaded build; without it, a
    build with the GIL. Raises UsageError (one line naming what was found) when
    there is none, when it does not work, or when it is older than 3.11.
    """
    spec = spec.strip()
    match = _SPEC.match(spec)
    looks_like_path = (
        os.sep in spec or (os.altsep is not None and os.altsep in spec) or spec.startswith(".")
    )
    if match and not looks_like_path:
        found = discover() if found is None else found
        version, t = match.group(1), bool(match.group(2))
        hit = next((f for f in found if _matches(f, version, t)), None)
        old = next(
            (
                f
                for f in found
                if f.version and f.error and (f.version + ".").startswith(version + ".")
            ),
            None,
        )
        if (
            hit is None
            and old is not None
            and old.version_info
            and tuple(old.version_info[:2]) < MIN_VERSION
        ):
            raise UsageError(f"--python {spec}: {old.path} is {old.error}")
        if hit is None:
            raise UsageError(f"no Python {spec} found; {_found_line(found)}")
        return hit
    path = spec if looks_like_path else (shutil.which(spec) or spec)
    if not os.path.exists(path):
        found = discover() if found is None else found
        raise UsageError(f"--python {spec}: no such file or command; {_found_line(found)}")
    chosen = probe(path)
    if chosen.error:
        if chosen.version_info and tuple(chosen.version_info[:2]) < MIN_VERSION:
            raise UsageError(f"--python {spec}: {chosen.error}")
        found = discover() if found is None else found
        raise UsageError(f"--python {spec}: {chosen.error}; {_found_line(found)}")
    return chosen


def _found_line(found: list[Interpreter]) -> str:
    usable = [f for f in found if f.usable]
    if not usable:
        return "found no usable Python 3.11+"
    return "found: " + ", ".join(f"{f.label} ({f.path})" for f in usable)
