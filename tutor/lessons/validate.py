"""Turn YAML (front matter and fenced blocks) into lesson objects, collecting errors.

YAML is composed into nodes rather than loaded into plain dicts: nodes keep
their line and column, so every message can point at the exact key or value
in the lesson file. The checks never stop at the first problem.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, cast

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tutor.lab.registry import (
    LESSON_TAGS,
    MAX_WORKERS,
    MEASURES,
    SCENARIOS,
    START_METHODS,
    STRATEGIES,
    ScenarioInfo,
)
from tutor.lessons import expression
from tutor.lessons.expression import Situation, SpeedupFormula
from tutor.lessons.includes import IncludeProblem, resolve
from tutor.lessons.model import (
    Challenge,
    Choice,
    Expectation,
    Include,
    LessonError,
    LessonHeader,
    Measure,
    Prediction,
    QuizChoice,
    QuizKind,
    QuizQuestion,
)

T = TypeVar("T")

try:  # libyaml is several times faster; the pure-Python loader gives the same marks
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_EXTRA_BREAKS = str.maketrans({"\r": " ", "\x85": " ", "\u2028": " ", "\u2029": " "})

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"

FRONT_REQUIRED = ("id", "title", "order", "summary", "topics", "minutes")
FRONT_KEYS = (*FRONT_REQUIRED, "language")
CHALLENGE_REQUIRED = ("id", "scenario", "question", "choices", "explain")
CHALLENGE_KEYS = (
    "id", "scenario", "params", "story", "question", "choices", "measure",
    "predict", "expect", "explain", "differs", "hint",
)  # fmt: skip
QUIZ_REQUIRED = ("id", "question", "choices")
QUIZ_KEYS = ("id", "kind", "question", "choices", "hint")
PREDICTIONS = ("speedup",)
QUIZ_KINDS = ("single", "multiple")
COMMON_PARAMS = ("tasks", "workers", "start_method", "preset")


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return {
        _INT: "a number",
        _FLOAT: "a number",
        _BOOL: "true/false",
        _NULL: "nothing",
        _STR: "text",
    }.get(node.tag, f"a {node.tag.rsplit(':', 1)[-1]}")


def _suggest(word: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(allowed), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


@dataclass
class IdSite:
    """Where an id was declared, for the cross-file duplicate check."""

    namespace: str  # "lesson" or "block" (challenges and quiz questions share one)
    id: str
    path: Path
    line: int
    column: int


@dataclass
class Doc:
    """One YAML text inside a lesson file and where it sits in that file."""

    path: Path
    errors: list[LessonError]
    first_line: int
    """File line of the YAML text's first line."""
    indent: int = 0
    """Columns removed from each YAML line (an indented fence)."""
    last_line: int | None = None
    ids: list[IdSite] = field(default_factory=list)

    # -- positions -------------------------------------------------------

    def where(self, node: Node | tuple[int, int]) -> tuple[int, int]:
        if isinstance(node, tuple):
            return node
        return self.mark(node.start_mark.line, node.start_mark.column)

    def mark(self, line0: int, column0: int) -> tuple[int, int]:
        line = self.first_line + max(line0, 0)
        if self.last_line is not None:
            # YAML also breaks lines at U+2028 and friends; never point outside the block.
            line = min(line, self.last_line)
        return max(line, 1), max(column0, 0) + self.indent + 1

    def error(self, where: Node | tuple[int, int], message: str) -> None:
        line, column = self.where(where)
        self.errors.append(LessonError(self.path, line, column, message))

    # -- YAML ------------------------------------------------------------

    def compose(self, text: str, what: str) -> Node | None:
        # YAML also breaks lines at a lone CR, NEL, U+2028 and U+2029; as blanks they
        # keep YAML's line numbers equal to the file's ('\n'-counted) ones.
        text = text.translate(_EXTRA_BREAKS)
        try:
            return yaml.compose(text, Loader=_Loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = self.mark(mark.line, mark.column) if mark else self.mark(0, 0)
            problem = exc.problem or exc.context or "cannot be read"
            context = ""
            if exc.context and exc.problem:
                context = f" ({exc.context}"
                if exc.context_mark and mark and exc.context_mark.line != mark.line:
                    context += f" that starts on line {self.mark(exc.context_mark.line, 0)[0]}"
                context += ")"
            self.error(where, f"bad YAML in {what}: {problem}{context}")
        except yaml.YAMLError as exc:
            self.error(self.mark(0, 0), f"bad YAML in {what}: {exc}")
        return None

    def value(self, node: ScalarNode) -> object:
        try:
            return SafeConstructor().construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            self.error(node, f"cannot read this value ({exc}); put text in quotes")
            return None

    def fields(
        self,
        node: Node,
        what: str,
        allowed: tuple[str, ...],
        required: tuple[str, ...] = (),
        anchor: tuple[int, int] | None = None,
    ) -> dict[str, tuple[ScalarNode, Node]] | None:
        """Check a mapping's keys: all known, none twice, the required ones present."""
        if not isinstance(node, MappingNode):
            self.error(
                node,
                f"{what} must be a mapping of keys ({', '.join(allowed)}), not {_describe(node)}",
            )
            return None
        out: dict[str, tuple[ScalarNode, Node]] = {}
        suggested: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.error(
                    key_node, f"keys in {what} must be plain words, not {_describe(key_node)}"
                )
                continue
            key = str(key_node.value)
            if key in out:
                first = self.where(out[key][0])[0]
                self.error(
                    key_node, f"duplicate key '{key}' in {what} (first given on line {first})"
                )
                continue
            if key not in allowed:
                self.error(
                    key_node,
                    f"unknown key '{key}' in {what}; {_suggest(key, allowed)}allowed: {', '.join(allowed)}",
                )
                suggested.update(difflib.get_close_matches(key, allowed, n=1, cutoff=0.6))
                continue
            out[key] = (key_node, value_node)
        for key in required:
            # A misspelt key was already reported with this one as the suggestion.
            if key not in out and key not in suggested:
                self.error(anchor or node, f"{what} is missing the required key '{key}'")
        return out

    def text(self, node: Node, what: str, *, allow_empty: bool = False) -> str | None:
        if isinstance(node, ScalarNode) and node.tag == _STR:
            value = str(node.value)
            if not allow_empty and not value.strip():
                self.error(node, f"{what} must not be empty")
                return None
            return value
        hint = "; put it in quotes to use it as text" if isinstance(node, ScalarNode) else ""
        self.error(node, f"{what} must be text, not {_describe(node)}{hint}")
        return None

    def choice(
        self, node: Node, what: str, allowed: Iterable[str], kind: str = "value"
    ) -> str | None:
        allowed = tuple(allowed)
        value = self.text(node, what)
        if value is None:
            return None
        if value not in allowed:
            where = f" for {what}" if what != kind else ""
            self.error(
                node,
                f"unknown {kind} '{value}'{where}; {_suggest(value, allowed)}allowed: {', '.join(allowed)}",
            )
            return None
        return value

    def integer(
        self, node: Node, what: str, low: int | None = None, high: int | None = None
    ) -> int | None:
        value = self.value(node) if isinstance(node, ScalarNode) and node.tag == _INT else None
        if not isinstance(value, int) or isinstance(value, bool):
            if not (isinstance(node, ScalarNode) and node.tag == _INT):
                self.error(node, f"{what} must be a whole number, not {_describe(node)}")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            rng = f"from {low} to {high}" if high is not None else f"at least {low}"
            self.error(node, f"{what} must be {rng}, not {value}")
            return None
        return value

    def number(self, node: Node, what: str) -> float | int | None:
        if isinstance(node, ScalarNode) and node.tag in (_INT, _FLOAT):
            value = self.value(node)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value
            return None
        self.error(node, f"{what} must be a number, not {_describe(node)}")
        return None

    def boolean(self, node: Node, what: str) -> bool | None:
        if isinstance(node, ScalarNode) and node.tag == _BOOL:
            value = self.value(node)
            if isinstance(value, bool):
                return value
        self.error(node, f"{what} must be true or false, not {_describe(node)}")
        return None

    def text_list(self, node: Node, what: str) -> tuple[str, ...] | None:
        if not isinstance(node, SequenceNode):
            self.error(
                node, f"{what} must be a list of text, e.g. [threads, gil], not {_describe(node)}"
            )
            return None
        items = [self.text(item, f"each item of {what}") for item in node.value]
        if any(item is None for item in items):
            return None
        return tuple(item for item in items if item is not None)

    def ident(self, node: Node, what: str, namespace: str) -> str | None:
        value = self.text(node, what)
        if value is None:
            return None
        if not SLUG.match(value):
            self.error(node, f"{what} '{value}' must use only a-z, 0-9 and '-' (e.g. 'kitchen-q1')")
            return None
        line, column = self.where(node)
        self.ids.append(IdSite(namespace, value, self.path, line, column))
        return value


# -- front matter -------------------------------------------------------------


@dataclass(frozen=True)
class Front(LessonHeader):
    order_line: int


def front_matter(doc: Doc, text: str) -> Front | None:
    node = doc.compose(text, "the front matter")
    if node is None:
        if not doc.errors:
            doc.error(
                (1, 1), f"the front matter is empty; expected the keys {', '.join(FRONT_REQUIRED)}"
            )
        return None
    keys = doc.fields(node, "the front matter", FRONT_KEYS, FRONT_REQUIRED, anchor=(1, 1))
    if keys is None:
        return None
    get = {k: v for k, (_, v) in keys.items()}
    values = {
        "id": doc.ident(get["id"], "lesson id", "lesson") if "id" in get else None,
        "title": doc.text(get["title"], "title") if "title" in get else None,
        "order": doc.integer(get["order"], "order") if "order" in get else None,
        "summary": doc.text(get["summary"], "summary") if "summary" in get else None,
        "topics": doc.text_list(get["topics"], "topics") if "topics" in get else None,
        "minutes": doc.integer(get["minutes"], "minutes", 1, 600) if "minutes" in get else None,
    }
    language = "en"
    if "language" in get:
        lang = doc.text(get["language"], "language")
        if lang is not None and not LANGUAGE.match(lang):
            doc.error(
                get["language"],
                f"language '{lang}' must be a language code such as 'en' or 'pt-BR'",
            )
            lang = None
        language = lang or "en"
    if any(v is None for v in values.values()):
        return None
    return Front(
        language=language,
        order_line=doc.where(get["order"])[0],
        **values,  # type: ignore[arg-type]
    )


# -- blocks -------------------------------------------------------------------


def challenge(doc: Doc, node: Node, open_at: tuple[int, int]) -> Challenge | None:
    keys = doc.fields(node, "the challenge", CHALLENGE_KEYS, CHALLENGE_REQUIRED, anchor=open_at)
    if keys is None:
        return None
    get = {k: v for k, (_, v) in keys.items()}
    ok = True

    def need(value: T) -> T:
        nonlocal ok
        if value is None:
            ok = False
        return value

    cid = need(doc.ident(get["id"], "challenge id", "block")) if "id" in get else None
    info: ScenarioInfo | None = None
    if "scenario" in get:
        name = need(doc.choice(get["scenario"], "scenario", SCENARIOS, "scenario"))
        info = SCENARIOS.get(name) if isinstance(name, str) else None
    question = need(doc.text(get["question"], "question")) if "question" in get else None
    params = _params(doc, get["params"], info) if "params" in get else {}
    if params is None:
        ok = False
    story = need(doc.text(get["story"], "story")) if "story" in get else None
    differs = need(doc.text(get["differs"], "differs")) if "differs" in get else None
    hint = need(doc.text(get["hint"], "hint")) if "hint" in get else None
    measure = (
        need(doc.choice(get["measure"], "measure", info.measures if info else MEASURES, "measure"))
        if "measure" in get
        else "wall_s"
    )

    allowed_strategies = info.strategies if info else STRATEGIES
    choices = (
        _challenge_choices(doc, get["choices"], allowed_strategies, info, keys["choices"][0])
        if "choices" in get
        else None
    )
    if choices is None:
        ok = False
    strategies = tuple(c.strategy for c in choices or ())

    predict = None
    if "predict" in get:
        predict = need(doc.choice(get["predict"], "predict", PREDICTIONS, "prediction"))
        if predict == "speedup" and info is not None and "sequential" not in info.strategies:
            doc.error(
                get["predict"],
                f"predict: speedup needs a scenario with a 'sequential' strategy to compare with; "
                f"'{info.name}' has: {', '.join(info.strategies)}",
            )
            ok = False

    expect = None
    if "expect" in get:
        expect = _expectation(
            doc,
            get["expect"],
            strategies,
            allowed_strategies,
            lambda: _situations(info, params or {}),
        )
        if expect is None:
            ok = False

    explain = (
        _explanations(doc, get["explain"], strategies, keys["explain"][0])
        if "explain" in get
        else None
    )
    if explain is None:
        ok = False

    if not ok or cid is None or question is None or choices is None or explain is None:
        return None
    return Challenge(
        id=cid,
        scenario=info.name if info else "",
        question=question,
        choices=choices,
        explain=explain,
        params=params or {},
        story=story,
        measure=cast(Measure, measure),  # one of MEASURES: doc.choice checked it
        predict=cast(Prediction | None, predict),
        expect=expect,
        differs=differs,
        hint=hint,
        line=open_at[0],
    )


def _params(doc: Doc, node: Node, info: ScenarioInfo | None) -> dict[str, float | int | str] | None:
    if info is None:
        # The scenario is unknown (already reported): its parameters cannot be checked.
        if not isinstance(node, MappingNode):
            doc.error(node, f"params must be a mapping such as {{tasks: 4}}, not {_describe(node)}")
        return {}
    allowed = (*COMMON_PARAMS, *(p.name for p in info.params))
    keys = doc.fields(node, f"params of scenario '{info.name}'", allowed)
    if keys is None:
        return None
    out: dict[str, float | int | str] = {}
    ok = True
    for key, (_, value_node) in keys.items():
        value: float | int | str | None
        if key == "tasks":
            value = doc.integer(value_node, "tasks", 1, info.max_tasks)
        elif key == "workers":
            value = doc.integer(value_node, "workers", 1, MAX_WORKERS)
        elif key == "start_method":
            value = doc.choice(value_node, "start_method", START_METHODS, "start method")
        elif key == "preset":
            if info.presets:
                value = doc.choice(value_node, "preset", info.presets, "preset")
            else:
                doc.error(value_node, f"scenario '{info.name}' has no presets")
                value = None
        else:
            spec = info.param(key)
            assert spec is not None
            value = doc.number(value_node, key)
            if value is not None:
                problem = spec.check(value)
                if problem:
                    doc.error(value_node, problem)
                    value = None
        if value is None:
            ok = False
        else:
            out[key] = value
    return out if ok else None


def _challenge_choices(
    doc: Doc,
    node: Node,
    allowed: tuple[str, ...],
    info: ScenarioInfo | None,
    key_node: Node,
) -> tuple[Choice, ...] | None:
    if not isinstance(node, SequenceNode):
        doc.error(node, f"choices must be a list of {{strategy, label}}, not {_describe(node)}")
        return None
    if len(node.value) < 2:
        doc.error(key_node, f"a challenge needs at least 2 choices, found {len(node.value)}")
    where = f"scenario '{info.name}'" if info else "the lab"
    seen: dict[str, int] = {}
    out: list[Choice] = []
    ok = len(node.value) >= 2
    for item in node.value:
        keys = doc.fields(item, "a challenge choice", ("strategy", "label"), ("strategy", "label"))
        if keys is None:
            ok = False
            continue
        strategy = label = None
        if "strategy" in keys:
            sn = keys["strategy"][1]
            strategy = doc.text(sn, "strategy")
            # "threads@ft": the strategy under a named interpreter (tutor.lab.interpreters.LESSON_TAGS).
            base, at, tag = (strategy or "").partition("@")
            if strategy is not None and at and base in allowed and tag not in LESSON_TAGS:
                doc.error(
                    sn,
                    f"unknown interpreter '@{tag}' in '{strategy}'; allowed: "
                    + ", ".join(f"@{t} ({what})" for t, what in LESSON_TAGS.items()),
                )
                strategy = None
            elif strategy is not None and base not in allowed:
                doc.error(
                    sn,
                    f"unknown strategy '{strategy}' for {where}; {_suggest(strategy, allowed)}allowed: {', '.join(allowed)}",
                )
                strategy = None
            elif strategy is not None and strategy in seen:
                doc.error(
                    sn,
                    f"strategy '{strategy}' is already a choice (line {seen[strategy]}); each choice needs its own strategy",
                )
                strategy = None
            elif strategy is not None:
                seen[strategy] = doc.where(sn)[0]
        if "label" in keys:
            label = doc.text(keys["label"][1], "label")
        if strategy is None or label is None:
            ok = False
            continue
        out.append(Choice(strategy, label))
    return tuple(out) if ok else None


def _expectation(
    doc: Doc,
    node: Node,
    strategies: tuple[str, ...],
    allowed: tuple[str, ...],
    samples: Callable[[], list[Situation]],
) -> Expectation | None:
    keys = doc.fields(node, "expect", ("winner", "speedup"), ("winner",))
    if keys is None:
        return None
    winner = None
    ok = "winner" in keys
    if "winner" in keys:
        wn = keys["winner"][1]
        winner = doc.text(wn, "expect.winner")
        if winner is not None and strategies and winner not in strategies:
            doc.error(
                wn,
                f"expect.winner '{winner}' is not one of the choices; {_suggest(winner, strategies)}choices: {', '.join(strategies)}",
            )
            winner = None
        ok = ok and winner is not None
    speedup: dict[str, SpeedupFormula] = {}
    if "speedup" in keys:
        sn = keys["speedup"][1]
        sk = doc.fields(sn, "expect.speedup", allowed) if not _cut_at_commas(doc, sn) else None
        if sk is None:
            ok = False
        else:
            for strategy, (_, vn) in sk.items():
                formula = _speedup_formula(doc, vn, strategy, samples)
                if formula is None:
                    ok = False
                else:
                    speedup[strategy] = formula
    if not ok or winner is None:
        return None
    return Expectation(winner, speedup)


MAX_SPEEDUP = 1000


def _situations(info: ScenarioInfo | None, params: dict[str, float | int | str]) -> list[Situation]:
    """Machines and runs an expected speedup must make sense for: from 1 core to 256,
    the challenge's own sizes and the quick ones `tutor lint --run` uses."""
    tasks: set[int] = {1}
    if info is not None:
        preset = info.presets.get(str(params.get("preset")), {})
        tasks |= {int(preset.get("tasks", info.tasks)), info.quick_tasks}
    if isinstance(params.get("tasks"), int):
        tasks.add(int(params["tasks"]))
    workers = {1, 32, *tasks}
    if isinstance(params.get("workers"), int):
        workers.add(int(params["workers"]))
    return [
        Situation(cores=c, tasks=t, workers=w)
        for c in (1, 2, 3, 4, 8, 64, 256)
        for t in sorted(tasks)
        for w in sorted(workers)
    ]


def _cut_at_commas(doc: Doc, node: Node) -> bool:
    """`{processes: min(tasks, cores)}` is cut by YAML at the comma: say so plainly."""
    if not (isinstance(node, MappingNode) and node.flow_style):
        return False
    for key_node, value_node in node.value:
        for part in (key_node, value_node):
            if isinstance(part, ScalarNode) and str(part.value).count("(") != str(part.value).count(
                ")"
            ):
                doc.error(
                    part,
                    f"the expression '{part.value}' is cut at a comma: inside {{...}} put each "
                    "expression in quotes, or write one strategy per line under 'speedup:'",
                )
                return True
    return False


def _speedup_formula(
    doc: Doc, node: Node, strategy: str, samples: Callable[[], list[Situation]]
) -> SpeedupFormula | None:
    what = f"expected speedup of {strategy}"
    if isinstance(node, ScalarNode) and node.tag in (_INT, _FLOAT):
        value = doc.number(node, what)
        if value is None:
            return None
        if not (0 < value <= MAX_SPEEDUP):
            doc.error(node, f"{what} must be above 0 and at most {MAX_SPEEDUP}, not {value:g}")
            return None
        return expression.constant(float(value), str(node.value))
    if not (isinstance(node, ScalarNode) and node.tag == _STR):
        doc.error(node, f"{what} must be {expression.ALLOWED}; not {_describe(node)}")
        return None
    text = str(node.value)
    try:
        formula = expression.parse(text)
    except expression.ExpressionError as exc:
        line, column = doc.where(node)
        # (A plain scalar's style is None in PyYAML's loader and '' in libyaml's.)
        if not node.style and node.start_mark.line == node.end_mark.line:
            column += exc.column + (len(text) - len(text.lstrip()))  # a plain scalar: point into it
        doc.error((line, column), f"{what}: {exc}")
        return None
    for (
        situation
    ) in samples():  # (only a formula is tried on many machines; a number is checked above)
        try:
            value = formula.at(situation)
        except expression.ExpressionError as exc:
            doc.error(node, f"{what}: {exc}")
            return None
        if value > MAX_SPEEDUP:
            doc.error(
                node,
                f"{what}: '{text}' gives {value:g} with cores={situation.cores}, "
                f"tasks={situation.tasks}, workers={situation.workers}; at most {MAX_SPEEDUP}",
            )
            return None
    return formula


def _explanations(
    doc: Doc, node: Node, strategies: tuple[str, ...], key_node: Node
) -> dict[str, str] | None:
    if not isinstance(node, MappingNode):
        doc.error(
            node,
            f"explain must map each choice's strategy to a text ({', '.join(strategies) or 'strategy: text'}), not {_describe(node)}",
        )
        return None
    # Only the choices' strategies are allowed: a text for a strategy no choice uses would never show.
    allowed = strategies or STRATEGIES
    keys = doc.fields(node, "explain", allowed)
    if keys is None:
        return None
    out: dict[str, str] = {}
    ok = True
    for strategy, (_, vn) in keys.items():
        text = doc.text(vn, f"explain.{strategy}")
        if text is None:
            ok = False
        else:
            out[strategy] = text
    missing = [s for s in strategies if s not in keys]
    if missing:
        doc.error(
            key_node,
            f"explain has no text for {', '.join(missing)}: every choice's strategy needs one (shown when it measures best)",
        )
        ok = False
    return out if ok else None


def quiz(doc: Doc, node: Node, open_at: tuple[int, int]) -> QuizQuestion | None:
    keys = doc.fields(node, "the quiz question", QUIZ_KEYS, QUIZ_REQUIRED, anchor=open_at)
    if keys is None:
        return None
    get = {k: v for k, (_, v) in keys.items()}
    qid = doc.ident(get["id"], "quiz id", "block") if "id" in get else None
    kind = doc.choice(get["kind"], "kind", QUIZ_KINDS, "quiz kind") if "kind" in get else "single"
    question = doc.text(get["question"], "question") if "question" in get else None
    hint = doc.text(get["hint"], "hint") if "hint" in get else None
    bad_hint = "hint" in get and hint is None
    choices = (
        _quiz_choices(doc, get["choices"], kind, keys["choices"][0]) if "choices" in get else None
    )
    if qid is None or kind is None or question is None or choices is None or bad_hint:
        return None
    return QuizQuestion(
        id=qid,
        question=question,
        choices=choices,
        kind=cast(QuizKind, kind),  # one of QUIZ_KINDS: doc.choice checked it
        hint=hint,
        line=open_at[0],
    )


def _quiz_choices(
    doc: Doc, node: Node, kind: str | None, key_node: Node
) -> tuple[QuizChoice, ...] | None:
    if not isinstance(node, SequenceNode):
        doc.error(node, f"choices must be a list of {{text, correct, why}}, not {_describe(node)}")
        return None
    ok = True
    if len(node.value) < 2:
        doc.error(key_node, f"a quiz question needs at least 2 choices, found {len(node.value)}")
        ok = False
    out: list[QuizChoice] = []
    texts: dict[str, int] = {}
    correct_sites: list[Node] = []
    unreadable_correct = False
    for item in node.value:
        keys = doc.fields(item, "a quiz choice", ("text", "correct", "why"), ("text", "why"))
        if keys is None:
            ok = False
            continue
        text = doc.text(keys["text"][1], "text") if "text" in keys else None
        why = doc.text(keys["why"][1], "why") if "why" in keys else None
        correct: bool | None = False
        if "correct" in keys:
            correct = doc.boolean(keys["correct"][1], "correct")
            unreadable_correct = unreadable_correct or correct is None
            if correct:
                correct_sites.append(keys["correct"][1])
        if text is not None:
            if text in texts:
                doc.error(
                    keys["text"][1],
                    f"the same choice text appears twice (first on line {texts[text]})",
                )
                ok = False
            texts.setdefault(text, doc.where(keys["text"][1])[0])
        if text is None or why is None or correct is None:
            ok = False
            continue
        out.append(QuizChoice(text=text, why=why, correct=correct))
    if node.value and not correct_sites and not unreadable_correct:
        doc.error(
            key_node, "no choice is marked 'correct: true'; a quiz question needs a right answer"
        )
        ok = False
    if kind == "single" and len(correct_sites) > 1:
        doc.error(
            correct_sites[1],
            f"a 'single' question must have exactly one correct choice, found {len(correct_sites)}; "
            "use 'kind: multiple' for several",
        )
        ok = False
    return tuple(out) if ok else None


def include(doc: Doc, node: Node, open_at: tuple[int, int]) -> Include | None:
    keys = doc.fields(node, "the include", ("ref",), ("ref",), anchor=open_at)
    if keys is None or "ref" not in keys:
        return None
    rn = keys["ref"][1]
    ref = doc.text(rn, "ref")
    if ref is None:
        return None
    try:
        found = resolve(ref)
    except IncludeProblem as exc:
        doc.error(rn, f"broken include: {exc}")
        return None
    return Include(
        ref=ref,
        module=found.module,
        name=found.name,
        source=found.source,
        source_path=found.path,
        source_line=found.line,
        line=open_at[0],
    )
