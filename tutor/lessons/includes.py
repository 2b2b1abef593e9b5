"""Resolve ``include`` blocks: show a function's real source, read with `ast`.

Nothing is imported or executed: the module file is located with the import
system's finders and parsed, so including a workload's source never runs the
workload (nor a package ``__init__`` with side effects).
"""

from __future__ import annotations

import ast
import difflib
import importlib.machinery
import importlib.util
import os
import re
import textwrap
import tokenize
from dataclasses import dataclass
from pathlib import Path

REF = re.compile(
    r"^(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):(?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)$"
)

_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


class IncludeProblem(Exception):
    """Why a reference cannot be shown; the message names what was expected."""


@dataclass(frozen=True)
class Resolved:
    module: str
    name: str
    source: str
    path: Path
    line: int


# Parsed modules, keyed by file identity so an edited module is parsed again.
_cache: dict[tuple[str, int, int], tuple[ast.Module, list[str]]] = {}


def module_file(module: str) -> Path:
    """The source file of `module`, found without importing it or its parents."""
    parts = module.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError, AttributeError) as exc:
        raise IncludeProblem(f"module '{module}' cannot be looked up: {exc}") from None
    for i in range(1, len(parts)):
        if spec is None:
            break
        where = spec.submodule_search_locations
        if where is None:
            raise IncludeProblem(
                f"module '{module}' not found: '{'.'.join(parts[:i])}' is a module, not a package"
            )
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), list(where))
    if spec is None:
        raise IncludeProblem(
            f"module '{module}' not found; expected an importable module such as 'tutor.paths'"
        )
    origin = spec.origin
    if not origin or not origin.endswith(".py"):
        raise IncludeProblem(
            f"module '{module}' has no Python source file to show (found {origin or 'a namespace package'})"
        )
    return Path(origin)


def _parse(path: Path) -> tuple[ast.Module, list[str]]:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise IncludeProblem(f"cannot read {path}: {exc.strerror}") from None
    key = (str(path), st.st_mtime_ns, st.st_size)
    hit = _cache.get(key)
    if hit is not None:
        return hit
    try:
        with tokenize.open(path) as f:
            source = f.read()
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise IncludeProblem(f"{path} has a syntax error on line {exc.lineno}: {exc.msg}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise IncludeProblem(f"cannot read {path}: {exc}") from None
    result = (tree, source.splitlines())
    _cache[key] = result
    return result


def _definitions(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    found: dict[str, ast.stmt] = {}
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    found.setdefault(t.id, node)
    return found


def resolve(ref: str) -> Resolved:
    """Find `module:name` (name may be `Class.method`) and return its source."""
    m = REF.match(ref.strip())
    if not m:
        raise IncludeProblem(
            f"include ref {ref!r} must look like 'module:name' (e.g. 'tutor.lab.scenarios.crunch:crunch_task')"
        )
    module, name = m["module"], m["name"]
    path = module_file(module)
    tree, lines = _parse(path)
    body: list[ast.stmt] = tree.body
    node: ast.stmt | None = None
    scope = module
    for part in name.split("."):
        defs = _definitions(body)
        node = defs.get(part)
        if node is None:
            callables = [k for k, v in defs.items() if isinstance(v, _Def)]
            close = difflib.get_close_matches(part, callables, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            if not close and callables:
                hint = f"; it defines: {', '.join(sorted(callables)[:12])}"
            raise IncludeProblem(f"'{scope}' has no function or class named '{part}'{hint}")
        if not isinstance(node, _Def):
            raise IncludeProblem(
                f"'{scope}.{part}' is a variable, not a function or class; include a def or class"
            )
        body = node.body
        scope = f"{scope}.{part}"
    assert isinstance(node, _Def)
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    end = node.end_lineno or node.lineno
    source = textwrap.dedent("\n".join(lines[start - 1 : end]))
    return Resolved(module=module, name=name, source=source, path=path, line=start)
