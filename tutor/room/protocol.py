"""The room protocol: what a joined game and the room server say to each other.

Transport: one SSH session channel on which the client requests the subsystem
:data:`SUBSYSTEM`; nothing else is ever opened (no pty, no shell, no
forwarding). On it, both sides write newline-delimited JSON objects, each at
most :data:`MAX_LINE` bytes, each with ``"v": VERSION``.

Client -> server::

    {"v": 1, "type": "hello", "client": "concurrency-tutor 0.1.0"}
    {"v": 1, "type": "report", "id": "<32 hex>", "at": 1764720000.0,
     "kind": "verdict" | "progress", "data": {...}}

Server -> client::

    {"v": 1, "type": "welcome", "name": "ada", "room": "concurrency-tutor"}
    {"v": 1, "type": "ack", "id": "..."}                  # stored (or already had it)
    {"v": 1, "type": "rejected", "id": "...", "reason": "..."}   # never valid: drop it
    {"v": 1, "type": "busy", "id": "...", "retry_after": 2.0}    # rate limit: send later
    {"v": 1, "type": "bye", "reason": "..."}              # the server closes the channel

The learner's name is never in a report: the server takes it from the SSH
login of the connection, so nobody can report as somebody else. Report ids are
random and chosen by the client; the server stores each (name, id) once, so a
report sent again after a lost acknowledgement is acknowledged, not doubled.

Everything here is plain data (no asyncssh, no Textual): the server validates
with :func:`validate_report`, the client builds with :func:`verdict_data` and
:func:`progress_data`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, TypedDict

SUBSYSTEM = "tutor-room@concurrency-tutor"
VERSION = 1
MAX_LINE = 16 * 1024
"""Bytes in one message, newline included; a longer line ends the channel."""

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
"""A learner's name: the SSH user name the room knows them by, whichever way they came in."""
ID_RE = re.compile(r"^[0-9a-f]{32}$")
# Lesson and challenge ids are slugs of up to 200 characters; a challenge is "lesson/challenge".
TOKEN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/+-]{0,400}$")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
VERSION_RE = re.compile(r"^[0-9]{1,2}\.[0-9]{1,3}\.[0-9]{1,3}[a-z0-9+]{0,12}$")
KINDS = ("verdict", "progress")
PROGRESS_EVENTS = ("lesson", "quiz", "done")
MAX_STRATEGIES = 8
MAX_SPEEDUP = 1e4
MAX_SECONDS = 1e6


class ProtocolError(ValueError):
    """A message that is not valid: the one line says what is wrong."""


class Machine(TypedDict):
    cores: int
    logical_cpus: int | None
    parallel_capacity: float | None
    python: str
    implementation: str | None
    free_threaded_build: bool
    gil_enabled: bool
    start_method: str | None
    os: str


class StrategyFigures(TypedDict):
    strategy: str
    workers: int | None
    start_method: str | None
    ok: bool
    wall_s: float | None
    speedup: float | None
    speedup_low: float | None
    speedup_high: float | None
    implausible: bool
    foreign_load_percent: float | None


class VerdictData(TypedDict):
    challenge: str
    lesson: str | None
    scenario: str
    choice: str | None
    predicted_speedup: float | None
    correct: bool | None
    winner: str | None
    tied: list[str]
    quick: bool
    strategies: list[StrategyFigures]
    machine: Machine


class ProgressData(TypedDict):
    event: str
    lesson: str
    item: str | None
    correct: bool | None


class Report(TypedDict):
    id: str
    at: float
    kind: str
    data: dict[str, Any]


# -- encoding -----------------------------------------------------------------------


def encode(message: Mapping[str, Any]) -> bytes:
    line = json.dumps(dict(message, v=VERSION), allow_nan=False, separators=(",", ":")) + "\n"
    data = line.encode("utf-8")
    if len(data) > MAX_LINE:
        raise ProtocolError(f"message of {len(data)} bytes is over the {MAX_LINE}-byte limit")
    return data


def _no_constant(name: str) -> Any:
    raise ProtocolError(f"{name} is not a number the room accepts")


def decode(line: bytes) -> dict[str, Any]:
    """One line -> one message object; :class:`ProtocolError` for anything else."""
    if len(line) > MAX_LINE:
        raise ProtocolError(f"message over {MAX_LINE} bytes")
    try:
        value = json.loads(line.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError("message is not UTF-8 JSON") from exc
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"message is not JSON: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise ProtocolError("message must be a JSON object")
    if value.get("v") != VERSION:
        raise ProtocolError(
            f"protocol version {value.get('v')!r} is not {VERSION}: update the tutor"
        )
    if not isinstance(value.get("type"), str):
        raise ProtocolError("message has no type")
    return value


class LineReader:
    """Split a byte stream into lines, refusing any line over :data:`MAX_LINE`."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        lines: list[bytes] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                break
            lines.append(bytes(self._buffer[:end]))
            del self._buffer[: end + 1]
        if len(self._buffer) > MAX_LINE:
            raise ProtocolError(f"message over {MAX_LINE} bytes")
        return [line for line in lines if line.strip()]


# -- validation (the server's side) ------------------------------------------------


def _field(
    where: Mapping[str, Any], key: str, kinds: tuple[type, ...], *, none: bool = False
) -> Any:
    value = where.get(key)
    if value is None and none:
        return None
    # bool is an int in Python; a True where a count goes is still wrong.
    if isinstance(value, bool) and bool not in kinds:
        raise ProtocolError(f"{key} must be {'/'.join(k.__name__ for k in kinds)}")
    if not isinstance(value, kinds):
        raise ProtocolError(f"{key} must be {'/'.join(k.__name__ for k in kinds)}")
    return value


def _number(
    where: Mapping[str, Any], key: str, low: float, high: float, *, none: bool = True
) -> float | None:
    value = _field(where, key, (int, float), none=none)
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value) or not low <= value <= high:
        raise ProtocolError(f"{key} must be between {low:g} and {high:g}")
    return value


def _token(
    where: Mapping[str, Any], key: str, *, none: bool = False, pattern: re.Pattern[str] = TOKEN_RE
) -> str | None:
    value = _field(where, key, (str,), none=none)
    if value is None:
        return None
    if not pattern.match(value):
        raise ProtocolError(f"{key} has characters or a length the room does not accept")
    return str(value)


def _only(where: Mapping[str, Any], allowed: set[str], what: str) -> None:
    extra = set(where) - allowed
    if extra:
        # Nothing beyond the documented fields leaves a learner's machine.
        raise ProtocolError(f"{what} has unknown fields: {', '.join(sorted(extra)[:5])}")


def _machine(raw: Any) -> Machine:
    if not isinstance(raw, dict):
        raise ProtocolError("machine must be an object")
    _only(raw, set(Machine.__annotations__), "machine")
    cores = _number(raw, "cores", 1, 4096, none=False)
    logical = _number(raw, "logical_cpus", 1, 4096)
    python = _token(raw, "python", pattern=VERSION_RE)
    return Machine(
        cores=int(cores or 1),
        logical_cpus=None if logical is None else int(logical),
        parallel_capacity=_number(raw, "parallel_capacity", 0, 4096),
        python=str(python),
        implementation=_token(raw, "implementation", none=True),
        free_threaded_build=bool(_field(raw, "free_threaded_build", (bool,))),
        gil_enabled=bool(_field(raw, "gil_enabled", (bool,))),
        start_method=_token(raw, "start_method", none=True),
        os=str(_token(raw, "os")),
    )


def _figures(raw: Any) -> StrategyFigures:
    if not isinstance(raw, dict):
        raise ProtocolError("each strategy must be an object")
    _only(raw, set(StrategyFigures.__annotations__), "strategy")
    workers = _number(raw, "workers", 0, 4096)
    return StrategyFigures(
        strategy=str(_token(raw, "strategy")),
        workers=None if workers is None else int(workers),
        start_method=_token(raw, "start_method", none=True),
        ok=bool(_field(raw, "ok", (bool,))),
        wall_s=_number(raw, "wall_s", 0, MAX_SECONDS),
        speedup=_number(raw, "speedup", 0, MAX_SPEEDUP),
        speedup_low=_number(raw, "speedup_low", 0, MAX_SPEEDUP),
        speedup_high=_number(raw, "speedup_high", 0, MAX_SPEEDUP),
        implausible=bool(_field(raw, "implausible", (bool,), none=True)),
        foreign_load_percent=_number(raw, "foreign_load_percent", 0, 409600),
    )


def _verdict(raw: Mapping[str, Any]) -> VerdictData:
    _only(raw, set(VerdictData.__annotations__), "verdict")
    strategies = _field(raw, "strategies", (list,))
    if not 1 <= len(strategies) <= MAX_STRATEGIES:
        raise ProtocolError(f"strategies must list 1-{MAX_STRATEGIES} strategies")
    figures = [_figures(s) for s in strategies]
    names = [f["strategy"] for f in figures]
    if len(set(names)) != len(names):
        raise ProtocolError("strategies must not repeat")
    tied = _field(raw, "tied", (list,))
    if len(tied) > MAX_STRATEGIES or not all(isinstance(t, str) and t in names for t in tied):
        raise ProtocolError("tied must list measured strategies")
    winner = _token(raw, "winner", none=True)
    if winner is not None and winner not in names:
        raise ProtocolError("winner must be one of the measured strategies")
    correct = _field(raw, "correct", (bool,), none=True)
    return VerdictData(
        challenge=str(_token(raw, "challenge")),
        lesson=_token(raw, "lesson", none=True, pattern=SLUG_RE),
        scenario=str(_token(raw, "scenario", pattern=SLUG_RE)),
        choice=_token(raw, "choice", none=True),
        predicted_speedup=_number(raw, "predicted_speedup", 0, MAX_SPEEDUP),
        correct=None if correct is None else bool(correct),
        winner=winner,
        tied=list(tied),
        quick=bool(_field(raw, "quick", (bool,))),
        strategies=figures,
        machine=_machine(raw.get("machine")),
    )


def _progress(raw: Mapping[str, Any]) -> ProgressData:
    _only(raw, set(ProgressData.__annotations__), "progress")
    event = _field(raw, "event", (str,))
    if event not in PROGRESS_EVENTS:
        raise ProtocolError(f"progress event must be one of: {', '.join(PROGRESS_EVENTS)}")
    correct = _field(raw, "correct", (bool,), none=True)
    return ProgressData(
        event=event,
        lesson=str(_token(raw, "lesson", pattern=SLUG_RE)),
        item=_token(raw, "item", none=True, pattern=SLUG_RE),
        correct=None if correct is None else bool(correct),
    )


def validate_report(message: Mapping[str, Any]) -> Report:
    """A ``report`` message, checked field by field and rebuilt from known fields only."""
    _only(message, {"v", "type", "id", "at", "kind", "data"}, "report")
    report_id = _token(message, "id", pattern=ID_RE)
    at = _number(message, "at", 1e9, 1e11, none=False)
    kind = _field(message, "kind", (str,))
    if kind not in KINDS:
        raise ProtocolError(f"kind must be one of: {', '.join(KINDS)}")
    data = message.get("data")
    if not isinstance(data, dict):
        raise ProtocolError("data must be an object")
    clean: dict[str, Any] = dict(_verdict(data) if kind == "verdict" else _progress(data))
    return Report(id=str(report_id), at=float(at or 0), kind=kind, data=clean)


# -- building (the client's side) ----------------------------------------------------


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def machine_data(results: list[Mapping[str, Any]], facts: Mapping[str, Any]) -> Machine:
    """The machine facts a report carries: from the runs, else from ``machine_facts()``.

    Only these: no host name, no paths, no user name.
    """
    first = next((r for r in results if r.get("ok")), results[0] if results else {})
    method = next((r.get("start_method") for r in results if r.get("start_method")), None)
    capacity = next(
        (
            _finite(r.get("parallel_capacity"))
            for r in results
            if _finite(r.get("parallel_capacity"))
        ),
        None,
    )
    return Machine(
        cores=int(first.get("cores") or facts.get("cores") or 1),
        logical_cpus=facts.get("logical_cpus"),
        parallel_capacity=capacity,
        python=str(first.get("python") or facts.get("python")),
        implementation=facts.get("implementation"),
        free_threaded_build=bool(
            first.get("free_threaded_build", facts.get("free_threaded_build", False))
        ),
        gil_enabled=bool(first.get("gil_enabled", facts.get("gil_enabled", True))),
        start_method=method or facts.get("default_start_method"),
        os=str(facts.get("platform") or "unknown"),
    )


def figures_data(result: Mapping[str, Any], implausible: bool | None = None) -> StrategyFigures:
    return StrategyFigures(
        strategy=str(result.get("strategy")),
        workers=result.get("workers") if isinstance(result.get("workers"), int) else None,
        start_method=result.get("start_method"),
        ok=bool(result.get("ok")),
        wall_s=_finite(result.get("wall_s")),
        speedup=_finite(result.get("speedup")),
        speedup_low=_finite(result.get("speedup_low")),
        speedup_high=_finite(result.get("speedup_high")),
        implausible=bool(result.get("implausible") if implausible is None else implausible),
        foreign_load_percent=_finite(result.get("foreign_load_percent")),
    )


def verdict_data(
    *,
    challenge: str,
    lesson: str | None,
    results: Mapping[str, Mapping[str, Any]],
    order: list[str],
    choice: str | None,
    predicted_speedup: float | None,
    correct: bool | None,
    winner: str | None,
    tied: list[str],
    facts: Mapping[str, Any],
) -> VerdictData:
    """One measured verdict as a report's ``data`` (the shape :func:`validate_report` accepts)."""
    measured = [results[s] for s in order if s in results] + [
        r for s, r in results.items() if s not in order
    ]
    measured = measured[:MAX_STRATEGIES]
    names = [str(r.get("strategy")) for r in measured]
    first = measured[0] if measured else {}
    return VerdictData(
        challenge=challenge,
        lesson=lesson,
        scenario=str(first.get("scenario") or "unknown"),
        choice=choice,
        predicted_speedup=_finite(predicted_speedup),
        correct=correct,
        winner=winner if winner in names else None,
        tied=sorted(t for t in tied if t in names),
        quick=bool(first.get("quick")),
        strategies=[figures_data(r) for r in measured],
        machine=machine_data(measured, facts),
    )


def progress_data(
    event: str, lesson: str, item: str | None = None, correct: bool | None = None
) -> ProgressData:
    return ProgressData(event=event, lesson=lesson, item=item, correct=correct)
