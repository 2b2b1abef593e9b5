"""Start-up and shutdown of ``tutor serve ssh``: keys, limits, the banner, signals."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

import asyncssh

from tutor.serve import hostkey
from tutor.serve.defaults import default_max_sessions
from tutor.serve.sessions import clear_sessions
from tutor.serve.ssh import limits
from tutor.serve.ssh.config import ServeConfig
from tutor.serve.ssh.connection import LearnerConnection
from tutor.serve.ssh.workshop import Workshop


def load_authorized_keys(path: Path) -> list[asyncssh.SSHKey]:
    from tutor.errors import UsageError

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


def check_fd_limit(config: ServeConfig) -> int:
    """Raise the open-file limit, and say what fits in it: the number of sessions.

    Every connection and session holds file descriptors; running out of them
    makes the server fail to accept anyone (EMFILE), so the budget is checked
    before the port is bound.
    """
    from tutor.errors import UsageError

    fd_limit = limits.raise_fd_limit()
    spares = config.spare_count()
    wanted = config.max_sessions or default_max_sessions()
    need = limits.fds_needed(wanted, config.max_logging_in, spares)
    if fd_limit >= need:
        return wanted
    fits = limits.sessions_that_fit(fd_limit, config.max_logging_in, spares)
    if config.max_sessions is not None or fits < 1:
        raise UsageError(
            f"--max-sessions {wanted} needs about {need} open files but this process may open "
            f"only {fd_limit}: raise the limit ('ulimit -n {need}') or lower --max-sessions"
        )
    # The default is a guess from memory: shrink it to what the limit allows.
    return fits


def _connect_hint(host: str, port: int) -> str:
    shown = "THIS-HOST" if host in ("", "0.0.0.0", "::") else host
    port_part = "" if port == 22 else f"-p {port} "
    return f"ssh {port_part}NAME@{shown}"


def _join_hint(host: str, port: int) -> str:
    shown = "THIS-HOST" if host in ("", "0.0.0.0", "::") else host
    return f"tutor join {shown}:{port} --name NAME"


async def serve(config: ServeConfig, *, ready: asyncio.Event | None = None) -> int:
    """Run until SIGINT/SIGTERM; returns the exit status."""
    max_sessions = check_fd_limit(config)
    authorized = (
        load_authorized_keys(config.authorized_keys)
        if config.auth == "keys" and config.authorized_keys
        else []
    )
    key = hostkey.load_or_create(config.data_dir)
    workshop = Workshop(config, authorized, max_sessions)
    workshop.bench_dir.mkdir(parents=True, exist_ok=True)
    from tutor.lab import benchqueue

    benchqueue.write_config(workshop.bench_dir, slots=config.bench_slots)
    from tutor.serve.room.channel import RoomLimits, RoomRecorder

    # Games joined from learners' own machines report here (tutor join).
    workshop.room = RoomRecorder(config.data_dir)
    workshop.room_limits = RoomLimits(
        config.room_reports_per_s, config.room_burst, config.max_per_address
    )
    workshop.room.start()

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
    print(
        f"or, with the tutor installed: {_join_hint(config.host, port)} --fingerprint {hostkey.fingerprint(key)}",
        file=out,
    )
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
        f"{config.max_logging_in} logging in at once, login grace {config.login_grace:g} s, "
        f"idle timeout {config.idle_timeout:g} s",
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
        tasks += list(workshop.retiring)
        if tasks:
            await asyncio.wait(tasks, timeout=config.kill_grace + 3)
        # Give asyncssh a moment to flush the resets, then close what is left
        # (connections still logging in).
        await asyncio.sleep(0.2)
        for conn in list(workshop.connections):
            conn.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)
        await workshop.room.close()
        clear_sessions(config.data_dir)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    print("stopped", file=out, flush=True)
    return 0
