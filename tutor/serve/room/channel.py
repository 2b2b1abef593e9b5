"""The server's side of a joined game: the room subsystem channel and the batch writer.

A joined game opens one session channel and asks for the subsystem
:data:`tutor.room.protocol.SUBSYSTEM`; :class:`RoomPeer` then speaks the room
protocol on it. Nothing is started for it: no pty, no process, no shell. The
name every report is stored under is the connection's login
(``LearnerConnection.profile``), never anything the client says.

Every report is validated, size-limited (one line, 16 KiB) and rate-limited per
connection and per address (``TokenBucket``); over the limit the answer is
"busy", and the report stays in the learner's outbox. :class:`RoomRecorder`
writes what arrived together in one transaction off the event loop, and only
then acknowledges, so an acknowledged report is on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.room import protocol
from tutor.serve.room.store import RoomStore
from tutor.serve.ssh.limits import AddressBuckets, TokenBucket

if TYPE_CHECKING:
    from tutor.serve.ssh.connection import LearnerConnection
    from tutor.serve.ssh.workshop import Workshop

BATCH_S = 0.02
"""How long the writer waits for more reports before one commit (a room reporting together)."""
MAX_PENDING = 64
"""Reports of one connection waiting for the disk; more are answered "busy"."""
MAX_REJECTED = 20
"""Invalid reports a connection may send before it is closed."""


class RoomRecorder:
    """Batches reports and presence changes into few transactions, in a worker thread."""

    def __init__(self, data_dir: Path) -> None:
        self.store = RoomStore(data_dir)
        self.store.server_started()
        self._reports: list[tuple[str, protocol.Report, Callable[[bool | None], None]]] = []
        self._presence: list[tuple[str, int]] = []
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="room-writer")
        self._task: asyncio.Task[None] | None = None
        self.joined = 0

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    def submit(
        self, name: str, report: protocol.Report, done: Callable[[bool | None], None]
    ) -> None:
        """``done(True)`` once stored, ``done(False)`` if it was there already, ``done(None)`` on failure."""
        self._reports.append((name, report, done))
        self._wake.set()

    def presence(self, name: str, delta: int) -> None:
        self.joined += delta
        self._presence.append((name, delta))
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(BATCH_S)
            self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        reports, self._reports = self._reports, []
        presence, self._presence = self._presence, []
        if not reports and not presence:
            return
        loop = asyncio.get_running_loop()
        try:
            fresh = await loop.run_in_executor(
                self._executor, self.store.write, [(n, r) for n, r, _ in reports], presence
            )
        except Exception as exc:  # a full disk: the learners keep their reports and retry
            print(f"tutor: room: cannot store reports: {exc}", file=sys.stderr)
            for _, _, done in reports:
                done(None)
            return
        for (_, _, done), new in zip(reports, fresh, strict=True):
            done(new)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._flush()
        self._executor.shutdown(wait=True)
        # Whoever was still connected has left with the server.
        with contextlib.suppress(Exception):
            self.store.server_started()
        self.store.close()


class RoomLimits:
    """Report rate limits shared by the whole server: one bucket per address."""

    def __init__(self, rate: float, burst: float, max_per_address: int) -> None:
        self.rate = rate
        self.burst = burst
        # An address may hold max_per_address connections: it gets as many shares.
        self.by_address = AddressBuckets(rate * max_per_address, burst * max_per_address)

    def connection_bucket(self) -> TokenBucket:
        return TokenBucket(self.rate, self.burst)


class RoomPeer:
    """One joined game's channel on the server."""

    def __init__(self, workshop: Workshop, owner: LearnerConnection) -> None:
        self.w = workshop
        self.owner = owner
        self.name = owner.profile
        self.chan: Any = None
        self.reader = protocol.LineReader()
        self.greeted = False
        self.pending = 0
        self.rejected = 0
        self.gone = False
        assert workshop.room_limits is not None
        self.bucket = workshop.room_limits.connection_bucket()

    def start(self, chan: Any) -> None:
        self.chan = chan

    def data_received(self, data: bytes) -> None:
        if self.gone:
            return
        try:
            for line in self.reader.feed(data):
                self._handle(protocol.decode(line))
                if self.gone:
                    return
        except protocol.ProtocolError as exc:
            self._bye(str(exc))

    def _send(self, message: dict[str, Any]) -> None:
        if self.chan is None or self.gone:
            return
        with contextlib.suppress(Exception):  # the learner already left
            self.chan.write(protocol.encode(message))

    def _bye(self, reason: str) -> None:
        self._send({"type": "bye", "reason": reason})
        self.gone = True
        if self.chan is not None:
            with contextlib.suppress(Exception):
                self.chan.exit(1)

    def _handle(self, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        recorder = self.w.room
        assert recorder is not None
        if kind == "hello":
            if self.greeted:
                # Once per channel: a flood of hellos would cost a reply each.
                self._bye("hello was already said on this channel")
                return
            if recorder.joined >= self.w.config.room_max_joined:
                self._bye(f"the room is full ({self.w.config.room_max_joined} joined games)")
                return
            self.greeted = True
            recorder.presence(self.name, +1)
            self._send({"type": "welcome", "name": self.name, "room": "concurrency-tutor"})
            return
        if kind != "report" or not self.greeted:
            self._bye(f"unexpected {kind!r} message: this room takes hello, then reports")
            return
        raw_id = msg.get("id")
        report_id = raw_id if isinstance(raw_id, str) and protocol.ID_RE.match(raw_id) else None
        if report_id is None:
            self._reject(None, "id must be 32 hexadecimal characters")
            return
        assert self.w.room_limits is not None
        wait = max(self.bucket.take(), self.w.room_limits.by_address.take(self.owner.address))
        if wait > 0 or self.pending >= MAX_PENDING:
            self._send({"type": "busy", "id": report_id, "retry_after": round(max(wait, 0.5), 2)})
            return
        try:
            report = protocol.validate_report(msg)
        except protocol.ProtocolError as exc:
            self._reject(report_id, str(exc))
            return
        self.pending += 1
        recorder.submit(self.name, report, lambda stored: self._stored(report_id, stored))

    def _reject(self, report_id: str | None, reason: str) -> None:
        self.rejected += 1
        self._send({"type": "rejected", "id": report_id, "reason": reason})
        if self.rejected >= MAX_REJECTED:
            self._bye("too many invalid reports")

    def _stored(self, report_id: str, stored: bool | None) -> None:
        self.pending -= 1
        if stored is None:
            self._send({"type": "busy", "id": report_id, "retry_after": 5})
        else:
            self._send({"type": "ack", "id": report_id})

    def closed(self) -> None:
        self.gone = True
        self.chan = None
        if self.greeted and self.w.room is not None:
            self.greeted = False
            self.w.room.presence(self.name, -1)
