"""The workshop limits under hostile and unlucky use (issue 12, rows 1-6).

Real servers on loopback, asyncssh clients and raw sockets; 127.0.0.x sources
stand for different machines.
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncssh
import psutil
import pytest
from serve_helpers import SERVER_MAIN, read_banner, serve_ssh_command, stop, wait_gone
from test_refusals import connect, guess_passwords, open_app, read_until, refusal


async def test_one_session_channel_per_connection(server_factory) -> None:
    """Row 1: one login opened 30 session channels and got 30 games."""
    server = server_factory(max_sessions=10)
    async with await connect(server) as conn:
        proc, _ = await open_app(conn)
        (session,) = server.wait_sessions(1)
        refused = []
        for _ in range(3):
            extra = await conn.create_process(term_type="xterm", encoding=None)
            result = await asyncio.wait_for(extra.wait(), 10)
            refused.append(result)
        for result in refused:
            assert result.exit_status == 1
            assert b"one session per connection" in result.stderr
        # Past a few explained refusals the channel is not even opened.
        with pytest.raises(asyncssh.ChannelOpenError) as opened:
            for _ in range(30):
                await conn.create_process(term_type="xterm", encoding=None)
        assert "one session per connection" in opened.value.reason
        await asyncio.sleep(0.3)
        assert [s["pid"] for s in server.sessions()] == [session["pid"]]
        # The game itself is unharmed.
        proc.stdin.write(b"z")
        await read_until(proc, b"z")
        proc.stdin.write(b"q")
        await asyncio.wait_for(proc.wait(), 10)


def _server_children(server) -> set[int]:
    try:
        return {p.pid for p in psutil.Process(server.proc.pid).children()}
    except psutil.NoSuchProcess:
        return set()


def _sessions_doc(server) -> dict:
    try:
        return json.loads((server.data_dir / "sessions.json").read_text())
    except (OSError, ValueError):
        return {"sessions": [], "spares": [], "spares_warm": 0}  # not written yet


def _accounted(server) -> set[int]:
    doc = _sessions_doc(server)
    return set(doc["spares"]) | {s["pid"] for s in doc["sessions"] if s.get("pid")}


async def test_huge_pixel_sizes_leave_no_orphan_spare(server_factory) -> None:
    """Row 2: a 70000x70000 pixel pty request dropped the connection and orphaned a spare."""
    server = server_factory(session_command=None, spares=1)  # the real game, with a spare
    deadline = time.monotonic() + 30
    while True:
        doc = _sessions_doc(server)
        if doc["spares_warm"] == 1:
            break
        assert time.monotonic() < deadline, doc
        await asyncio.sleep(0.1)
    (spare,) = doc["spares"]
    async with await connect(server) as conn:
        proc = await conn.create_process(
            term_type="xterm-256color", term_size=(80, 24, 70000, 70000), encoding=None
        )
        await read_until(proc, b"lesson map", timeout=30)
        (session,) = server.wait_sessions(1)
        assert session["pid"] == spare  # the spare became this learner's game
        proc.change_terminal_size(100, 30, 99999, 99999)
        await asyncio.sleep(0.5)
        assert proc.exit_status is None and server.sessions()
    wait_gone([session["pid"]], 10)
    server.wait_sessions(0)
    # Every child of the server is a session or a spare it knows about.
    deadline = time.monotonic() + 10
    while _server_children(server) - _accounted(server):
        assert time.monotonic() < deadline, (_server_children(server), _accounted(server))
        await asyncio.sleep(0.1)


async def test_wrong_passwords_slow_guessers_and_lock_nobody_out(server_factory) -> None:
    """Row 3: 24 wrong passwords from one address locked out the room and the instructor."""
    server = server_factory(
        auth="password",
        password="the-real-one",
        instructor="teach",
        instructor_password="teacher-pass",
        failed_logins_per_address=3,
        failed_logins_per_name=2,
        failed_login_max_delay=0.5,
    )
    # 24 wrong passwords from this address: 4 connections guessing 6 times each.
    for _ in range(4):
        with pytest.raises((asyncssh.DisconnectError, ConnectionError)):
            await guess_passwords(server)
    # The right passwords get in at once: a learner on the same network, the
    # name that was guessed, and the instructor.
    for user, password in (
        ("alice", "the-real-one"),
        ("eve", "the-real-one"),
        ("teach", "teacher-pass"),
    ):
        started = time.monotonic()
        async with await connect(server, user, password=password):
            pass
        assert time.monotonic() - started < 5, user
    # A wrong answer now comes late: guessing is slow.
    started = time.monotonic()
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(server, "eve", password="guess")
    assert time.monotonic() - started >= 0.45


async def test_idle_connections_do_not_use_up_an_address(server_factory) -> None:
    """Row 4: 10 idle TCP connections turned the next real learner away."""
    server = server_factory(max_per_address=2)
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(10)]
    try:
        for sock in idle:
            assert sock.recv(100).startswith(b"SSH-2.0-")
        async with await connect(server, "a"), await connect(server, "b"):
            # Logged-in connections still count: the address's limit holds.
            assert "too many connections from your address" in await refusal(server, "c")
    finally:
        for sock in idle:
            sock.close()


def test_default_login_grace_is_shorter() -> None:
    from tutor.cli import build_parser
    from tutor.serve.ssh import ServeConfig

    assert build_parser().parse_args(["serve", "ssh"]).login_grace <= 30
    assert ServeConfig(data_dir=Path("x")).login_grace <= 30


def test_serve_ssh_options_default_to_the_config() -> None:
    """Every option of `tutor serve ssh` named after a ServeConfig field starts from the field's default."""
    import dataclasses

    from tutor.cli import build_parser
    from tutor.serve.ssh import ServeConfig

    fields = {
        f.name: f.default
        for f in dataclasses.fields(ServeConfig)
        if f.default is not dataclasses.MISSING
    }
    serve = next(a for a in build_parser()._actions if a.dest == "command").choices["serve"]
    ssh = next(a for a in serve._actions if a.dest == "transport").choices["ssh"]
    options = {a.dest: a.default for a in ssh._actions if a.dest in fields}
    assert set(options) >= {
        "host",
        "port",
        "auth",
        "idle_timeout",
        "max_per_address",
        "max_logging_in",
        "login_grace",
        "spares",
    }
    assert options == {name: fields[name] for name in options}


def _idle_from(address: str, port: int) -> socket.socket:
    sock = socket.socket()
    sock.settimeout(10)
    sock.bind((address, 0))
    sock.connect(("127.0.0.1", port))
    assert sock.recv(100).startswith(b"SSH-2.0-")
    return sock


async def test_connections_logging_in_are_capped_over_all_addresses(server_factory) -> None:
    """Row 5: idle connections from many addresses exhausted the server's files."""
    server = server_factory(max_logging_in=4)
    idle = [_idle_from(f"127.0.0.{i}", server.port) for i in range(2, 6)]
    try:
        assert "logging in right now" in await refusal(server, "alice")
    finally:
        for sock in idle:
            sock.close()
    await asyncio.sleep(0.3)
    async with await connect(server, "alice"):
        pass  # their places are free again


def _lower_soft_fd_limit(soft: int, hard: int | None = None):
    def setup() -> None:
        current_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, current_hard if hard is None else hard))

    return setup


def _soft_fd_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open-file limit")


def test_the_open_file_limit_is_raised_at_start(tmp_path: Path) -> None:
    """Row 5: the server kept a low soft limit though the hard one allowed more."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= 512:
        pytest.skip(f"the hard open-file limit here is only {hard}")
    config = {"data_dir": str(tmp_path / "d"), "port": 0, "auth": "open", "max_sessions": 5}
    proc = subprocess.Popen(
        [sys.executable, str(SERVER_MAIN), json.dumps(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_lower_soft_fd_limit(256),  # noqa: PLW1509 - the limit must be set before exec
    )
    try:
        read_banner(proc)
        assert _soft_fd_limit(proc.pid) > 256
    finally:
        stop(proc)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def test_max_sessions_beyond_the_open_file_limit_is_a_usage_error(tmp_path: Path) -> None:
    """Row 5: checked before the port is bound, not found out as EMFILE in the room."""
    proc = subprocess.Popen(
        serve_ssh_command(tmp_path / "d", "--auth", "open", "--max-sessions", "500"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_lower_soft_fd_limit(256, 256),  # noqa: PLW1509 - the limit must be set before exec
    )
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise AssertionError(
            "the server started with too few open files for its sessions"
        ) from None
    assert proc.returncode == 2
    assert "--max-sessions 500 needs about" in err and err.count("\n") == 1, err
    assert "listening" not in out


async def test_a_login_without_a_session_ends_after_the_login_grace(server_factory) -> None:
    """Row 6: 'ssh -N' held one of the address's places past the idle timeout."""
    server = server_factory(login_grace=1.0, idle_timeout=60, max_per_address=1)
    conn = await connect(server)  # logged in, never opens a session
    started = time.monotonic()
    await asyncio.wait_for(conn.wait_closed(), 8)
    assert time.monotonic() - started < 5
    # Its place is free: the address may log in again, and play.
    async with await connect(server) as again:
        proc, _ = await open_app(again)
        await asyncio.sleep(1.5)  # past the grace: a connection with a game stays
        assert proc.exit_status is None
        proc.stdin.write(b"q")
        await asyncio.wait_for(proc.wait(), 10)


async def test_key_logins_count_once_against_their_address(server_factory, tmp_path: Path) -> None:
    """A key is checked twice (the client's query, then its signature): counted once."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    keys_file = tmp_path / "authorized_keys"
    keys_file.write_text(key.export_public_key().decode())
    server = server_factory(auth="keys", authorized_keys=str(keys_file), max_per_address=1)
    async with await connect(server, "alice", client_keys=[key]) as conn:
        await open_app(conn)
        reason = await refusal(server, "bob", client_keys=[key])
        assert "too many connections from your address" in reason
    await asyncio.sleep(0.3)
    async with await connect(server, "bob", client_keys=[key]):
        pass
