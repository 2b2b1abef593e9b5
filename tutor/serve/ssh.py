"""``tutor serve ssh``: an asyncssh server that gives each learner their own app.

Design (SSH_NOTES.md): one child process per session on its own pty, started
from a clean environment; the server only authenticates, enforces limits and
copies bytes. It refuses everything that is not "an interactive terminal running
the game": exec, subsystems (sftp/scp), forwarding of any kind, sessions without
a pty.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import json
import os
import re
import secrets
import signal
import sys
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import psutil

from tutor.serve import hostkey
from tutor.serve.ptychild import PtyChild
from tutor.serve.sessions import clear_sessions, write_sessions

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

USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
USER_RULE = "user name must be 1-32 characters: letters, digits, '.', '_' or '-'"
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no l/1/o/0 on a projector
MB = 1024 * 1024
# A session's whole tree (Textual app + a lab run's workers) with headroom; the
# prototype measured ~37 MB RSS for the app alone.
MEMORY_PER_SESSION = 80 * MB


def default_max_sessions() -> int:
    return max(1, min(200, psutil.virtual_memory().available // MEMORY_PER_SESSION))


def generate_password() -> str:
    groups = ["".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(3)]
    return "-".join(groups)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class ServeConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 2222
    auth: str = "password"  # password | keys | open
    password: str | None = None
    authorized_keys: Path | None = None
    instructor: str | None = None
    instructor_password: str | None = None
    max_sessions: int | None = None
    max_per_address: int = 10
    login_grace: float = 60.0
    idle_timeout: float = 1800.0
    idle_warning: float | None = None  # seconds of warning before the idle end
    failed_logins_per_connection: int = 6
    failed_logins_per_address: int = 20
    failed_login_window: float = 600.0
    keepalive_interval: float = 30.0
    keepalive_count_max: int = 3
    kill_grace: float = 2.0
    # Warm spares for the game (see tutor/serve/spare.py); 0 = always start cold.
    spares: int = 2
    bench_slots: int | None = None
    app_args: list[str] = field(default_factory=list)  # e.g. --lessons DIR
    # Injectable for tests and the benchmark; default: the real game and board.
    session_command: list[str] | None = None
    board_command: list[str] | None = None

    def learner_command(self) -> list[str]:
        if self.session_command:
            return list(self.session_command)
        return [sys.executable, "-m", "tutor", *self.app_args]

    def instructor_command(self) -> list[str]:
        if self.board_command:
            return list(self.board_command)
        return [sys.executable, "-m", "tutor", "board", "--data-dir", str(self.data_dir)]

    def warning_lead(self) -> float:
        if self.idle_warning is not None:
            return min(self.idle_warning, self.idle_timeout)
        return min(60.0, self.idle_timeout / 5)


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

    async def close(self) -> None:
        spares, self.spares = self.spares, []
        for spare in spares:
            self._stop_watching(spare)
            os.close(spare.order_fd)  # EOF: an idle spare exits by itself
        await asyncio.gather(*(spare.child.terminate(1.0) for spare in spares))


class Workshop:
    """State shared by every connection: sessions, limits, the sessions file."""

    def __init__(self, config: ServeConfig, authorized: list[asyncssh.SSHKey]) -> None:
        self.config = config
        self.authorized = {key.public_data: key for key in authorized}
        self.max_sessions = config.max_sessions or default_max_sessions()
        self.sessions: set[LearnerSession] = set()
        self.per_address: dict[str, int] = defaultdict(int)
        self.failures: dict[str, deque[float]] = defaultdict(deque)
        self.stopping = False
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.bench_dir = config.data_dir / "bench"
        self.spares = SparePool(self, config.spares if config.session_command is None else 0)

    # -- failed logins per address ---------------------------------------------
    def record_failure(self, address: str) -> None:
        self.failures[address].append(time.monotonic())

    def address_blocked(self, address: str) -> bool:
        window = self.failures.get(address)
        if window is None:
            return False
        cutoff = time.monotonic() - self.config.failed_login_window
        while window and window[0] < cutoff:
            window.popleft()
        if not window:
            del self.failures[address]  # a long workshop must not grow this forever
            return False
        return len(window) >= self.config.failed_logins_per_address

    # -- the sessions file -------------------------------------------------------
    def publish(self) -> None:
        rows = [s.describe() for s in self.sessions if s.child is not None]
        try:
            write_sessions(self.config.data_dir, rows, self.spares.pids, self.spares.warm_count)
        except OSError as exc:
            print(f"tutor: cannot write sessions.json: {exc}", file=sys.stderr)

    def child_env(self, term: str, colorterm: str | None, profile: str) -> dict[str, str]:
        """The child's whole environment, built from scratch: nothing of ours leaks."""
        home = self.config.data_dir / "homes" / profile
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        env = {
            "TERM": term,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PATH": self.child_path(),
            "HOME": str(home),
            "TUTOR_DATA_DIR": str(self.config.data_dir),
            "TUTOR_PROFILE": profile,
            "TUTOR_SERVED": "1",
            "TUTOR_BENCH_DIR": str(self.bench_dir),
        }
        if colorterm:
            env["COLORTERM"] = colorterm
        return env

    @staticmethod
    def child_path() -> str:
        # Our interpreter's bin dir first, so the game finds its own tools; nothing else.
        return f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"

    async def idle_watch(self) -> None:
        """Warn, then end sessions that had no input for --idle-timeout seconds."""
        timeout = self.config.idle_timeout
        lead = self.config.warning_lead()
        tick = min(1.0, max(0.1, lead / 4)) if lead else 1.0
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for sess in list(self.sessions):
                # The board on a projector sees no keys for hours: never idle it out.
                if sess.child is None or sess.ending or sess.owner.is_instructor:
                    continue
                idle = now - sess.last_input
                if idle >= timeout:
                    sess.end(
                        f"No input for {int(timeout)} s: this session has ended. Reconnect any time; your progress is saved."
                    )
                elif idle >= timeout - lead and not sess.warned:
                    sess.warn_idle(int(round(timeout - idle)))


class LearnerConnection(asyncssh.SSHServer):
    """One SSH connection: authentication, limits and refusals of non-session channels."""

    def __init__(self, workshop: Workshop) -> None:
        self.w = workshop
        self.conn: asyncssh.SSHServerConnection | None = None
        self.address = "?"
        self.username = ""
        self.failed = 0
        self.key_fingerprint: str | None = None
        self.is_instructor = False
        self.invalid_user = False
        self.counted = False

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.w.connections.add(conn)
        peer = conn.get_extra_info("peername")
        self.address = str(peer[0]) if peer else "?"
        if self.w.stopping:
            self._refuse(asyncssh.DISC_BY_APPLICATION, "the workshop server is shutting down")
        elif self.w.address_blocked(self.address):
            self._refuse(
                asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE,
                "too many failed logins from your address: try again in a few minutes",
            )
        elif self.w.per_address[self.address] >= self.w.config.max_per_address:
            self._refuse(
                asyncssh.DISC_TOO_MANY_CONNECTIONS,
                f"too many connections from your address (at most {self.w.config.max_per_address})",
            )
        else:
            self.w.per_address[self.address] += 1
            self.counted = True

    def _refuse(self, code: int, reason: str) -> None:
        conn = self.conn
        assert conn is not None
        # Disconnect once the handshake machinery is set up; OpenSSH prints the reason.
        asyncio.get_running_loop().call_soon(conn.disconnect, code, reason)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.w.connections.discard(self.conn)
        if self.counted:
            self.counted = False
            self.w.per_address[self.address] -= 1
            if self.w.per_address[self.address] <= 0:
                del self.w.per_address[self.address]

    # -- authentication -----------------------------------------------------------
    def begin_auth(self, username: str) -> bool:
        self.username = username
        if not USER_RE.match(username):
            # The banner is the one place before login where a client shows our text;
            # with no method offered the login then fails.
            self.invalid_user = True
            assert self.conn is not None
            self.conn.send_auth_banner(f"tutor: {USER_RULE}\r\n")
            self._refuse(asyncssh.DISC_ILLEGAL_USER_NAME, USER_RULE)
            return True
        self.is_instructor = username == self.w.config.instructor
        # --auth open: no authentication at all (the instructor chose a closed room).
        return not (self.w.config.auth == "open" and not self.is_instructor)

    def password_auth_supported(self) -> bool:
        if self.invalid_user:
            return False
        return self.is_instructor or self.w.config.auth == "password"

    def kbdint_auth_supported(self) -> bool:
        return False

    def validate_password(self, username: str, password: str) -> bool:
        if self.is_instructor:
            expected = self.w.config.instructor_password or ""
        elif self.w.config.auth == "password":
            expected = self.w.config.password or ""
        else:
            expected = ""
        ok = bool(expected) and hmac.compare_digest(password.encode(), expected.encode())
        if not ok:
            self._failed_attempt(password=True)
        return ok

    def public_key_auth_supported(self) -> bool:
        return self.w.config.auth == "keys" and not self.is_instructor and not self.invalid_user

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        known = self.w.authorized.get(key.public_data)
        if known is None:
            self._failed_attempt(password=False)
            return False
        self.key_fingerprint = key.get_fingerprint("sha256")
        return True

    def _failed_attempt(self, *, password: bool) -> None:
        self.failed += 1
        if password:
            # Only guessed secrets count against the address: a client offering
            # several unknown keys is normal, guessing passwords is not.
            self.w.record_failure(self.address)
        if self.failed >= self.w.config.failed_logins_per_connection or self.w.address_blocked(
            self.address
        ):
            self._refuse(asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "too many failed logins")

    # -- what a client may open ------------------------------------------------------
    def session_requested(self) -> LearnerSession:
        return LearnerSession(self.w, self)

    def connection_requested(self, *_args: Any) -> bool:
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "port forwarding is disabled on this server"
        )

    def server_requested(self, *_args: Any) -> bool:
        return False  # a global request has no room for a message; the client says "failed"

    def unix_connection_requested(self, *_args: Any) -> bool:
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED,
            "socket forwarding is disabled on this server",
        )

    def unix_server_requested(self, *_args: Any) -> bool:
        return False

    def tun_requested(self, *_args: Any) -> bool:
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "tunnels are disabled on this server"
        )

    def tap_requested(self, *_args: Any) -> bool:
        return self.tun_requested()

    @property
    def profile(self) -> str:
        if self.key_fingerprint:
            # Two people may pick the same name; in key mode their keys tell them apart.
            tag = re.sub(r"[^A-Za-z0-9]", "", self.key_fingerprint.partition(":")[2])[:8]
            return f"{self.username}-{tag}"
        return self.username


class LearnerSession(asyncssh.SSHServerSession):
    """One session channel: the game (or the board) on its own pty, or a refusal."""

    def __init__(self, workshop: Workshop, owner: LearnerConnection) -> None:
        self.w = workshop
        self.owner = owner
        self.chan: asyncssh.SSHServerChannel | None = None
        self.term: str | None = None
        self.size = (80, 24, 0, 0)
        self.refusal: str | None = None
        self.child: PtyChild | None = None
        self.last_input = time.monotonic()
        self.warned = False
        self.ending = False
        self.since = now_iso()
        self._cleanup: asyncio.Task[None] | None = None

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
        self.refusal = "this server runs only the concurrency tutor game; commands are not allowed (connect with plain 'ssh -p PORT NAME@HOST')"
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        self.refusal = (
            f"the '{subsystem}' subsystem is disabled: no file transfer (sftp/scp) on this server"
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
        if self.refusal is None and self.term is None:
            self.refusal = "this server needs an interactive terminal: connect with plain 'ssh -p PORT NAME@HOST' (not -T, no piped input)"
        if self.refusal is None and self.w.stopping:
            self.refusal = "the workshop server is shutting down"
        if self.refusal is None and self.running_count() >= self.w.max_sessions:
            self.refusal = f"the workshop server is full ({self.w.max_sessions} sessions): try again in a few minutes"
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
        cols, rows, xpix, ypix = self.size
        env = self.w.child_env(self.term or "xterm-256color", colorterm, owner.profile)
        self.w.spares.last_start = time.monotonic()
        spare = None if owner.is_instructor else self.w.spares.take()
        try:
            if spare is not None:
                child, pipe = spare
                child.resize(cols, rows, xpix, ypix)  # before the app reads its size
                order = {"env": env, "cwd": env["HOME"], "argv": self.w.config.app_args}
                try:
                    os.write(pipe, (json.dumps(order) + "\n").encode())
                finally:
                    os.close(pipe)
                child.attach(self._output, self._child_exited)
                self.child = child
            else:
                self.child = PtyChild(
                    command,
                    env,
                    cwd=env["HOME"],
                    cols=cols,
                    rows=rows,
                    on_output=self._output,
                    on_exit=self._child_exited,
                )
        except OSError as exc:
            print(f"tutor: cannot start a session for {owner.username}: {exc}", file=sys.stderr)
            self._refuse("the server could not start the game; tell the instructor")
            return
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
        if not self.ending:
            self.ending = True
            self._cleanup = asyncio.ensure_future(self._dropped())

    async def _dropped(self) -> None:
        if self.child is not None:
            await self.child.terminate(self.w.config.kill_grace)
        self._forget()

    def _forget(self) -> None:
        if self in self.w.sessions:
            self.w.sessions.discard(self)
            self.w.publish()


def load_authorized_keys(path: Path) -> list[asyncssh.SSHKey]:
    from tutor.cli import UsageError

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--authorized-keys: cannot read {path}: {exc.strerror}") from exc
    keys: list[asyncssh.SSHKey] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            keys.append(asyncssh.import_public_key(line))
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise UsageError(
                f"--authorized-keys: {path}:{number}: not a public key line ('ssh-ed25519 AAAA... comment'): {exc}"
            ) from exc
    if not keys:
        raise UsageError(
            f"--authorized-keys: {path} has no public keys (one 'ssh-ed25519 AAAA...' per line)"
        )
    return keys


def _connect_hint(host: str, port: int) -> str:
    shown = "THIS-HOST" if host in ("", "0.0.0.0", "::") else host
    port_part = "" if port == 22 else f"-p {port} "
    return f"ssh {port_part}NAME@{shown}"


async def serve(config: ServeConfig, *, ready: asyncio.Event | None = None) -> int:
    """Run until SIGINT/SIGTERM; returns the exit status."""
    authorized = (
        load_authorized_keys(config.authorized_keys)
        if config.auth == "keys" and config.authorized_keys
        else []
    )
    key = hostkey.load_or_create(config.data_dir)
    workshop = Workshop(config, authorized)
    workshop.bench_dir.mkdir(parents=True, exist_ok=True)
    from tutor.lab import benchqueue

    benchqueue.write_config(workshop.bench_dir, slots=config.bench_slots)

    # Handlers first: a stop signal that arrives as soon as the banner is out must
    # still get the orderly shutdown (tests and scripts send it right then).
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # A hang-up of the instructor's terminal should not leave learners with no server
    # and orphaned sessions: treat it like a stop.
    with contextlib.suppress(ValueError, RuntimeError):
        loop.add_signal_handler(signal.SIGHUP, stop.set)
    server = await asyncssh.create_server(
        lambda: LearnerConnection(workshop),
        config.host,
        config.port,
        server_host_keys=[key],
        encoding=None,
        line_editor=False,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_scp=False,
        login_timeout=config.login_grace,
        keepalive_interval=config.keepalive_interval,
        keepalive_count_max=config.keepalive_count_max,
        server_version="concurrency-tutor",
    )
    port = server.get_port() or config.port
    out = sys.stdout
    print("concurrency-tutor SSH server", file=out)
    print(f"listening on {config.host}:{port}", file=out)
    print(f"learners connect with:   {_connect_hint(config.host, port)}", file=out)
    print(f"host key fingerprint:    {hostkey.fingerprint(key)}", file=out)
    if config.auth == "password":
        print(f"password:                {config.password}", file=out)
    elif config.auth == "keys":
        print(
            f"authentication:          public keys from {config.authorized_keys} ({len(authorized)} keys)",
            file=out,
        )
    else:
        bar = "!" * 72
        print(bar, file=out)
        print(
            "!! --auth open: ANYONE who can reach this port gets a session, no password.", file=out
        )
        print("!! Use it only on a closed workshop network, never on the internet.", file=out)
        print(bar, file=out)
    if config.instructor:
        print(
            f"instructor board:        ssh -p {port} {config.instructor}@HOST  (password: {config.instructor_password})",
            file=out,
        )
    print(
        f"limits: {workshop.max_sessions} sessions, {config.max_per_address} connections per address, "
        f"idle timeout {int(config.idle_timeout)} s",
        file=out,
    )
    print("stop with Ctrl-C", file=out, flush=True)
    workshop.publish()

    idle = asyncio.ensure_future(workshop.idle_watch())
    workshop.spares.fill()
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        workshop.stopping = True
        idle.cancel()
        print("stopping: ending every session", file=out, flush=True)
        server.close()
        await workshop.spares.close()
        sessions = list(workshop.sessions)
        for sess in sessions:
            sess.end("the workshop server stopped. Your progress is saved.")
        tasks = [s._cleanup for s in sessions if s._cleanup is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=config.kill_grace + 3)
        # Give asyncssh a moment to flush the resets, then close what is left
        # (connections still logging in).
        await asyncio.sleep(0.2)
        for conn in list(workshop.connections):
            conn.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)
        clear_sessions(config.data_dir)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    print("stopped", file=out, flush=True)
    return 0
