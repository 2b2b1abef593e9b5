"""Expected speedups written as small formulas of the machine and the challenge.

A lesson's ``expect.speedup`` may be a number (``threads: 1.0``) or an
expression such as ``processes: 0.95 * min(tasks, cores)``, so the textbook
figure shown to a learner is the one for *their* machine, not for the 2-core
machine the course was written on.

The expression is parsed with :mod:`ast` and walked against a whitelist:
numbers, the names in :data:`NAMES`, the functions in :data:`FUNCTIONS`,
``+ - * /``, unary minus and parentheses. Nothing is ever passed to ``eval``,
so a lesson file (possibly from a stranger, in served mode) cannot run code.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass, field

NAMES = ("cores", "tasks", "workers")
"""cores: usable cores here; tasks, workers: what the strategy's run used."""
FUNCTIONS = ("min", "max")
MAX_LENGTH = 200
"""Longer texts are refused before parsing: a formula for a speedup is short."""
MAX_NUMBER = 1e6
"""No figure in a speedup formula is larger; larger ones are typos (and overflow floats)."""
MAX_NODES = 60
"""Bounds the walk, so no expression is expensive to check or to evaluate."""

ALLOWED = (
    f"a number, or an expression of {', '.join(NAMES)} with {', '.join(FUNCTIONS)}, "
    "numbers, + - * / and parentheses, e.g. min(tasks, cores)"
)
"""What may be written, said in every error so the author knows the whole grammar."""

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


class ExpressionError(ValueError):
    """An expression that is not allowed or cannot be evaluated; the message names what is."""

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.column = column
        """0-based offset in the expression's text where the problem starts."""


@dataclass(frozen=True)
class Situation:
    """What an expected speedup may depend on: this machine's cores and one strategy's run."""

    cores: int
    tasks: int
    workers: int


@dataclass(frozen=True)
class SpeedupFormula:
    """A parsed expected speedup: a constant or a formula; compare and hash by text."""

    text: str
    tree: ast.expr = field(compare=False, hash=False, repr=False)
    evaluate: Evaluator = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "evaluate", _compile(self.tree))

    @property
    def constant(self) -> float | None:
        """The value when it does not depend on the machine (a plain number)."""
        try:
            return self.evaluate(None)
        except _NeedsFacts:
            return None

    def at(self, facts: Situation) -> float:
        """The expected speedup on a machine; ExpressionError if it is not a positive number."""
        value = self.evaluate(facts)
        if not math.isfinite(value) or value <= 0:
            raise ExpressionError(
                f"'{self.text}' gives {value:g} with cores={facts.cores}, tasks={facts.tasks}, "
                f"workers={facts.workers}; an expected speedup must be above 0"
            )
        return value


def constant(value: float, text: str | None = None) -> SpeedupFormula:
    """A plain number as a formula (the validator's result for `threads: 2.1`)."""
    return SpeedupFormula(text or f"{value:g}", ast.Constant(float(value)))


def parse(text: str) -> SpeedupFormula:
    """Parse and check an expression; raises ExpressionError naming what is allowed."""
    text = text.strip()
    if not text:
        raise ExpressionError(f"an expected speedup must not be empty; allowed: {ALLOWED}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text)} characters long, more than {MAX_LENGTH}; allowed: {ALLOWED}"
        )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:  # (a null byte or deep nesting is a SyntaxError or ValueError)
        column = max((exc.offset or 1) - 1, 0)
        raise ExpressionError(
            f"cannot read the expression '{text}' ({exc.msg}); allowed: {ALLOWED}", column
        ) from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError(f"cannot read the expression; allowed: {ALLOWED}") from None
    nodes = list(ast.walk(tree.body))
    if len(nodes) > MAX_NODES:
        raise ExpressionError(
            f"the expression is too complex ({len(nodes)} parts); allowed: {ALLOWED}"
        )
    _check(tree.body)
    return SpeedupFormula(text, tree.body)


def _check(node: ast.expr) -> None:
    column = getattr(node, "col_offset", 0)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ExpressionError(f"{node.value!r} is not a number; allowed: {ALLOWED}", column)
        if not abs(node.value) <= MAX_NUMBER:  # (also refuses inf and nan)
            raise ExpressionError(
                f"{node.value:g} is too large: numbers go up to {MAX_NUMBER:g}", column
            )
        return
    if isinstance(node, ast.Name):
        if node.id not in NAMES:
            raise ExpressionError(f"unknown name '{node.id}'; allowed: {ALLOWED}", column)
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _OPERATORS:
            raise ExpressionError(
                f"'{ast.unparse(node)}' uses an operator that is not allowed; allowed: {ALLOWED}",
                column,
            )
        _check(node.left)
        _check(node.right)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        _check(node.operand)
        return
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            called = name or ast.unparse(node.func)
            raise ExpressionError(f"unknown function '{called}'; allowed: {ALLOWED}", column)
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError(f"{name}() takes plain values only; allowed: {ALLOWED}", column)
        if len(node.args) < 2:
            raise ExpressionError(
                f"{name}() needs at least 2 values, e.g. {name}(tasks, cores)", column
            )
        for arg in node.args:
            _check(arg)
        return
    raise ExpressionError(f"'{ast.unparse(node)}' is not allowed; allowed: {ALLOWED}", column)


class _NeedsFacts(Exception):
    """Raised while evaluating without facts when a name is met: not a constant."""


Evaluator = Callable[[Situation | None], float]


def _compile(node: ast.expr) -> Evaluator:
    """Turn a checked tree into nested closures once: evaluating it on the many
    machines the validator tries then costs a few function calls, no tree walk."""
    # Only the node types _check let through can be here.
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)
        value = float(node.value)
        return lambda facts: value
    if isinstance(node, ast.Name):
        name = node.id

        def lookup(facts: Situation | None) -> float:
            if facts is None:
                raise _NeedsFacts
            return float(getattr(facts, name))

        return lookup
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand)
        if isinstance(node.op, ast.USub):
            return lambda facts: -operand(facts)
        return operand
    if isinstance(node, ast.Call):
        args = [_compile(arg) for arg in node.args]
        pick = min if node.func.id == "min" else max  # type: ignore[attr-defined]
        return lambda facts: pick(arg(facts) for arg in args)
    assert isinstance(node, ast.BinOp)
    left, right = _compile(node.left), _compile(node.right)
    if isinstance(node.op, ast.Add):
        return lambda facts: left(facts) + right(facts)
    if isinstance(node.op, ast.Sub):
        return lambda facts: left(facts) - right(facts)
    if isinstance(node.op, ast.Mult):
        return lambda facts: left(facts) * right(facts)
    text = ast.unparse(node)

    def divide(facts: Situation | None) -> float:
        denominator = right(facts)
        if denominator == 0:
            raise ExpressionError(f"'{text}' divides by zero")
        return left(facts) / denominator

    return divide
