"""One child process on its own pseudo-terminal, driven from an asyncio loop.

POSIX-only (pseudo-terminals, termios, fcntl, process groups): imported only by
the SSH server, which ``tutor serve ssh`` never reaches on Windows.

The SSH server gives every session one of these: the app never runs inside the
server process, so one learner's CPU-heavy run or crash cannot freeze or take
down the others. Everything here is non-blocking and runs on
the server's event loop: the pty master is registered with ``add_reader`` and
the child's exit with a pidfd, so no thread per session is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
from collections.abc import Callable, Mapping, Sequence

import psutil

PR_SET_PDEATHSIG = 1
READ_CHUNK = 65536


def _child_setup() -> None:
    """Runs in the child between fork and exec (after setsid).

    - The pty becomes the controlling terminal, so the kernel delivers SIGHUP
      when the master closes and SIGWINCH when the size changes.
    - SIGHUP back to its default: the server may ignore it, and an ignored
      disposition would survive exec and keep the app alive after a hang-up.
    - PR_SET_PDEATHSIG: if the server is SIGKILLed it cannot clean up, so the
      kernel kills the child for it.
    """
    with contextlib.suppress(OSError):
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The parent may already have died between fork and prctl.
        if os.getppid() == 1:
            os._exit(1)


def set_winsize(fd: int, cols: int, rows: int, xpix: int = 0, ypix: int = 0) -> None:
    cols = max(1, min(int(cols), 1000))
    rows = max(1, min(int(rows), 1000))
    # The SSH protocol allows 32-bit sizes, the kernel's winsize holds 16 bits:
    # an unclamped value makes struct.pack raise in the middle of a hand-off.
    xpix = max(0, min(int(xpix), 0xFFFF))
    ypix = max(0, min(int(ypix), 0xFFFF))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, xpix, ypix))


def _proc_table() -> list[tuple[int, int, int]] | None:
    """(pid, ppid, session id) of every process, from one pass over /proc (Linux)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    table: list[tuple[int, int, int]] = []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue  # gone meanwhile
        # "pid (comm) state ppid pgrp session ...": comm may contain spaces and ")".
        fields = data[data.rfind(b")") + 2 :].split()
        if fields[:1] == [b"Z"]:
            continue  # already dead, only waiting for its parent to reap it
        try:
            table.append((int(name), int(fields[1]), int(fields[3])))
        except (IndexError, ValueError):
            continue
    return table


def session_pids(leader: int) -> list[int]:
    """Every live process of the child's session, and every descendant of the child.

    A lab run starts its runner in a session of its own, so the session id alone
    would miss it while the game is alive; the descendants catch it. One pass
    over /proc (a few ms): this runs for every ending session, and 30 sessions
    may end at once.
    """
    table = _proc_table()
    if table is None:
        return [p.pid for p in _session_processes_psutil(leader)]
    kids: dict[int, list[int]] = {}
    found: set[int] = set()
    for pid, ppid, sid in table:
        kids.setdefault(ppid, []).append(pid)
        if sid == leader or pid == leader:
            found.add(pid)
    stack = [leader]
    while stack:
        for child in kids.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return sorted(found)


def _session_processes_psutil(leader: int) -> list[psutil.Process]:
    found: list[psutil.Process] = []
    try:
        found.append(psutil.Process(leader))
        found.extend(psutil.Process(leader).children(recursive=True))
    except psutil.Error:
        pass
    seen = {p.pid for p in found}
    for proc in psutil.process_iter(["pid"]):
        if proc.pid in seen:
            continue
        try:
            if os.getsid(proc.pid) == leader:
                found.append(proc)
        except OSError:
            continue
    return found


def signal_session(leader: int, *sigs: int) -> None:
    """Send each signal to the child's process group and every process of its session."""
    pids = session_pids(leader)
    for sig in sigs:
        with contextlib.suppress(OSError):
            os.killpg(leader, sig)
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PtyChild:
    """A command on a fresh pty; output goes to ``on_output``, exit to ``on_exit``."""

    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str],
        cwd: str,
        cols: int,
        rows: int,
        on_output: Callable[[bytes], None] | None = None,
        on_exit: Callable[[int | None], None] | None = None,
        pass_fds: Sequence[int] = (),
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._on_output = on_output or self._hold_output
        self._on_exit = on_exit or (lambda _rc: None)
        self._held = bytearray()  # output before anyone listens (a spare never writes)
        self._pending = bytearray()  # input not yet accepted by the pty
        self._reading = False
        self._closed = False
        self.returncode: int | None = None
        self.exited = asyncio.Event()
        master, slave = os.openpty()
        try:
            set_winsize(slave, cols, rows)
            self.proc = subprocess.Popen(
                list(command),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=dict(env),
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_child_setup,  # noqa: PLW1509 - needed for TIOCSCTTY and PDEATHSIG
                close_fds=True,
                pass_fds=tuple(pass_fds),
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self.pid = self.proc.pid
        self.master = master
        os.set_blocking(master, False)
        self.resume_output()
        self._pidfd: int | None = None
        if sys.platform != "linux":  # pidfds are Linux's: macOS polls for the exit
            self._poll_exit()
            return
        try:
            self._pidfd = os.pidfd_open(self.pid)
            self._loop.add_reader(self._pidfd, self._reap)
        except (AttributeError, OSError):
            self._poll_exit()

    def attach(
        self, on_output: Callable[[bytes], None], on_exit: Callable[[int | None], None]
    ) -> None:
        """Give a started child (a warm spare) its session's callbacks."""
        self._on_output = on_output
        self._on_exit = on_exit
        if self._held:
            held, self._held = bytes(self._held), bytearray()
            on_output(held)
        if self.returncode is not None:
            on_exit(self.returncode)

    def _hold_output(self, data: bytes) -> None:
        self._held += data[: max(0, 65536 - len(self._held))]

    # -- output: pty -> client ------------------------------------------------
    def pause_output(self) -> None:
        """The client cannot keep up: stop reading, the pty buffer will push back."""
        if self._reading and not self._closed:
            self._loop.remove_reader(self.master)
            self._reading = False

    def resume_output(self) -> None:
        if not self._reading and not self._closed:
            self._loop.add_reader(self.master, self._read)
            self._reading = True

    def _read(self) -> None:
        try:
            data = os.read(self.master, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError as exc:
            # EIO: every slave fd is closed (the child and its children exited).
            if exc.errno != errno.EIO:
                raise
            data = b""
        if data:
            self._on_output(data)
        else:
            self.pause_output()

    # -- input: client -> pty -------------------------------------------------
    def write(self, data: bytes) -> None:
        if self._closed:
            return
        if self._pending:
            self._pending += data
            return
        try:
            n = os.write(self.master, data)
        except BlockingIOError:
            n = 0
        except OSError:
            return
        if n < len(data):
            # A big paste while the app is busy: keep it and write when the pty drains,
            # never block the loop that serves every session.
            self._pending += data[n:]
            self._loop.add_writer(self.master, self._flush)

    def _flush(self) -> None:
        try:
            n = os.write(self.master, self._pending)
        except BlockingIOError:
            return
        except OSError:
            n = len(self._pending)
        del self._pending[:n]
        if not self._pending:
            self._loop.remove_writer(self.master)

    def resize(self, cols: int, rows: int, xpix: int = 0, ypix: int = 0) -> None:
        if self._closed:
            return
        with contextlib.suppress(OSError):
            set_winsize(self.master, cols, rows, xpix, ypix)
        # The kernel signals the foreground group; signal the session's group too
        # in case the app moved its terminal handling elsewhere.
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGWINCH)

    # -- exit -----------------------------------------------------------------
    def _reap(self) -> None:
        rc = self.proc.poll()
        if rc is None:
            return
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        self._finish(rc)

    def _poll_exit(self) -> None:
        rc = self.proc.poll()
        if rc is None:
            self._loop.call_later(0.2, self._poll_exit)
        else:
            self._finish(rc)

    def _finish(self, rc: int) -> None:
        if self.returncode is not None:
            return
        # Drain what the app printed last (its own terminal reset) before closing.
        if self._reading:
            for _ in range(64):
                try:
                    data = os.read(self.master, READ_CHUNK)
                except OSError:
                    break
                if not data:
                    break
                self._on_output(data)
        self.returncode = rc
        self.close_pty()
        self.exited.set()
        self._on_exit(rc)

    def close_pty(self) -> None:
        if self._closed:
            return
        self.pause_output()
        if self._pending:
            self._loop.remove_writer(self.master)
            self._pending.clear()
        self._closed = True
        with contextlib.suppress(OSError):
            os.close(self.master)

    async def terminate(self, grace: float = 2.0) -> None:
        """End the whole session: hang-up, then TERM, then KILL after ``grace``.

        Closing the master sends SIGHUP to the child (its controlling terminal is
        gone); the explicit signals cover processes that ignore it or left the
        foreground group, such as a lab runner in its own process group.
        """
        self.close_pty()
        leader = self.pid
        signal_session(leader, signal.SIGHUP, signal.SIGTERM)
        if await self._wait_session_gone(grace):
            return
        signal_session(leader, signal.SIGKILL)
        await self._wait_session_gone(2.0)

    async def _wait_session_gone(self, timeout: float) -> bool:
        """Poll cheaply (the group) and scan every process rarely (the session)."""
        leader = self.pid
        deadline = self._loop.time() + timeout
        next_scan = 0.0
        while True:
            self._reap_quietly()
            now = self._loop.time()
            if self.returncode is not None and not _group_alive(leader) and now >= next_scan:
                # The full scan walks every process on the host: with 30 sessions
                # ending at once, doing it every tick would cost real CPU.
                if not session_pids(leader):
                    return True
                next_scan = now + 0.25
            if now >= deadline:
                return False
            await asyncio.sleep(0.05)

    def _reap_quietly(self) -> None:
        if self.returncode is None and self.proc.poll() is not None:
            if self._pidfd is not None:
                self._loop.remove_reader(self._pidfd)
                os.close(self._pidfd)
                self._pidfd = None
            self._finish(self.proc.returncode)
