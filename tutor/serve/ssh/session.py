"""One session channel: the game (or the board) on its own pty, or a refusal.

The channel asks for a pty and a shell; the server starts the child (a warm
spare when there is one, see :mod:`.pool`), copies bytes both ways, passes
resizes on, and ends the child when the channel goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import time
from typing import TYPE_CHECKING, Any

import asyncssh

from tutor.serve.ptychild import PtyChild
from tutor.serve.ssh.config import now_iso

if TYPE_CHECKING:
    from tutor.serve.room.channel import RoomPeer
    from tutor.serve.ssh.connection import LearnerConnection
    from tutor.serve.ssh.workshop import Workshop

# What a Textual app may have switched on: alternate screen, hidden cursor, mouse
# reporting, bracketed paste, focus events, the kitty keyboard protocol. Sent when
# the *server* ends a session, because then the app gets no chance to undo them.
TERMINAL_RESET = (
    b"\x1b[?1049l"  # leave the alternate screen
    b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l"  # mouse reporting off
    b"\x1b[?2004l\x1b[?1004l"  # bracketed paste, focus events off
    b"\x1b[<u"  # pop kitty keyboard flags
    b"\x1b[0m\x1b[?25h"  # reset attributes, show the cursor
    b"\r\n"
)


class LearnerSession(asyncssh.SSHServerSession):
    """One session channel: the game (or the board) on its own pty, or a refusal."""

    def __init__(
        self, workshop: Workshop, owner: LearnerConnection, refusal: str | None = None
    ) -> None:
        self.w = workshop
        self.owner = owner
        self.chan: asyncssh.SSHServerChannel | None = None
        self.term: str | None = None
        self.size = (80, 24, 0, 0)
        # Set before any request: a refusal no later request may replace.
        self.refusal: str | None = refusal
        self.counted_game = False
        self.child: PtyChild | None = None
        self.last_input = time.monotonic()
        self.warned = False
        self.ending = False
        self.since = now_iso()
        self._cleanup: asyncio.Task[None] | None = None
        # A joined game's room channel (tutor join): no pty, no child, only reports.
        self.room: RoomPeer | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "user": self.owner.username,
            "profile": self.owner.profile,
            "role": "instructor" if self.owner.is_instructor else "learner",
            "address": self.owner.address,
            "connected_since": self.since,
            "pid": self.child.pid if self.child else None,
        }

    # -- channel requests ---------------------------------------------------------
    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self.chan = chan

    def pty_requested(
        self, term_type: str, term_size: tuple[int, int, int, int], term_modes: Any
    ) -> bool:
        # Only a plain terminal name reaches the child's TERM.
        self.term = (
            term_type
            if re.fullmatch(r"[A-Za-z0-9._+-]{1,64}", term_type or "")
            else "xterm-256color"
        )
        if term_size[0] and term_size[1]:
            self.size = term_size
        return True

    def shell_requested(self) -> bool:
        return True  # the "shell" is the game; refused later if there is no pty

    def exec_requested(self, command: str) -> bool:
        # Accept the request only to explain the refusal: a failed request tells the
        # learner nothing but "exec request failed". Nothing is ever run.
        self.refusal = (
            self.refusal
            or "this server runs only the concurrency tutor game; commands are not allowed (connect with plain 'ssh -p PORT NAME@HOST')"
        )
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        from tutor.room.protocol import SUBSYSTEM

        if (
            subsystem == SUBSYSTEM
            and self.refusal is None
            and not self.owner.is_instructor
            and self.w.room is not None
        ):
            from tutor.serve.room.channel import RoomPeer

            self.room = RoomPeer(self.w, self.owner)
            return True
        self.refusal = (
            self.refusal
            or f"the '{subsystem}' subsystem is disabled: no file transfer (sftp/scp) on this server"
        )
        return True

    def break_received(self, msec: int) -> bool:
        return False

    def signal_received(self, signal_name: str) -> None:
        pass  # learners do not get to signal processes on the host

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self.size = (width, height, pixwidth, pixheight)
        if self.child is not None and width and height:
            self.child.resize(width, height, pixwidth, pixheight)

    # -- the session --------------------------------------------------------------
    def session_started(self) -> None:
        if self.room is not None and self.chan is not None:
            self.room.start(self.chan)
            return
        if self.refusal is None and self.term is None:
            self.refusal = "this server needs an interactive terminal: connect with plain 'ssh -p PORT NAME@HOST' (not -T, no piped input)"
        if self.refusal is None and self.w.stopping:
            self.refusal = "the workshop server is shutting down"
        if self.refusal is None and self.running_count() >= self.w.max_sessions:
            self.refusal = f"the workshop server is full ({self.w.max_sessions} sessions): try again in a few minutes"
        if self.refusal is None and not self.owner.is_instructor:
            self.refusal = self.w.admission.game_refusal(self.owner.address)
        if self.refusal is not None:
            self._refuse(self.refusal)
            return
        owner = self.owner
        command = (
            self.w.config.instructor_command()
            if owner.is_instructor
            else self.w.config.learner_command()
        )
        env_in = self.chan.get_environment() if self.chan else {}
        colorterm = env_in.get("COLORTERM")
        if colorterm not in ("truecolor", "24bit"):
            colorterm = None
        cols, rows = self.size[:2]
        env = self.w.child_env(self.term or "xterm-256color", colorterm, owner.profile)
        self.w.spares.last_start = time.monotonic()
        child: PtyChild | None = None
        try:
            if not owner.is_instructor:
                order = {"env": env, "cwd": env["HOME"], "argv": self.w.config.app_args}
                child = self.w.spares.hand_off(self.size, order)
            if child is not None:
                child.attach(self._output, self._child_exited)
            else:
                child = PtyChild(
                    command,
                    env,
                    cwd=env["HOME"],
                    cols=cols,
                    rows=rows,
                    on_output=self._output,
                    on_exit=self._child_exited,
                )
        except Exception as exc:
            # Whatever went wrong, no child may outlive this: nobody else knows it.
            if child is not None:
                self.w.retire(child)
            print(f"tutor: cannot start a session for {owner.username}: {exc!r}", file=sys.stderr)
            self._refuse("the server could not start the game; tell the instructor")
            return
        self.child = child
        if not owner.is_instructor:
            self.w.admission.add_game(owner.address)
            self.counted_game = True
        self.w.sessions.add(self)
        self.w.publish()

    def running_count(self) -> int:
        return sum(1 for s in self.w.sessions if s.child is not None)

    def _refuse(self, message: str) -> None:
        chan = self.chan
        if chan is None:
            return
        # stderr, not stdout: an sftp client would try to parse stdout as protocol.
        with contextlib.suppress(BrokenPipeError, asyncssh.Error):
            chan.write_stderr(f"tutor: {message}\r\n".encode())
            chan.exit(1)

    def _output(self, data: bytes) -> None:
        if self.chan is None or self.ending:
            return
        try:
            self.chan.write(data)
        except (BrokenPipeError, asyncssh.Error):
            # The client is already gone (connection_lost follows): stop reading so
            # the app blocks on a full pty instead of spinning until we end it.
            if self.child is not None:
                self.child.pause_output()

    def data_received(self, data: bytes, datatype: Any) -> None:
        if self.room is not None:
            self.room.data_received(data)
            return
        self.last_input = time.monotonic()
        if self.warned:
            self.warned = False
            self._clear_warning()
        if self.child is not None:
            self.child.write(data)

    def eof_received(self) -> bool:
        return False  # the client closed its input: end the session

    def pause_writing(self) -> None:
        if self.child is not None:
            self.child.pause_output()

    def resume_writing(self) -> None:
        if self.child is not None:
            self.child.resume_output()

    # -- idle warning ---------------------------------------------------------------
    def warn_idle(self, seconds_left: int) -> None:
        self.warned = True
        rows = self.size[1] or 24
        text = (
            f" No input for a while: this session ends in {seconds_left} s unless you press a key. "
        )
        # Save the cursor, draw on the last row in reverse video, restore: the app's
        # own screen stays intact apart from that row.
        msg = f"\x1b7\x1b[{rows};1H\x1b[0;7m{text}\x1b[0m\x1b[K\x1b8\x07"
        if self.chan is not None:
            with contextlib.suppress(BrokenPipeError, asyncssh.Error):
                self.chan.write(msg.encode())

    def _clear_warning(self) -> None:
        rows = self.size[1] or 24
        if self.chan is not None:
            with contextlib.suppress(BrokenPipeError, asyncssh.Error):
                self.chan.write(f"\x1b7\x1b[{rows};1H\x1b[2K\x1b8".encode())
        if self.child is not None:
            # Nudge the app to redraw the row we used: it repaints on a size change.
            # Two changes in a row get merged by the app (it reads the size once),
            # so the real size comes back a moment later.
            cols, r, xp, yp = self.size
            self.child.resize(cols, max(1, r - 1), xp, yp)
            asyncio.get_running_loop().call_later(0.3, self._restore_size)

    def _restore_size(self) -> None:
        if self.child is not None and not self.ending:
            self.child.resize(*self.size)

    # -- ending ---------------------------------------------------------------------
    def end(self, message: str | None = None) -> None:
        """The server ends this session: stop the app, reset the terminal, close."""
        if self.ending:
            return
        self.ending = True
        self._cleanup = asyncio.ensure_future(self._end(message))

    async def _end(self, message: str | None) -> None:
        if self.child is not None:
            await self.child.terminate(self.w.config.kill_grace)
        chan = self.chan
        if chan is not None:
            with contextlib.suppress(Exception):
                chan.write(TERMINAL_RESET)
                if message:
                    chan.write(f"tutor: {message}\r\n".encode())
                chan.exit(0)
        self._forget()

    def _child_exited(self, returncode: int | None) -> None:
        # The app quit (the learner pressed q): its terminal is already restored.
        if self.ending:
            return
        self.ending = True
        self._cleanup = asyncio.ensure_future(self._after_exit(returncode))

    async def _after_exit(self, returncode: int | None) -> None:
        if self.child is not None:
            await self.child.terminate(self.w.config.kill_grace)  # leftover lab runs
        if self.chan is not None:
            with contextlib.suppress(Exception):
                self.chan.exit(returncode if returncode and returncode > 0 else 0)
        self._forget()

    def connection_lost(self, exc: Exception | None) -> None:
        # The client dropped (or the channel closed): the session's processes go now.
        self.chan = None
        if self.room is not None:
            self.room.closed()
        self.owner.session_closed()
        if not self.ending:
            self.ending = True
            self._cleanup = asyncio.ensure_future(self._dropped())

    async def _dropped(self) -> None:
        if self.child is not None:
            await self.child.terminate(self.w.config.kill_grace)
        self._forget()

    def _forget(self) -> None:
        if self.counted_game:
            # Counted until its processes are gone, not merely until the channel closed.
            self.counted_game = False
            self.w.admission.remove_game(self.owner.address)
        if self in self.w.sessions:
            self.w.sessions.discard(self)
            self.w.publish()
