"""Handlers for ``tutor serve ssh``, ``tutor serve web`` and ``tutor board``.

Heavy imports (asyncssh, Textual, textual-serve) happen inside the handlers so
``tutor --help`` stays fast.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tutor.errors import UsageError
from tutor.paths import data_dir as resolve_data_dir

if TYPE_CHECKING:
    from tutor.serve.ssh.config import ServeConfig


def _app_args(args: argparse.Namespace) -> list[str]:
    """Lesson options the served game should get too."""
    out: list[str] = []
    for folder in args.lessons:
        out += ["--lessons", str(Path(folder).expanduser().resolve())]
    if args.only_lessons:
        out.append("--only-lessons")
    return out


def _check_port(port: int, *, allow_zero: bool) -> None:
    low = 0 if allow_zero else 1
    if not low <= port <= 65535:
        raise UsageError(f"--port must be {low}-65535 (0 = any free port), got {port}")


WEEK = 7 * 24 * 3600


def _seconds(value: float, option: str, most: float) -> float:
    """A duration option: a finite number of seconds, more than 0 and at most ``most``."""
    # 'nan' and 'inf' parse as floats; nan compares false with everything.
    if not math.isfinite(value) or not 0 < value <= most:
        raise UsageError(f"{option} must be more than 0 seconds and at most {most:g}, got {value}")
    return float(value)


def _count(value: int, option: str) -> int:
    if value < 1:
        raise UsageError(f"{option} must be 1 or more, got {value}")
    return value


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_command(args: argparse.Namespace) -> int:
    if args.transport == "web":
        return web_command(args)
    return ssh_command(args)


def ssh_command(args: argparse.Namespace) -> int:
    if (
        sys.platform == "win32"
    ):  # before any import: the SSH server is POSIX-only (pseudo-terminals)
        print(
            "tutor serve ssh needs pseudo-terminals, which Windows lacks: use 'tutor serve web' instead",
            file=sys.stderr,
        )
        return 2

    from tutor.serve.ssh import ServeConfig, generate_password

    _check_port(args.port, allow_zero=True)
    data = resolve_data_dir(args.data_dir).resolve()
    if args.auth == "keys" and not args.authorized_keys:
        raise UsageError(
            "--auth keys needs --authorized-keys FILE (OpenSSH authorized_keys format)"
        )
    if args.auth != "keys" and args.authorized_keys:
        raise UsageError("--authorized-keys goes with --auth keys")
    if args.auth != "password" and args.password:
        raise UsageError("--password goes with --auth password")
    if args.password is not None and len(args.password) < 6:
        raise UsageError("--password must be at least 6 characters")
    if args.max_sessions is not None and args.max_sessions < 1:
        raise UsageError("--max-sessions must be 1 or more")
    idle_timeout = _seconds(args.idle_timeout, "--idle-timeout", WEEK)
    max_per_address = _count(args.max_per_address, "--max-per-address")
    max_logging_in = _count(args.max_logging_in, "--max-logging-in")
    login_grace = _seconds(args.login_grace, "--login-grace", 600)
    if args.bench_slots is not None and args.bench_slots < 1:
        raise UsageError("--bench-slots must be 1 or more")
    if not 0 <= args.spares <= 200:
        raise UsageError("--spares must be 0-200")
    if args.instructor is not None:
        from tutor.serve.ssh import USER_RE, USER_RULE

        if not USER_RE.match(args.instructor):
            raise UsageError(f"--instructor: {USER_RULE}")
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--data-dir: cannot create {data}: {exc.strerror}") from exc
    config = ServeConfig(
        data_dir=data,
        host=args.host,
        port=args.port,
        auth=args.auth,
        password=(args.password or generate_password()) if args.auth == "password" else None,
        authorized_keys=Path(args.authorized_keys).expanduser() if args.authorized_keys else None,
        instructor=args.instructor,
        # The instructor never shares the learners' secret: learners know that one.
        instructor_password=generate_password() if args.instructor else None,
        max_sessions=args.max_sessions,
        max_per_address=max_per_address,
        login_grace=login_grace,
        max_logging_in=max_logging_in,
        idle_timeout=idle_timeout,
        bench_slots=args.bench_slots,
        spares=args.spares,
        app_args=_app_args(args),
    )
    return run_ssh(config)


def run_ssh(config: ServeConfig) -> int:
    import asyncio

    from tutor.serve.ssh import serve

    try:
        return asyncio.run(serve(config))
    except OSError as exc:
        # Port taken or not allowed: a usage problem, not a crash.
        raise UsageError(
            f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
        ) from exc


def web_command(args: argparse.Namespace) -> int:
    import shlex

    from tutor.serve.web import (
        MAX_HEIGHT,
        MAX_WIDTH,
        TutorWebServer,
        game_environment,
        parse_origin,
    )

    _check_port(args.port, allow_zero=False)
    if args.max_sessions is not None and args.max_sessions < 1:
        raise UsageError("--max-sessions must be 1 or more")
    for origin in args.allow_origin:
        try:
            parse_origin(origin)
        except ValueError as exc:
            raise UsageError(f"--allow-origin: {exc}") from None
    data = resolve_data_dir(args.data_dir).resolve()
    profile = ["--profile", args.profile] if args.profile else []
    # exec: the game replaces textual-serve's shell, so it is the server's own child.
    command = "exec " + shlex.join(
        [sys.executable, "-m", "tutor", "--data-dir", str(data), *profile, *_app_args(args)]
    )
    bar = "!" * 72
    print(bar)
    print("!! tutor serve web has NO AUTHENTICATION: whoever opens the page plays,")
    print("!! and every browser tab starts a process on this host.")
    if not is_loopback(args.host):
        print(f"!! You bound it to {args.host}: anyone who can reach that address can use it.")
        print("!! Put it behind a reverse proxy with authentication, or use 'tutor serve ssh'.")
    print(bar, flush=True)
    import os

    # Children inherit our environment: mark them as served (no screenshot files on
    # the host) and share one bench queue.
    os.environ["TUTOR_SERVED"] = "1"
    os.environ["TUTOR_BENCH_DIR"] = str(data / "bench")
    os.environ.update(game_environment())
    server = TutorWebServer(
        command,
        host=args.host,
        port=args.port,
        title="concurrency-tutor",
        max_sessions=args.max_sessions,
        allow_origins=args.allow_origin,
    )
    print(f"limits: {server.max_sessions} games at once, screens up to {MAX_WIDTH}x{MAX_HEIGHT}")
    allowed = f" (allowed: {', '.join(args.allow_origin)})" if args.allow_origin else ""
    print(f"pages from other sites are refused{allowed}", flush=True)
    _check_can_listen(args.host, args.port)
    server.serve()
    return 0


def _check_can_listen(host: str, port: int) -> None:
    """Fail with one line, not textual-serve's traceback, when the address cannot be bound."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def board_command(args: argparse.Namespace) -> int:
    data = resolve_data_dir(args.data_dir)
    export = args.export
    if export:
        from tutor.serve.leaderboard import export_results

        path = Path(export)
        try:
            count = export_results(data, path)
        except OSError as exc:
            raise UsageError(f"--export: cannot write {path}: {exc.strerror}") from exc
        from tutor.serve.leaderboard import room_csv_path, room_results

        joined = len(room_results(data)["results"])
        where = f" ({room_csv_path(path)})" if path.suffix.lower() == ".csv" else ""
        print(f"wrote {count} learners and {joined} results of joined games{where} to {path}")
        return 0
    from tutor.serve.boardfeed import ServerFeed
    from tutor.ui.board import BoardApp

    BoardApp(ServerFeed(data)).run()
    return 0
