"""The joined side of a room: one SSH connection, one subsystem channel, the outbox.

:class:`RoomClient` runs its own asyncio loop in a daemon thread, so the game
(Textual) and ``tutor run --join`` (no loop at all) use it the same way::

    client = RoomClient(target, Outbox(data_dir), on_state=print)
    client.start()
    client.report("verdict", protocol.verdict_data(...))   # durable at once
    client.flush(timeout=10)                               # optional: wait until sent
    client.close()

Reports go to the outbox first and leave it only when the room acknowledges
them, so nothing is lost while the network or the server is away; the client
reconnects with growing pauses (1 s up to 30 s). Failures that retrying cannot
fix (a wrong password, a refused host key, another protocol version) end the
client in state ``offline`` with one line saying why; reports stay queued for
the next join.

The connection opens nothing but the room subsystem: no pty, no shell, no
forwarding, no agent forwarding, and no OpenSSH config is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncssh

from tutor.room import hostkeys, protocol
from tutor.room.outbox import Outbox

CONNECT_TIMEOUT_S = 10.0
RETRY_FIRST_S = 1.0
RETRY_MOST_S = 30.0
IN_FLIGHT = 20
"""Reports sent before their acknowledgements come back."""

JOINING, JOINED, RECONNECTING, OFFLINE = "joining", "joined", "reconnecting", "offline"


@dataclass(frozen=True)
class RoomTarget:
    host: str
    port: int
    name: str
    password: str | None = None
    identity: Path | None = None
    fingerprint: str | None = None
    data_dir: Path = field(default_factory=Path)

    @property
    def room(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class RoomState:
    status: str = JOINING
    detail: str = ""
    """One line for the learner: why offline or reconnecting, or news such as a new host key."""
    waiting: int = 0
    """Reports in the outbox for this room."""
    failures: int = 0
    """Connection attempts that failed since the last success."""
    name: str = ""
    """The name the room knows us by (its login), once joined."""


def parse_address(text: str, default_port: int = 2222) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT`` or ``[V6]:PORT`` -> (host, port); ValueError naming the form."""
    text = text.strip()
    form = "HOST[:PORT], e.g. 192.168.1.20:2222"
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"room address must be {form}, got {text!r}")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"room address must be {form}, got {text!r}")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"room port must be 1-65535, got {port_text!r}")
    return host, int(port_text)


class _Refused(Exception):
    """A failure that retrying cannot fix."""


class RoomClient:
    def __init__(
        self,
        target: RoomTarget,
        outbox: Outbox,
        on_state: Callable[[RoomState], None] | None = None,
    ) -> None:
        self.target = target
        self.outbox = outbox
        self.on_state = on_state
        self._state = RoomState(waiting=outbox.count(target.room))
        self._changed = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._closing = False
        self._started = threading.Event()

    # -- the caller's side (any thread) -------------------------------------------
    @property
    def state(self) -> RoomState:
        return self._state

    def start(self) -> None:
        self._thread = threading.Thread(target=self._thread_main, name="tutor-room", daemon=True)
        self._thread.start()
        self._started.wait(5)

    def report(self, kind: str, data: dict[str, Any]) -> str:
        """Queue a report (durable when this returns) and send it as soon as possible."""
        report_id = self.outbox.add(self.target.room, kind, data)
        self._set(waiting=self.outbox.count(self.target.room))
        self._poke()
        return report_id

    def flush(self, timeout: float, *, until_unreachable: bool = True) -> bool:
        """Wait until the outbox is empty for this room (True), or until ``timeout``,
        an ``offline`` end, or (``until_unreachable``) a failed attempt to connect."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                s = self._state
                if s.waiting == 0 and s.status == JOINED:
                    return True
                if s.status == OFFLINE or (until_unreachable and s.failures > 0):
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.5))

    def close(self, timeout: float = 3.0) -> None:
        self._closing = True
        loop, stop, wake = self._loop, self._stop, self._wake
        if loop is not None and stop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
                loop.call_soon_threadsafe(wake.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(wake.set)

    def _set(self, **changes: Any) -> None:
        with self._changed:
            self._state = replace(self._state, **changes)
            state = self._state
            self._changed.notify_all()
        if self.on_state is not None:
            # A display that went away must not stop the reports.
            with contextlib.suppress(Exception):
                self.on_state(state)

    # -- the client's own thread ---------------------------------------------------
    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # never a traceback on the learner's terminal
            self._set(status=OFFLINE, detail=f"the room connection stopped: {exc}")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._started.set()
        delay = RETRY_FIRST_S
        while not self._stop.is_set():
            try:
                await self._session()
                delay = RETRY_FIRST_S
                if self._stop.is_set():
                    break
                self._set(
                    status=RECONNECTING, detail=f"lost the room at {self.target.room}: reconnecting"
                )
            except _Refused as exc:
                self._set(status=OFFLINE, detail=str(exc))
                return
            except Exception as exc:  # OSError, asyncssh errors, time-outs: try again later
                self._set(
                    status=RECONNECTING,
                    detail=f"cannot reach the room at {self.target.room} ({_why(exc)}): results are kept and sent when it is back",
                    failures=self._state.failures + 1,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            delay = min(delay * 2, RETRY_MOST_S)

    async def _session(self) -> None:
        target = self.target
        client = _HostKeyCheck(target, self)
        keys: Any = [str(target.identity)] if target.identity else ()
        try:
            conn = await asyncio.wait_for(
                asyncssh.connect(
                    target.host,
                    target.port,
                    username=target.name,
                    password=target.password,
                    client_keys=keys,
                    client_factory=lambda: client,
                    # Nothing trusted up front: every key goes through _HostKeyCheck.
                    known_hosts=([], [], []),
                    config=[],
                    agent_forwarding=False,
                    x11_forwarding=False,
                    keepalive_interval=15,
                    keepalive_count_max=3,
                    login_timeout=CONNECT_TIMEOUT_S,
                ),
                CONNECT_TIMEOUT_S * 1.5,
            )
        except asyncssh.PermissionDenied:
            how = "password" if target.password else "key"
            raise _Refused(
                f"the room at {target.room} refused the login as {target.name}: wrong {how} "
                "(ask the instructor; set TUTOR_ROOM_PASSWORD or type it when asked)"
            ) from None
        except asyncssh.HostKeyNotVerifiable:
            raise _Refused(
                client.problem or f"the room at {target.room} has a host key we do not trust"
            ) from None
        except asyncssh.DisconnectError as exc:
            if exc.code == asyncssh.DISC_ILLEGAL_USER_NAME:
                raise _Refused(f"the room refused the name {target.name!r}: {exc.reason}") from None
            raise
        async with conn:
            session = _RoomChannel(self)
            try:
                chan, _ = await conn.create_session(
                    lambda: session, subsystem=protocol.SUBSYSTEM, encoding=None
                )
            except asyncssh.ChannelOpenError as exc:
                raise _Refused(
                    f"the room at {target.room} does not take joined games: {exc.reason}"
                ) from None
            session.chan = chan
            await session.run()

    def _acknowledged(self, report_id: str) -> None:
        self.outbox.done(report_id)
        self._set(waiting=self.outbox.count(self.target.room))


class _HostKeyCheck(asyncssh.SSHClient):
    """asyncssh client callbacks: the host key check, run before any password is sent."""

    def __init__(self, target: RoomTarget, owner: RoomClient) -> None:
        self.target = target
        self.owner = owner
        self.problem: str | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: Any) -> bool:
        fingerprint = key.get_fingerprint("sha256")
        try:
            new = hostkeys.verify(
                self.target.data_dir, self.target.room, fingerprint, self.target.fingerprint
            )
        except hostkeys.HostKeyError as exc:
            self.problem = str(exc)
            return False
        except OSError as exc:
            self.problem = f"cannot remember the room's host key: {exc.strerror}"
            return False
        if new:
            self.owner._set(
                detail=f"remembered the room's host key {fingerprint} (the instructor's banner shows it)"
            )
        return True


class _RoomChannel(asyncssh.SSHClientSession):
    """The subsystem channel: hello, then reports out and acknowledgements in."""

    def __init__(self, owner: RoomClient) -> None:
        self.owner = owner
        self.chan: Any = None
        self.reader = protocol.LineReader()
        self.closed = asyncio.Event()
        self.welcomed = asyncio.Event()
        self.in_flight: set[str] = set()
        self.resume_at = 0.0
        self.refusal: str | None = None

    # asyncssh.SSHClientSession's callbacks
    def connection_made(self, chan: Any) -> None:
        self.chan = chan

    def data_received(self, data: bytes, datatype: Any) -> None:
        if datatype is not None:  # stderr: the server's refusal in words
            self.refusal = data.decode("utf-8", "replace").strip().removeprefix("tutor: ")
            return
        try:
            for line in self.reader.feed(data):
                self._handle(protocol.decode(line))
        except protocol.ProtocolError as exc:
            self.refusal = f"the room sent something this tutor does not understand ({exc})"
            self.chan.close()

    def _handle(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "welcome":
            name = msg.get("name")
            self.owner._set(name=name if isinstance(name, str) else self.owner.target.name)
            self.welcomed.set()
        elif kind in ("ack", "rejected"):
            report_id = msg.get("id")
            if isinstance(report_id, str) and report_id in self.in_flight:
                # A rejected report would be rejected forever: drop it, never resend.
                self.in_flight.discard(report_id)
                self.owner._acknowledged(report_id)
        elif kind == "busy":
            self.in_flight.discard(str(msg.get("id")))
            after = msg.get("retry_after")
            wait = float(after) if isinstance(after, int | float) and 0 < after <= 60 else 2.0
            self.resume_at = time.monotonic() + wait
        elif kind == "bye":
            self.refusal = str(msg.get("reason") or "the room closed the connection")
        self._wake()

    def _wake(self) -> None:
        wake = self.owner._wake
        if wake is not None:
            wake.set()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()
        self._wake()

    async def run(self) -> None:
        from tutor import __version__

        owner = self.owner
        assert owner._wake is not None and owner._stop is not None
        self.chan.write(
            protocol.encode({"type": "hello", "client": f"concurrency-tutor {__version__}"})
        )
        waiter = asyncio.ensure_future(self.welcomed.wait())
        closer = asyncio.ensure_future(self.closed.wait())
        await asyncio.wait(
            [waiter, closer], timeout=CONNECT_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        closer.cancel()
        if not self.welcomed.is_set():
            reason = self.refusal or "no answer"
            self.chan.close()
            if self.refusal is None or "full" in reason:
                raise ConnectionError(reason)  # a busy or full room may take us later
            raise _Refused(f"the room at {owner.target.room} did not take this game: {reason}")
        owner._set(status=JOINED, failures=0, waiting=owner.outbox.count(owner.target.room))
        while not self.closed.is_set() and not owner._stop.is_set():
            owner._wake.clear()
            self._send_waiting()
            pause = max(0.05, self.resume_at - time.monotonic()) if self.resume_at else 30.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(owner._wake.wait(), pause)
        if owner._stop.is_set():
            self.chan.close()

    def _send_waiting(self) -> None:
        if time.monotonic() < self.resume_at or len(self.in_flight) >= IN_FLIGHT:
            return
        self.resume_at = 0.0
        owner = self.owner
        for report in owner.outbox.waiting(owner.target.room, IN_FLIGHT * 2):
            if len(self.in_flight) >= IN_FLIGHT:
                break
            if report["id"] in self.in_flight:
                continue
            message = {"type": "report", **report}
            try:
                data = protocol.encode(message)
            except protocol.ProtocolError:
                owner._acknowledged(report["id"])  # too big for any room: never sendable
                continue
            self.in_flight.add(report["id"])
            self.chan.write(data)


def _why(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: is the room server running?"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    reason = getattr(exc, "reason", None)
    return str(reason or exc or type(exc).__name__)
