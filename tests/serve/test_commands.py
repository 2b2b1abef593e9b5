"""``tutor serve ssh`` and ``tutor serve web`` through the real command line."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import asyncssh
import psutil
import pytest
from serve_helpers import free_port, read_banner, serve_ssh_command, stop, wait_gone

from tutor.cli import main
from tutor.progress import list_profiles


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["serve", "ssh", "--auth", "keys"], "--auth keys needs --authorized-keys"),
        (["serve", "ssh", "--port", "70000"], "--port must be 0-65535"),
        (
            ["serve", "ssh", "--auth", "open", "--password", "secret99"],
            "--password goes with --auth password",
        ),
        (["serve", "ssh", "--password", "abc"], "at least 6"),
        (["serve", "ssh", "--max-sessions", "0"], "--max-sessions must be 1 or more"),
        (["serve", "ssh", "--idle-timeout", "0"], "--idle-timeout must be more than 0"),
        (["serve", "ssh", "--instructor", "bad name"], "--instructor: user name must be"),
        (["serve", "ssh", "--bench-slots", "0"], "--bench-slots must be 1 or more"),
        (["serve", "ssh", "--spares", "-1"], "--spares must be 0-200"),
        (["serve", "web", "--port", "0"], "--port must be 1-65535"),
        (["serve", "web", "--max-sessions", "0"], "--max-sessions must be 1 or more"),
        (["serve", "web", "--allow-origin", "evil.example"], "--allow-origin: not an origin"),
        (
            ["serve", "web", "--allow-origin", "https://a.example/x"],
            "--allow-origin: not an origin",
        ),
    ],
)
def test_usage_errors(argv: list[str], needle: str, capsys, tmp_path: Path) -> None:
    assert main([*argv, "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--idle-timeout", "nan", "--idle-timeout must be more than 0 seconds"),
        ("--idle-timeout", "inf", "--idle-timeout must be more than 0 seconds"),
        ("--login-grace", "0", "--login-grace must be more than 0 seconds"),
        ("--login-grace", "nan", "--login-grace must be more than 0 seconds"),
        ("--max-per-address", "0", "--max-per-address must be 1 or more"),
        ("--max-logging-in", "0", "--max-logging-in must be 1 or more"),
    ],
)
def test_bad_limits_are_usage_errors_before_binding(
    option: str, value: str, needle: str, tmp_path: Path
) -> None:
    """nan once got a traceback after the port was bound; zeros were replaced by defaults."""
    proc = subprocess.Popen(
        serve_ssh_command(tmp_path / "d", "--auth", "open", option, value),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise AssertionError(f"the server started with {option} {value}") from None
    assert proc.returncode == 2, (out, err)
    assert needle in err and err.count("\n") == 1, err
    assert "listening" not in out


def test_bad_authorized_keys_file(tmp_path: Path, capsys) -> None:
    def serve_with_keys(keys: Path) -> int:
        argv = ["serve", "ssh", "--auth", "keys", "--authorized-keys", str(keys)]
        return main([*argv, "--data-dir", str(tmp_path)])

    keys = tmp_path / "keys"
    keys.write_text("ssh-ed25519 not-base64 someone\n")
    assert serve_with_keys(keys) == 2
    assert f"{keys}:1: not a public key line" in capsys.readouterr().err
    assert serve_with_keys(tmp_path / "nope") == 2
    assert "cannot read" in capsys.readouterr().err


def start_cli(data: Path, *extra: str) -> tuple[subprocess.Popen[str], int, list[str]]:
    # SERVER_SECRET stands for anything in the instructor's environment.
    proc = subprocess.Popen(
        serve_ssh_command(data, *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1", SERVER_SECRET="do-not-leak"),
    )
    port, banner = read_banner(proc)
    return proc, port, banner


def value(banner: list[str], label: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in banner if line.startswith(label))


async def test_serve_ssh_password_mode_end_to_end(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc, port, banner = start_cli(data, "--instructor", "teach")
    try:
        text = "\n".join(banner)
        assert f"ssh -p {port} NAME@127.0.0.1" in text
        password = value(banner, "password")
        assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", password)
        fingerprint = value(banner, "host key fingerprint")
        key_file = data / "ssh_host_ed25519_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert asyncssh.read_private_key(str(key_file)).get_fingerprint("sha256") == fingerprint
        assert "instructor board" in text and password not in text.split("instructor board")[1]

        async with asyncssh.connect(
            "127.0.0.1",
            port,
            username="dana",
            password=password,
            known_hosts=None,
            client_keys=None,
            agent_path=None,
        ) as conn:
            assert conn.get_server_host_key().get_fingerprint("sha256") == fingerprint
            # An unusual window size: the game (a warm spare) must start with it.
            chan = await conn.create_process(
                term_type="xterm-256color", term_size=(101, 31), encoding=None
            )
            seen = b""
            deadline = time.monotonic() + 20
            while b"lesson map" not in seen and time.monotonic() < deadline:
                seen += await asyncio_read(chan)
            assert b"lesson map" in seen
            await asyncio.sleep(0.5)
            seen += await asyncio_read(chan)
            assert b"\x1b[31;1H" in seen and b"\x1b[32;1H" not in seen  # 31 rows, no more
            kids = psutil.Process(proc.pid).children(recursive=True)
            assert kids
            # The game got this learner's identity and the server's data dir
            # (through a warm spare or a cold start alike): opening a lesson saves
            # the resume point under the SSH user's name.
            chan.stdin.write(b"\r")
            deadline = time.monotonic() + 10
            while "dana" not in list_profiles(data) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "dana" in list_profiles(data)
            # Idle spares start from an environment built from scratch.
            doc = json.loads((data / "sessions.json").read_text())
            assert doc["spares"], "the real game is served with warm spares"
            for pid in doc["spares"]:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                names = {item.split(b"=", 1)[0] for item in environ if item}
                assert names == {b"LANG", b"LC_ALL", b"PATH", b"HOME", b"TERM"}
    finally:
        assert stop(proc) == 0
    wait_gone([k.pid for k in kids])
    # The host key survives a restart: learners' known_hosts stay valid.
    proc2, _, banner2 = start_cli(data)
    try:
        assert value(banner2, "host key fingerprint") == fingerprint
        assert value(banner2, "password") != password  # a fresh random one
    finally:
        stop(proc2, signal.SIGINT)
        assert proc2.returncode == 0


async def asyncio_read(chan) -> bytes:
    try:
        return await asyncio.wait_for(chan.stdout.read(65536), 1)
    except TimeoutError:
        return b""


def test_open_mode_warns_loudly(tmp_path: Path) -> None:
    proc, _, banner = start_cli(tmp_path / "d", "--auth", "open")
    try:
        text = "\n".join(banner)
        assert "ANYONE who can reach this port" in text
        assert "password" not in text.lower().split("anyone")[0]
    finally:
        assert stop(proc) == 0


def test_serve_web(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tutor",
            "serve",
            "web",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        deadline = time.monotonic() + 20
        page = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                    page = resp.read().decode()
                    break
            except OSError:
                time.sleep(0.2)
        assert "concurrency-tutor" in page
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    assert "NO AUTHENTICATION" in out
    assert "anyone who can reach that address" not in out


def test_serve_web_warns_louder_off_loopback(tmp_path: Path) -> None:
    """The warning comes before the server binds. 192.0.2.1 (TEST-NET-1, RFC 5737)
    is not an address of this host, so binding fails right after the warning:
    the test never opens an unauthenticated server on a real interface."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tutor",
            "serve",
            "web",
            "--host",
            "192.0.2.1",
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert "anyone who can reach that address" in proc.stdout
    assert proc.returncode != 0  # could not bind there
    assert "Traceback" not in proc.stderr, proc.stderr


def test_port_in_use_is_a_usage_error(tmp_path: Path, capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "ssh", "--port", str(port), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and err.count("\n") == 1
