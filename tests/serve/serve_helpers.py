"""Helpers for the serve tests: a real SSH server process and its sessions."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).parent
TINY_APP = [sys.executable, str(HERE / "tiny_app.py")]
SERVER_MAIN = HERE / "server_main.py"


@dataclass
class RunningServer:
    proc: subprocess.Popen[str]
    port: int
    data_dir: Path
    banner: list[str] = field(default_factory=list)

    def sessions(self) -> list[dict[str, Any]]:
        try:
            return json.loads((self.data_dir / "sessions.json").read_text())["sessions"]
        except (OSError, ValueError, KeyError):
            return []

    def session_pids(self) -> list[int]:
        return [s["pid"] for s in self.sessions() if s.get("pid")]

    def wait_sessions(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.sessions()
            if len(found) == count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} sessions, have {self.sessions()}")

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def banner_value(self, label: str) -> str:
        for line in self.banner:
            if line.startswith(label):
                return line.split(":", 1)[1].strip()
        raise AssertionError(f"{label!r} not in banner {self.banner}")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for servers that need it up front)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_ssh_command(data_dir: Path | str, *options: str) -> list[str]:
    """The real ``python -m tutor serve ssh`` on a free port (0), keeping its data in ``data_dir``."""
    return [
        sys.executable,
        "-m",
        "tutor",
        "serve",
        "ssh",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        *options,
    ]


def read_banner(proc: subprocess.Popen[str], timeout: float = 20) -> tuple[int, list[str]]:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    port = None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(
                f"server ended early: {lines} {proc.stderr.read() if proc.stderr else ''}"
            )
        lines.append(line.rstrip("\n"))
        match = re.match(r"listening on .*:(\d+)$", line.strip())
        if match:
            port = int(match.group(1))
        if line.startswith("stop with"):
            assert port is not None
            return port, lines
    raise AssertionError(f"no banner in time: {lines}")


def gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


def wait_gone(pids: list[int], timeout: float = 5) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if gone(pids):
            return time.monotonic() - start
        time.sleep(0.02)
    alive = [p for p in pids if not gone([p])]
    raise AssertionError(f"processes still alive after {timeout} s: {alive}")


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 10) -> int:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)


SSH_OPTS = [
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "BatchMode=yes",
    "-F",
    "/dev/null",  # the developer's ~/.ssh/config must not change the test
]


class ServerPool:
    """Starts real servers (``tests/serve/server_main.py``) and stops them all at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[RunningServer] = []

    def start(self, **overrides: Any) -> RunningServer:
        data = self.tmp_path / f"served-{len(self.started)}"
        config: dict[str, Any] = {
            "data_dir": str(data),
            "port": 0,
            "auth": "open",
            "session_command": TINY_APP,
            "kill_grace": 1.0,
        }
        config.update(overrides)
        # SERVER_SECRET must never reach a session: the child env is built from scratch.
        env = dict(os.environ, SERVER_SECRET="do-not-leak", PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            [sys.executable, str(SERVER_MAIN), json.dumps(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        port, banner = read_banner(proc)
        server = RunningServer(proc, port, data, banner)
        self.started.append(server)
        return server

    def close(self) -> None:
        for server in self.started:
            kids = [p.pid for p in server.descendants()]
            stop(server.proc)
            with contextlib.suppress(AssertionError):
                wait_gone(kids, 5)
            for pid in kids:  # never leave a stray app behind a failed test
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            for stream in (server.proc.stdout, server.proc.stderr):
                if stream:
                    stream.close()
