"""Every refusal and limit of the SSH server, checked with an asyncssh client."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from pathlib import Path

import asyncssh
import psutil
import pytest
from serve_helpers import RunningServer, wait_gone

LESSONS = b"Lessons"


async def connect(
    server: RunningServer, user: str = "alice", **kwargs
) -> asyncssh.SSHClientConnection:
    options = {"known_hosts": None, "client_keys": None, "agent_path": None, "password": None}
    options.update(kwargs)
    return await asyncssh.connect("127.0.0.1", server.port, username=user, **options)


async def refusal(server: RunningServer, user: str, **kwargs) -> str:
    """Why the server cut ``user``'s login off (it must: anything else fails the test)."""
    with pytest.raises(asyncssh.DisconnectError) as refused:
        await connect(server, user, **kwargs)
    return str(refused.value.reason)


async def open_app(conn: asyncssh.SSHClientConnection, size: tuple[int, int] = (80, 24)):
    proc = await conn.create_process(term_type="xterm-256color", term_size=size, encoding=None)
    seen = await read_until(proc, LESSONS)
    return proc, seen


async def read_until(proc, needle: bytes, timeout: float = 15) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} not received; got {seen[-400:]!r}")
        try:
            chunk = await asyncio.wait_for(proc.stdout.read(65536), left)
        except TimeoutError:
            continue
        if not chunk:
            raise AssertionError(f"stream ended before {needle!r}; got {seen[-400:]!r}")
        seen += chunk
    return seen


async def read_all(proc, timeout: float = 10) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = await asyncio.wait_for(proc.stdout.read(65536), deadline - time.monotonic())
        except TimeoutError:
            break
        if not chunk:
            break
        seen += chunk
    return seen


async def test_exec_is_refused_and_never_runs(server_factory, tmp_path: Path) -> None:
    server = server_factory()
    marker = tmp_path / "ran"
    async with await connect(server) as conn:
        result = await conn.run(f"touch {marker}", check=False)
    assert result.exit_status == 1
    assert "commands are not allowed" in result.stderr
    assert not marker.exists()
    assert server.sessions() == []


async def test_sftp_and_other_subsystems_are_refused(server_factory) -> None:
    server = server_factory()
    async with await connect(server) as conn:
        proc = await conn.create_process(subsystem="sftp")
        result = await proc.wait()
        assert result.exit_status == 1
        assert "no file transfer" in result.stderr
        with pytest.raises((asyncssh.Error, OSError)):
            await conn.start_sftp_client()


async def test_session_without_pty_is_refused(server_factory) -> None:
    server = server_factory()
    async with await connect(server) as conn:
        result = await conn.run(check=False)  # a shell, no pty
    assert result.exit_status == 1
    assert "needs an interactive terminal" in result.stderr


async def test_port_forwarding_is_refused(server_factory) -> None:
    server = server_factory()
    async with await connect(server) as conn:
        with pytest.raises(asyncssh.ChannelOpenError) as opened:
            await conn.open_connection("127.0.0.1", server.port)
        assert "port forwarding is disabled" in opened.value.reason
        with pytest.raises(asyncssh.ChannelListenError):
            await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", 9)
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_unix_connection("/run/anything.sock")


async def test_password_auth(server_factory) -> None:
    server = server_factory(auth="password", password="right-horse-battery")
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(server, password="wrong-password")
    async with await connect(server, password="right-horse-battery") as conn:
        proc, _ = await open_app(conn)
        proc.stdin.write(b"q")
        await asyncio.wait_for(proc.wait(), 10)


async def test_too_many_sessions(server_factory) -> None:
    server = server_factory(max_sessions=1)
    async with await connect(server, "first") as first:
        proc, _ = await open_app(first)
        async with await connect(server, "second") as second:
            refused = await second.create_process(term_type="xterm", encoding=None)
            result = await asyncio.wait_for(refused.wait(), 10)
            assert result.exit_status == 1
            assert b"server is full" in result.stderr
        assert [s["user"] for s in server.sessions()] == ["first"]
        proc.stdin.write(b"q")
        await asyncio.wait_for(proc.wait(), 10)


class GuessingClient(asyncssh.SSHClient):
    """Keeps guessing passwords on one connection, like a brute-force script."""

    def password_auth_requested(self) -> str:
        return "guess"


async def guess_passwords(server: RunningServer, user: str = "eve") -> None:
    """Log in as ``user`` with a GuessingClient: raises once the server cuts it off."""
    await asyncssh.connect(
        "127.0.0.1",
        server.port,
        username=user,
        known_hosts=None,
        client_keys=None,
        agent_path=None,
        client_factory=GuessingClient,
    )


async def test_failed_login_limit_per_connection(server_factory) -> None:
    server = server_factory(
        auth="password", password="the-real-one", failed_logins_per_connection=3
    )
    started = time.monotonic()
    # The client keeps guessing for ever unless the server cuts it off. It usually
    # reads the server's reason; if it was writing its next guess just then, it
    # sees the closed socket instead (a race in TCP, not in the server).
    with pytest.raises((asyncssh.DisconnectError, ConnectionError)) as failed:
        await guess_passwords(server)
    if isinstance(failed.value, asyncssh.DisconnectError):
        assert "too many failed logins" in str(failed.value.reason)
    assert time.monotonic() - started < 10


async def test_connections_per_address(server_factory) -> None:
    server = server_factory(max_per_address=2)
    async with await connect(server, "a"), await connect(server, "b"):
        assert "too many connections from your address" in await refusal(server, "c")
    # Once they leave, the address may connect again (as soon as the server has
    # seen them go: try until it has, within a bound).
    deadline = time.monotonic() + 10
    while True:
        try:
            async with await connect(server, "d"):
                break
        except asyncssh.DisconnectError as exc:
            assert "too many connections" in str(exc.reason)
            assert time.monotonic() < deadline, (
                "the address stayed refused after its connections left"
            )
            await asyncio.sleep(0.05)


def test_login_grace_time(server_factory) -> None:
    server = server_factory(login_grace=1.0)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        assert sock.recv(100).startswith(b"SSH-2.0-")
        started = time.monotonic()
        # Say nothing: the server must hang up after the grace time.
        while True:
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                break
            if not data:
                break
        took = time.monotonic() - started
    assert 0.5 < took < 5


async def test_bad_user_name_is_refused(server_factory) -> None:
    server = server_factory()
    with pytest.raises((asyncssh.DisconnectError, asyncssh.PermissionDenied)):
        await connect(server, "../../etc")


async def test_idle_timeout_warns_then_ends(server_factory) -> None:
    server = server_factory(idle_timeout=4, idle_warning=2.5)
    async with await connect(server) as conn:
        proc, seen = await open_app(conn)
        (session,) = server.wait_sessions(1)
        # Input postpones the end: type at the warning, and the session lives on.
        # (On a slow host the warning may come before the app's first frame.)
        if b"this session ends in" not in seen:
            await read_until(proc, b"this session ends in", timeout=5)
        proc.stdin.write(b"x")
        # Time itself is under test: past the moment the session would have ended untouched.
        await asyncio.sleep(1.5)
        assert server.sessions(), "typing at the warning should keep the session"
        await read_until(proc, b"this session ends in", timeout=5)
        rest = await read_all(proc, timeout=6)
        assert b"No input for" in rest
        assert b"\x1b[?1049l" in rest  # the learner's terminal is reset
        await asyncio.wait_for(proc.wait(), 5)
    wait_gone([session["pid"]])


async def test_sigterm_resets_terminals_and_leaves_no_children(server_factory) -> None:
    server = server_factory()
    conns = [await connect(server, f"learner{i}") for i in range(2)]
    procs = [(await open_app(c))[0] for c in conns]
    server.wait_sessions(2)
    tree = [p.pid for p in server.descendants()]
    assert len(tree) >= 2
    server.proc.send_signal(signal.SIGTERM)
    for proc in procs:
        rest = await read_all(proc, timeout=8)
        assert b"\x1b[?1049l" in rest and b"\x1b[?25h" in rest and b"\x1b[0m" in rest
        assert b"server stopped" in rest
    assert server.proc.wait(10) == 0
    wait_gone(tree, 3)
    assert not (server.data_dir / "sessions.json").exists()
    for conn in conns:
        conn.close()


async def test_sigkill_of_the_server_takes_the_sessions_along(server_factory) -> None:
    server = server_factory()
    async with await connect(server) as conn:
        await open_app(conn)
        (session,) = server.wait_sessions(1)
        tree = [
            session["pid"],
            *[p.pid for p in psutil.Process(session["pid"]).children(recursive=True)],
        ]
        server.proc.kill()
        server.proc.wait(5)
        # No cleanup code ran: the kernel's parent-death signal and the hang-up of
        # the pty have to do it.
        wait_gone(tree, 5)


async def test_instructor_gets_the_board_with_their_own_password(server_factory) -> None:
    board = [
        sys.executable,
        "-c",
        "import os,time; print('BOARD for', os.environ['TUTOR_PROFILE'], flush=True); time.sleep(30)",
    ]
    server = server_factory(
        auth="password",
        password="learners-pass",
        instructor="teach",
        instructor_password="teacher-pass",
        board_command=board,
        idle_timeout=2.0,
    )
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(server, "teach", password="learners-pass")
    async with await connect(server, "teach", password="teacher-pass") as conn:
        proc = await conn.create_process(term_type="xterm", encoding=None)
        await read_until(proc, b"BOARD for teach")
        sessions = server.wait_sessions(1)
        assert sessions[0]["role"] == "instructor"
        await asyncio.sleep(2.5)  # time under test: past the idle timeout, the board stays up
        assert server.sessions() and proc.exit_status is None
    async with await connect(server, "alice", password="learners-pass"):
        pass  # learners still log in with theirs


async def test_key_auth_profile_carries_the_key(server_factory, tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    keys_file = tmp_path / "authorized_keys"
    keys_file.write_text("# workshop keys\n" + key.export_public_key().decode())
    server = server_factory(auth="keys", authorized_keys=str(keys_file))
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(server, "alice", client_keys=[stranger])
    async with await connect(server, "alice", client_keys=[key]) as conn:
        await open_app(conn)
        (session,) = server.wait_sessions(1)
    tag = "".join(ch for ch in key.get_fingerprint("sha256").split(":", 1)[1] if ch.isalnum())[:8]
    assert session["profile"] == f"alice-{tag}"
    wait_gone([session["pid"]])  # leaving ends the game


async def test_instructor_gets_the_real_board(server_factory) -> None:
    server = server_factory(
        auth="password",
        password="learners-pass",
        instructor="teach",
        instructor_password="teacher-pass",
    )
    async with await connect(server, "alice", password="learners-pass") as learner:
        await open_app(learner)
        async with await connect(server, "teach", password="teacher-pass") as conn:
            proc = await conn.create_process(
                term_type="xterm-256color", term_size=(80, 24), encoding=None
            )
            # The board counts the learner who is connected right now.
            await read_until(proc, b"1 connected", timeout=20)
            proc.stdin.write(b"q")
            await asyncio.wait_for(proc.wait(), 10)


async def test_client_environment_does_not_reach_the_session(server_factory) -> None:
    server = server_factory()
    async with await connect(server) as conn:
        proc = await conn.create_process(
            term_type="xterm-256color",
            term_size=(80, 24),
            encoding=None,
            env={
                "LD_PRELOAD": "/nonexistent/evil.so",
                "COLORTERM": "evil",
                "TUTOR_PROFILE": "someone-else",
            },
        )
        seen = await read_until(proc, b"TUTOR_PROFILE=alice")
        assert b"COLORTERM=-" in seen  # only "truecolor"/"24bit" pass
        assert b"ld.so" not in seen and b"evil" not in seen
