"""Warm spares: game processes started ahead of time, handed to the next learners.

The spare's side is :mod:`tutor.serve.spare`; this is the server's side.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tutor.serve.ptychild import PtyChild

if TYPE_CHECKING:
    from tutor.serve.ssh.workshop import Workshop


@dataclass(eq=False)
class Spare:
    child: PtyChild
    order_fd: int  # we write the learner's order here
    ready_fd: int | None  # the spare writes one byte here once warm
    started: float
    warm: bool = False


class SparePool:
    """Game processes started ahead of time, each waiting on its own pty.

    A learner who connects gets a spare that has already imported Textual and the
    game, which cuts the connect-to-first-frame time roughly in half. Spares are
    ordinary session children (own pty, own session, parent-death signal) and
    receive the learner's from-scratch environment only when taken.

    A taken spare is replaced at once, so learners who arrive one after another
    all find a warm one. Refilling must not take the CPU from learners whose game
    is starting right now: while any session started in the last ``BUSY_S``
    seconds, only one spare warms up at a time (otherwise one per core).
    """

    BUSY_S = 2.0

    def __init__(self, workshop: Workshop, size: int) -> None:
        self.w = workshop
        self.size = size
        self.spares: list[Spare] = []
        self.early_deaths = 0
        self.last_start = float("-inf")  # when a session last started (monotonic)
        from tutor.lab.facts import usable_cores  # affinity where the platform has it (not macOS)

        self.max_warming = usable_cores()

    @property
    def pids(self) -> list[int]:
        return [sp.child.pid for sp in self.spares]

    @property
    def warm_count(self) -> int:
        return sum(1 for sp in self.spares if sp.warm)

    def _warming_limit(self) -> int:
        busy = time.monotonic() - self.last_start < self.BUSY_S
        return 1 if busy else self.max_warming

    def fill(self) -> None:
        grew = False
        while (
            self.size > 0
            and not self.w.stopping
            and len(self.spares) < self.size
            and sum(1 for sp in self.spares if not sp.warm) < self._warming_limit()
        ):
            try:
                self._spawn()
                grew = True
            except OSError as exc:
                print(f"tutor: cannot start a spare session: {exc}", file=sys.stderr)
                self.size = 0
        if grew:
            self.w.publish()  # tools that look for leftover processes know the spares

    def _spawn(self) -> None:
        home = self.w.config.data_dir / "homes"
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        order_r, order_w = os.pipe()
        ready_r, ready_w = os.pipe()
        env = {
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PATH": self.w.child_path(),
            "HOME": str(home),
            "TERM": "xterm-256color",
        }
        try:
            child = PtyChild(
                [sys.executable, "-m", "tutor.serve.spare", str(order_r), str(ready_w)],
                env,
                cwd=str(home),
                cols=80,
                rows=24,
                pass_fds=[order_r, ready_w],
            )
        except BaseException:
            os.close(order_w)
            os.close(ready_r)
            raise
        finally:
            os.close(order_r)
            os.close(ready_w)
        spare = Spare(child, order_w, ready_r, time.monotonic())
        loop = asyncio.get_running_loop()
        loop.add_reader(ready_r, self._warmed, spare)
        child.attach(lambda _data: None, lambda _rc: self._died(spare))
        self.spares.append(spare)

    def _stop_watching(self, spare: Spare) -> None:
        if spare.ready_fd is not None:
            asyncio.get_running_loop().remove_reader(spare.ready_fd)
            os.close(spare.ready_fd)
            spare.ready_fd = None

    def _warmed(self, spare: Spare) -> None:
        try:
            got = os.read(spare.ready_fd, 1) if spare.ready_fd is not None else b""
        except OSError:
            got = b""
        self._stop_watching(spare)
        if got:
            spare.warm = True
            self.w.publish()
            self.fill()  # the next one may warm up now

    def _died(self, spare: Spare) -> None:
        self._stop_watching(spare)
        if spare not in self.spares:
            return  # taken: the session handles its exit
        self.spares.remove(spare)
        os.close(spare.order_fd)
        if time.monotonic() - spare.started < 10:
            # A spare that cannot even start would be respawned forever: stop after 3.
            self.early_deaths += 1
            if self.early_deaths >= 3:
                print("tutor: spare sessions keep failing; starting sessions cold", file=sys.stderr)
                self.size = 0
                return
        asyncio.get_running_loop().call_soon(self.fill)

    def take(self) -> tuple[PtyChild, int] | None:
        """The warmest spare (a half-warm one still beats a cold start), or None."""
        candidates = sorted(self.spares, key=lambda sp: (not sp.warm, sp.started))
        for spare in candidates:
            self.spares.remove(spare)
            self._stop_watching(spare)
            if spare.child.returncode is None:
                asyncio.get_running_loop().call_soon(self.fill)
                return spare.child, spare.order_fd
            os.close(spare.order_fd)
        return None

    def hand_off(self, size: tuple[int, int, int, int], order: dict[str, Any]) -> PtyChild | None:
        """The warmest spare, sized and given its learner's order; None: start cold.

        A taken spare is counted nowhere but here until the session owns it: any
        failure on the way ends it (and ``take`` already asked for a replacement),
        or it would live on unseen until the server stops.
        """
        taken = self.take()
        if taken is None:
            return None
        child, pipe = taken
        try:
            try:
                child.resize(*size)  # before the app reads its size
                os.write(pipe, (json.dumps(order) + "\n").encode())
            finally:
                os.close(pipe)
        except BaseException:
            self.w.retire(child)
            raise
        return child

    async def close(self) -> None:
        spares, self.spares = self.spares, []
        for spare in spares:
            self._stop_watching(spare)
            os.close(spare.order_fd)  # EOF: an idle spare exits by itself
        await asyncio.gather(*(spare.child.terminate(1.0) for spare in spares))
