"""Options shared by ``tutor join`` and ``tutor run --join``, and the headless report.

``room_target`` checks the options (one usage line for anything wrong)
and gets the password before any work starts; ``report_comparison`` queues a
``tutor run --compare`` result, sends it, and says in one line what happened.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.errors import UsageError
from tutor.room.protocol import NAME_RE

if TYPE_CHECKING:
    from tutor.lab.events import Event
    from tutor.room.client import RoomTarget

PASSWORD_ENV = "TUTOR_ROOM_PASSWORD"
NAME_RULE = (
    "--name must be 1-32 characters: letters, digits, '.', '_' or '-' (how the room shows you)"
)
SEND_WAIT_S = 15.0


def room_target(
    address: str,
    *,
    name: str | None,
    fingerprint: str | None,
    identity: str | None,
    data_dir: Path,
) -> RoomTarget:
    """A checked :class:`RoomTarget` for ``HOST[:PORT]``, the password already asked for."""
    from tutor.room.client import RoomTarget, parse_address
    from tutor.room.hostkeys import check_fingerprint_option

    try:
        host, port = parse_address(address)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not name:
        raise UsageError("joining a room needs --name NAME (how the room shows you)")
    if not NAME_RE.match(name):
        raise UsageError(NAME_RULE)
    if fingerprint is not None:
        try:
            fingerprint = check_fingerprint_option(fingerprint)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    key = Path(identity).expanduser() if identity else None
    if key is not None and not key.is_file():
        raise UsageError(f"--identity: no key file at {key}")
    return RoomTarget(
        host=host,
        port=port,
        name=name,
        password=_password(name, host, port, has_key=key is not None),
        identity=key,
        fingerprint=fingerprint,
        data_dir=data_dir,
    )


def _password(name: str, host: str, port: int, *, has_key: bool) -> str | None:
    """``TUTOR_ROOM_PASSWORD``, else asked for on a terminal; none with a key or no terminal."""
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    if has_key or not sys.stdin.isatty():
        return None
    import getpass

    try:
        typed = getpass.getpass(
            f"Room password for {name}@{host}:{port} (Enter if the room needs none): "
        )
    except (EOFError, KeyboardInterrupt):
        raise UsageError("no room password given") from None
    return typed or None


def comparison_report(summaries: Sequence[Event]) -> dict[str, Any] | None:
    """A ``tutor run --compare`` result as a verdict report (None if nothing was measured)."""
    from tutor.lab.facts import machine_facts
    from tutor.lab.verdict import judge
    from tutor.room import protocol

    ok = {s["strategy"]: s for s in summaries if s.get("ok") and s.get("wall_s")}
    if not ok:
        return None
    first = next(iter(ok.values()))
    measure = "peak_mem_bytes" if first.get("scenario") == "memory" else "wall_s"
    verdict = judge(ok, chosen=next(iter(ok)), measure=measure)
    return dict(
        protocol.verdict_data(
            challenge=f"run:{first['scenario']}",
            lesson=None,
            results={s["strategy"]: s for s in summaries},
            order=[s["strategy"] for s in summaries],
            choice=None,
            predicted_speedup=None,
            correct=None,
            winner=verdict.winner,
            tied=sorted(verdict.tied) if not verdict.settled else [],
            facts=machine_facts(),
        )
    )


def report_comparison(target: RoomTarget, summaries: Sequence[Event]) -> bool:
    """Queue, send and say what happened in one line on stderr; True if the room has it."""
    from tutor.room.client import RoomClient
    from tutor.room.outbox import Outbox

    data = comparison_report(summaries)
    if data is None:
        print(
            f"tutor: room {target.room}: nothing was measured, so nothing was reported",
            file=sys.stderr,
        )
        return False
    scenario = summaries[0].get("scenario")
    try:
        outbox = Outbox(target.data_dir)
    except (OSError, Exception) as exc:  # sqlite3.Error too: the local result is still shown
        print(
            f"tutor: room {target.room}: cannot keep the result for the room: {exc}",
            file=sys.stderr,
        )
        return False
    client = RoomClient(target, outbox)
    try:
        client.report("verdict", data)
        client.start()
        sent = client.flush(SEND_WAIT_S)
        state = client.state
    finally:
        client.close()
        outbox.close()
    if sent:
        news = f"; {state.detail}" if state.detail.startswith("remembered") else ""
        print(
            f"tutor: room {target.room}: {scenario} results sent as {state.name or target.name}{news}",
            file=sys.stderr,
        )
        return True
    why = state.detail or "no answer in time"
    kept = "" if "kept" in why else "; the results are kept and sent the next time you join"
    print(f"tutor: room: {why}{kept}", file=sys.stderr)
    return False
