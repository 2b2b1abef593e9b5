"""The server with the real OpenSSH client, in a real terminal (tmux)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator

import psutil
import pytest
from serve_helpers import SSH_OPTS, RunningServer, wait_gone

from tests.terminal import Terminal

pytestmark = pytest.mark.skipif(
    not (shutil.which("ssh") and shutil.which("tmux")), reason="needs the OpenSSH client and tmux"
)


SSH_TERM = {"TERM": "xterm-256color", "COLORTERM": "truecolor"}
# The pane outlives ssh and says how it ended.
AFTER_SSH = "echo '[ssh exited' $?']'; sleep 600"


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal("ssh")
    yield term
    term.close()


def ssh_command(server: RunningServer, user: str = "alice", *extra: str) -> list[str]:
    return ["ssh", *SSH_OPTS, "-p", str(server.port), *extra, f"{user}@127.0.0.1"]


def ssh_client_pid(term: Terminal) -> int:
    shell = psutil.Process(term.pane_pid())
    for child in shell.children(recursive=True):
        if child.name() == "ssh":
            return child.pid
    raise AssertionError("no ssh process in the pane")


def test_play_resize_and_drop(server_factory, terminal: Terminal) -> None:
    server = server_factory()
    terminal.start(
        ssh_command(server, "alice", "-o", "SendEnv=COLORTERM"), env=SSH_TERM, then=AFTER_SSH
    )
    terminal.wait_for("Lessons")
    # The child's environment was built from scratch: profile from the SSH user,
    # served flag set, and nothing of the server's own environment.
    screen = terminal.wait_for("TUTOR_PROFILE=alice")
    assert "TUTOR_SERVED=1" in screen and "LANG=C.UTF-8" in screen
    assert "COLORTERM=truecolor" in screen  # passed on from the client
    assert "leak=none" in screen

    terminal.keys("a", "b", "Down")
    terminal.wait_for("keys: a b down")
    terminal.resize(100, 30)
    terminal.wait_for("size: 100x30")

    (session,) = server.wait_sessions(1)
    assert session["user"] == "alice"
    leader = session["pid"]
    tree = [leader, *[p.pid for p in psutil.Process(leader).children(recursive=True)]]

    os.kill(ssh_client_pid(terminal), signal.SIGKILL)
    took = wait_gone(tree, timeout=5)
    assert took < 5
    server.wait_sessions(0)
    assert server.proc.poll() is None  # one learner leaving does not touch the server


def test_a_client_that_stops_answering_is_dropped_by_keepalives(
    server_factory, terminal: Terminal
) -> None:
    # A laptop lid closed or a network gone: no FIN, no RST, the TCP connection
    # just goes quiet. A stopped ssh client is that, on one machine.
    server = server_factory(keepalive_interval=0.5, keepalive_count_max=2)
    terminal.start(ssh_command(server), env=SSH_TERM, then=AFTER_SSH)
    terminal.wait_for("Lessons")
    (session,) = server.wait_sessions(1)
    leader = session["pid"]
    tree = [leader, *[p.pid for p in psutil.Process(leader).children(recursive=True)]]
    client = ssh_client_pid(terminal)
    os.kill(client, signal.SIGSTOP)
    try:
        took = wait_gone(tree, timeout=10)  # 2 unanswered keepalives 0.5 s apart
        assert took < 10
        server.wait_sessions(0)
        assert server.proc.poll() is None
    finally:
        os.kill(client, signal.SIGKILL)


def test_quit_ends_the_connection(server_factory, terminal: Terminal) -> None:
    server = server_factory()
    terminal.start(ssh_command(server, "bob"), env=SSH_TERM, then=AFTER_SSH)
    terminal.wait_for("Lessons")
    (session,) = server.wait_sessions(1)
    terminal.keys("q")
    terminal.wait_for("[ssh exited 0]")
    wait_gone([session["pid"]])


def run_ssh(
    server: RunningServer, *args: str, stdin: str = "", log: str = "ERROR"
) -> subprocess.CompletedProcess[str]:
    # ssh keeps the first value of an option: LogLevel goes before SSH_OPTS.
    return subprocess.run(
        ["ssh", "-o", f"LogLevel={log}", *SSH_OPTS, "-p", str(server.port), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=20,
    )


def test_openssh_refusals(server_factory, tmp_path) -> None:
    server = server_factory()
    marker = tmp_path / "should-not-exist"
    # A command: refused with an explanation, and never run.
    done = run_ssh(server, "alice@127.0.0.1", f"touch {marker}")
    assert done.returncode == 1
    assert "commands are not allowed" in done.stderr
    assert not marker.exists()
    # Forced pty plus a command: still refused.
    done = run_ssh(server, "-tt", "alice@127.0.0.1", f"touch {marker}")
    assert done.returncode == 1 and not marker.exists()
    # No pty (piped input): refused.
    done = run_ssh(server, "-T", "alice@127.0.0.1")
    assert done.returncode == 1
    assert "needs an interactive terminal" in done.stderr
    # sftp subsystem.
    done = run_ssh(server, "-s", "alice@127.0.0.1", "sftp")
    assert done.returncode != 0
    assert "no file transfer" in done.stderr
    # A local port forward: the channel open is refused with the reason.
    done = run_ssh(
        server,
        "-o",
        "ExitOnForwardFailure=yes",
        "-W",
        "127.0.0.1:22",
        "alice@127.0.0.1",
        log="INFO",
    )
    assert done.returncode != 0
    assert "port forwarding is disabled" in done.stderr
    # Remote forward: refused (ExitOnForwardFailure makes the client give up).
    done = run_ssh(
        server, "-o", "ExitOnForwardFailure=yes", "-N", "-R", "0:127.0.0.1:9", "alice@127.0.0.1"
    )
    assert done.returncode != 0
    assert "forwarding failed" in done.stderr.lower()
    assert server.sessions() == []


def test_openssh_password_wrong_user_name(server_factory) -> None:
    server = server_factory()
    done = run_ssh(server, "bad$name@127.0.0.1", log="INFO")
    assert done.returncode != 0
    assert "user name must be" in done.stderr


def test_the_real_game_over_openssh(server_factory, terminal: Terminal) -> None:
    """The main end-to-end check: the real ``python -m tutor`` behind the real server."""
    server = server_factory(session_command=None)  # the default: the game itself
    terminal.start(ssh_command(server, "carol"), env=SSH_TERM, then=AFTER_SSH)
    terminal.wait_for("lesson map", timeout=20)
    terminal.wait_for("The restaurant kitchen")
    assert terminal.screen().count("Threads for waiting") == 1  # in the list only
    terminal.keys("Down")
    # The selection moved, so lesson 2 is also described below the list: keys arrive intact.
    deadline = time.monotonic() + 10
    while terminal.screen().count("Threads for waiting") < 2:
        assert time.monotonic() < deadline, terminal.screen()
        time.sleep(0.05)
    terminal.resize(100, 30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # relaid out to the new width
        lines = terminal.screen().splitlines()
        if any(len(line.rstrip()) > 80 for line in lines):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the game did not relayout to 100 columns:\n" + terminal.screen())

    (session,) = server.wait_sessions(1)
    assert session["profile"] == "carol"
    leader = session["pid"]
    tree = [leader, *[p.pid for p in psutil.Process(leader).children(recursive=True)]]
    os.kill(ssh_client_pid(terminal), signal.SIGKILL)
    wait_gone(tree, timeout=5)
    server.wait_sessions(0)


def test_openssh_x11_and_agent_forwarding_are_refused(server_factory, tmp_path) -> None:
    server = server_factory()
    agent_sock = tmp_path / "agent.sock"  # need not exist: the server must not even ask
    env = dict(os.environ, DISPLAY=":99", SSH_AUTH_SOCK=str(agent_sock))
    proc = subprocess.Popen(
        [
            "ssh",
            "-o",
            "LogLevel=INFO",
            *SSH_OPTS,
            "-p",
            str(server.port),
            "-tt",
            "-X",
            "-A",
            "alice@127.0.0.1",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        # The session itself starts (the game), but without X11 forwarding.
        (session,) = server.wait_sessions(1)
        deadline = time.monotonic() + 10
        err = b""
        os.set_blocking(proc.stderr.fileno(), False)
        while b"X11 forwarding request failed" not in err and time.monotonic() < deadline:
            err += proc.stderr.read() or b""
            time.sleep(0.05)
        assert b"X11 forwarding request failed" in err
        # Nothing in the session points at an agent or a display.
        environ = set(psutil.Process(session["pid"]).environ())
        assert not environ & {"SSH_AUTH_SOCK", "DISPLAY", "SSH_CONNECTION", "SERVER_SECRET"}
    finally:
        proc.kill()
        proc.wait()


def askpass_env(tmp_path, password: str) -> dict[str, str]:
    """OpenSSH reads the password from SSH_ASKPASS (no sshpass needed)."""
    script = tmp_path / f"askpass-{uuid.uuid4().hex[:6]}.sh"
    script.write_text(f"#!/bin/sh\necho '{password}'\n")
    script.chmod(0o700)
    return dict(os.environ, SSH_ASKPASS=str(script), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")


def test_openssh_password_and_limits(server_factory, tmp_path) -> None:
    server = server_factory(
        auth="password", password="right-horse-9", max_sessions=1, failed_logins_per_connection=2
    )
    # ssh keeps the first value of an option: these go before SSH_OPTS (BatchMode=yes).
    base = [
        "ssh",
        "-o",
        "LogLevel=INFO",
        "-o",
        "BatchMode=no",
        "-o",
        "NumberOfPasswordPrompts=5",
        *SSH_OPTS,
    ]
    cmd = [*base, "-o", "PubkeyAuthentication=no", "-p", str(server.port), "-tt", "alice@127.0.0.1"]

    def ssh(password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            cmd,
            env=askpass_env(tmp_path, password),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=20,
        )

    # Wrong password, guessed again and again on one connection: cut off after 2.
    wrong = ssh("guess")
    assert wrong.returncode == 255
    assert "too many failed logins" in wrong.stderr
    # The right password: a session (and with --max-sessions 1, the next one is turned away).
    first = subprocess.Popen(
        cmd,
        env=askpass_env(tmp_path, "right-horse-9"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        server.wait_sessions(1)
        second = ssh("right-horse-9")
        assert second.returncode == 1
        assert "server is full" in second.stderr + second.stdout
    finally:
        first.kill()
        first.wait()


def test_idle_warning_over_openssh_then_the_game_redraws(
    server_factory, terminal: Terminal
) -> None:
    server = server_factory(session_command=None, idle_timeout=8, idle_warning=6)
    terminal.start(ssh_command(server, "dozy"), env=SSH_TERM, then=AFTER_SSH)
    terminal.wait_for("lesson map", timeout=20)
    screen = terminal.wait_for("this session ends in", timeout=10)
    assert "this session ends in" in screen.splitlines()[-1]  # on the last row
    terminal.keys("Down")
    deadline = time.monotonic() + 5
    while True:  # the warning is gone and the game's footer is back on the last row
        last = terminal.screen().rstrip("\n").splitlines()[-1]
        if "Quit" in last and "session ends" not in last:
            break
        assert time.monotonic() < deadline, terminal.screen()
        time.sleep(0.05)
    assert server.sessions()  # the key kept the session
