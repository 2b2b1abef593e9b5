"""A room's learners for its tests and benchmarks/room_load.py: their logins and verdicts.

A verdict is a crunch comparison: a sequential baseline of 2 s and the
strategies measured against it, made into a report's ``data`` by the room
protocol's own code.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from tutor.room import protocol


def login(port: int, name: str, password: str) -> Any:
    """``asyncssh.connect`` to the room on this machine as ``name`` (await it, or ``async with``).

    No host key check, and nothing of the developer's: no keys, agent or ~/.ssh/config.
    """
    import asyncssh  # only where a learner logs in (not in room_load's board process)

    return asyncssh.connect(
        "127.0.0.1",
        port,
        username=name,
        password=password,
        known_hosts=None,
        config=[],
        client_keys=None,
        agent_path=None,
    )


def sequential(cores: int, **fields: Any) -> dict[str, Any]:
    """The baseline of a crunch comparison: 2 s, speedup 1, CPython 3.12.1 with the GIL on."""
    return {
        "strategy": "sequential",
        "scenario": "crunch",
        "ok": True,
        "wall_s": 2.0,
        "speedup": 1.0,
        "cores": cores,
        "python": "3.12.1",
        "gil_enabled": True,
        **fields,
    }


def measured(
    strategy: str,
    cores: int,
    speedup: float,
    low: float | None = None,
    high: float | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """One strategy of a crunch comparison: ``speedup`` over 2 s, in ``low``..``high`` (+-10%)."""
    return {
        "strategy": strategy,
        "scenario": "crunch",
        "ok": True,
        "wall_s": 2.0 / speedup,
        "speedup": speedup,
        "speedup_low": speedup * 0.9 if low is None else low,
        "speedup_high": speedup * 1.1 if high is None else high,
        "cores": cores,
        **fields,
    }


def verdict_data(
    results: Mapping[str, Mapping[str, Any]],
    *,
    challenge: str,
    lesson: str | None,
    winner: str,
    facts: Mapping[str, Any],
) -> dict[str, Any]:
    """A verdict report's ``data``: the learner chose processes and predicted 2x."""
    return dict(
        protocol.verdict_data(
            challenge=challenge,
            lesson=lesson,
            results=results,
            order=list(results),
            choice="processes",
            predicted_speedup=2.0,
            correct=winner == "processes",
            winner=winner,
            tied=[],
            facts=facts,
        )
    )


def report(data: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """A verdict report as the game puts it on the wire: a fresh id, sent now."""
    return {
        "v": 1,
        "type": "report",
        "id": os.urandom(16).hex(),
        "at": time.time(),
        "kind": "verdict",
        "data": data,
        **extra,
    }
