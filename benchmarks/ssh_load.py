"""Load check for ``tutor serve ssh``: a room of learners on loopback.

    python benchmarks/ssh_load.py [--sessions 30] [--sequential 10] [--churn-seconds 30]

Starts the real server (``python -m tutor serve ssh --auth open --port 0``) with
the real game, then measures with asyncssh clients that request a pty:

1. connect-to-first-frame one at a time (median of --sequential connects);
2. --sessions simultaneous sessions: all must reach the first frame;
3. memory per session: USS and PSS of each session's whole process tree;
4. bytes/s per session while idle, and while one session runs a live lab;
5. after everyone disconnects: no session process left, server memory;
6. churn: connect/disconnect in waves for --churn-seconds (the issue's
   10 minutes is ``--churn-seconds 600``), then the same leftover checks.

"First frame" = the game's lesson-map title ("lesson map") arrived on the
channel; use --marker for another app.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Shared with the tests: the server's command line and banner, a session's process tree.
from tests.processes import family  # noqa: E402
from tests.serve.serve_helpers import read_banner, serve_ssh_command, stop  # noqa: E402

MB = 1024 * 1024
BANNER_S = 120  # the longest the server may take to say where it listens
# Keys that open lesson 1's first challenge and run it (the live lab view):
# open lesson, next task, open challenge, pick the first answer, run; each with
# the text that shows the game got there (None: nothing to wait for).
LAB_STEPS: list[tuple[bytes, tuple[bytes, ...] | None]] = [
    (b"\r", (b"Next task",)),
    (b"n", (b"Open",)),  # the footer offers "Open" once the challenge is focused
    (b"\r", (b"Run it", b"Your guess")),
    (b"\r", None),
    (b"\x12", (b"Run 1 of", b"live lab")),
]


@dataclass
class Client:
    conn: asyncssh.SSHClientConnection
    proc: asyncssh.SSHClientProcess
    first_frame_s: float
    received: int = 0
    reader: asyncio.Task | None = None
    buffer: bytearray = field(default_factory=bytearray)
    saw_lab: bool = False

    def start_counting(self) -> None:
        self.reader = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        while True:
            chunk = await self.proc.stdout.read(65536)
            if not chunk:
                return
            self.received += len(chunk)
            if b"live lab" in chunk or b"Run 1 of" in chunk:
                self.saw_lab = True
            self.buffer += chunk
            del self.buffer[:-262144]  # keep only the tail, for waiting on text

    async def wait_text(self, texts: tuple[bytes, ...], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not any(text in self.buffer for text in texts):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def close(self) -> None:
        if self.reader:
            self.reader.cancel()
        self.conn.close()
        with contextlib.suppress(TimeoutError, asyncssh.Error, OSError):
            await asyncio.wait_for(self.conn.wait_closed(), 5)


async def open_client(port: int, user: str, marker: bytes, timeout: float) -> Client:
    started = time.perf_counter()
    conn = await asyncssh.connect(
        "127.0.0.1", port, username=user, known_hosts=None, client_keys=None, agent_path=None
    )
    proc = await conn.create_process(term_type="xterm-256color", term_size=(80, 24), encoding=None)
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            conn.close()
            raise TimeoutError(f"{user}: no first frame in {timeout} s")
        chunk = await asyncio.wait_for(proc.stdout.read(65536), left)
        if not chunk:
            raise ConnectionError(f"{user}: session ended before the first frame")
        seen += chunk
    return Client(conn, proc, time.perf_counter() - started, received=len(seen))


def memory(procs: list[psutil.Process]) -> tuple[int, int, int]:
    """(USS, PSS, RSS) summed over the processes."""
    uss = pss = rss = 0
    for p in procs:
        try:
            info = p.memory_full_info()
        except psutil.Error:
            continue
        uss += info.uss
        pss += getattr(info, "pss", 0)
        rss += info.rss
    return uss, pss, rss


def _sessions_doc(data_dir: Path) -> dict:
    try:
        return json.loads((data_dir / "sessions.json").read_text())
    except (OSError, ValueError):
        return {}


def session_pids(data_dir: Path) -> list[int]:
    return [s["pid"] for s in _sessions_doc(data_dir).get("sessions", []) if s.get("pid")]


def spare_pids(data_dir: Path) -> set[int]:
    """Idle warm spares: expected to stay; everything else must go."""
    return set(_sessions_doc(data_dir).get("spares", []))


async def wait_spares_warm(data_dir: Path, timeout: float = 120) -> float:
    started = time.monotonic()
    stable_since = None
    while time.monotonic() - started < timeout:
        doc = _sessions_doc(data_dir)
        spares = doc.get("spares", [])
        if doc and len(spares) == doc.get("spares_warm", 0):
            stable_since = stable_since or time.monotonic()
            if time.monotonic() - stable_since >= 1.0:
                return time.monotonic() - started
        else:
            stable_since = None
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def wait_no_sessions(
    server: psutil.Process, data_dir: Path, timeout: float = 15
) -> tuple[int, float]:
    """Wait until only idle spares are left; returns (leftover count, seconds)."""
    started = time.monotonic()
    left: list[psutil.Process] = []
    while time.monotonic() - started < timeout:
        spares = spare_pids(data_dir)
        # Zombies count too: a child the server never reaps is a leak as well.
        left = [p for p in server.children(recursive=True) if p.pid not in spares]
        if not left:
            return 0, time.monotonic() - started
        await asyncio.sleep(0.05)
    return len(left), time.monotonic() - started


def start_server(data_dir: Path, extra: list[str]) -> tuple[subprocess.Popen[str], int]:
    options = ["--auth", "open", "--max-per-address", "1000", "--max-sessions", "1000", *extra]
    proc = subprocess.Popen(
        serve_ssh_command(data_dir, *options),
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        port, _ = read_banner(proc, timeout=BANNER_S)
    except AssertionError as exc:
        stop(proc)
        raise SystemExit(f"the server did not start: {exc}") from None
    return proc, port


async def bytes_per_second(clients: list[Client], seconds: float) -> list[float]:
    before = [c.received for c in clients]
    await asyncio.sleep(seconds)
    return [(c.received - b) / seconds for c, b in zip(clients, before, strict=True)]


async def run(args: argparse.Namespace) -> int:
    marker = args.marker.encode()
    rows: list[tuple[str, str, str]] = []
    failures: list[str] = []

    def row(name: str, value: str, target: str = "") -> None:
        rows.append((name, value, target))
        print(f"  {name}: {value} {target}", flush=True)

    with tempfile.TemporaryDirectory(prefix="ssh-load-") as tmp:
        data_dir = Path(tmp)
        server_proc, port = start_server(data_dir, args.server_arg)
        server = psutil.Process(server_proc.pid)
        try:
            row("cores", str(len(os.sched_getaffinity(0))))
            # An instructor starts the server before the room connects: let the
            # warm spares finish warming (the pool is stable and all warm for 1 s).
            waited = await wait_spares_warm(data_dir)
            doc = _sessions_doc(data_dir)
            row("warm spares at start", f"{doc.get('spares_warm', 0)} (ready after {waited:.1f} s)")
            server_rss_start = server.memory_info().rss

            # 1. one at a time
            times = []
            for i in range(args.sequential):
                client = await open_client(port, f"seq{i}", marker, args.timeout)
                times.append(client.first_frame_s)
                await client.close()
                await wait_no_sessions(server, data_dir)
            median = statistics.median(times)
            row(
                "connect->first frame, one at a time (median)",
                f"{median:.2f} s",
                "(target <= 0.5 s)",
            )
            row("  min / max", f"{min(times):.2f} / {max(times):.2f} s")
            if median > 0.5:
                failures.append("median first frame over 0.5 s")

            # 2. all at once
            started = time.perf_counter()
            results = await asyncio.gather(
                *(
                    open_client(port, f"learner{i:02d}", marker, args.timeout)
                    for i in range(args.sessions)
                ),
                return_exceptions=True,
            )
            clients = [r for r in results if isinstance(r, Client)]
            errors = [r for r in results if not isinstance(r, Client)]
            row(
                f"{args.sessions} simultaneous: reached first frame",
                f"{len(clients)}/{args.sessions} in {time.perf_counter() - started:.1f} s",
            )
            if clients:
                frames = sorted(c.first_frame_s for c in clients)
                row(
                    "  first frame median / max",
                    f"{statistics.median(frames):.2f} / {frames[-1]:.2f} s",
                )
            for err in errors[:3]:
                row("  error", repr(err))
            if errors:
                failures.append(f"{len(errors)} sessions never reached the first frame")
            for c in clients:
                c.start_counting()

            # 3. memory per session (settled)
            await asyncio.sleep(args.settle)
            per_uss, per_pss, per_rss = [], [], []
            for pid in session_pids(data_dir):
                uss, pss, rss = memory(family(pid))
                per_uss.append(uss)
                per_pss.append(pss)
                per_rss.append(rss)
            if per_uss:
                row(
                    "memory per session USS (median / max)",
                    f"{statistics.median(per_uss) / MB:.1f} / {max(per_uss) / MB:.1f} MB",
                    "(target <= 40 MB)",
                )
                row("memory per session PSS (median)", f"{statistics.median(per_pss) / MB:.1f} MB")
                row("memory per session RSS (median)", f"{statistics.median(per_rss) / MB:.1f} MB")
                if statistics.median(per_uss) > 40 * MB:
                    failures.append("session USS over 40 MB")
            row("server RSS with all connected", f"{server.memory_info().rss / MB:.1f} MB")
            used = psutil.virtual_memory()
            row(
                "host memory available", f"{used.available / MB:.0f} MB of {used.total / MB:.0f} MB"
            )

            # 4. bytes per second, idle
            idle = await bytes_per_second(clients, args.idle_seconds)
            row(
                "bytes/s per session, idle (median / max)",
                f"{statistics.median(idle):.0f} / {max(idle):.0f} B/s",
                "(target ~0)",
            )

            # ... and while one learner's lab runs live
            if clients and not args.no_lab:
                lab = clients[0]
                for key, expect in LAB_STEPS:
                    if expect is None:
                        lab.proc.stdin.write(key)
                        await asyncio.sleep(0.5)
                        continue
                    # A key pressed while a screen is still mounting can be lost on
                    # a busy host: press it again (up to 3 times) until the game
                    # shows where it got to.
                    for _attempt in range(3):
                        lab.buffer.clear()
                        lab.proc.stdin.write(key)
                        if await lab.wait_text(expect, 8):
                            await asyncio.sleep(1.0)  # let the screen finish mounting
                            break
                    else:
                        row("  live lab: the game never showed", b" or ".join(expect).decode())
                        break
                others = clients[1:]
                live = await bytes_per_second([lab, *others], args.lab_seconds)
                saw_lab = lab.saw_lab
                row(
                    "bytes/s, session running a live lab",
                    f"{live[0] / 1024:.1f} KB/s"
                    + ("" if saw_lab else " (live lab view NOT detected)"),
                    "(target <= 30 KB/s)",
                )
                if others:
                    row("bytes/s, the other sessions meanwhile (max)", f"{max(live[1:]):.0f} B/s")
                if live[0] > 30 * 1024:
                    failures.append("live lab over 30 KB/s")
                if not saw_lab:
                    failures.append("the live lab view was not reached: traffic not measured")

            # 5. everyone leaves
            leaders = session_pids(data_dir)
            await asyncio.gather(*(c.close() for c in clients))
            left, took = await wait_no_sessions(server, data_dir)
            row(
                "after all disconnect: session processes left", f"{left} (all gone in {took:.2f} s)"
            )
            if left:
                failures.append("processes left after disconnect")
            still = []
            for pid in leaders:
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc = psutil.Process(pid)
                    still.append(f"{pid} {proc.status()} ppid={proc.ppid()}")
            if still:
                failures.append(f"session leaders still alive: {still}")
            await asyncio.sleep(1)
            server_rss_after = server.memory_info().rss
            row(
                "server RSS start -> after sessions",
                f"{server_rss_start / MB:.1f} -> {server_rss_after / MB:.1f} MB",
            )

            # 6. churn
            if args.churn_seconds > 0:
                rss_before = server.memory_info().rss
                end = time.monotonic() + args.churn_seconds
                done = errors_churn = 0
                wave = 0
                while time.monotonic() < end:
                    wave += 1
                    batch = await asyncio.gather(
                        *(
                            open_client(port, f"churn{wave}-{i}", marker, args.timeout)
                            for i in range(args.churn_batch)
                        ),
                        return_exceptions=True,
                    )
                    ok = [c for c in batch if isinstance(c, Client)]
                    errors_churn += len(batch) - len(ok)
                    done += len(ok)
                    # Half close politely, half vanish (the TCP connection just drops).
                    for i, c in enumerate(ok):
                        if i % 2:
                            c.conn.abort()
                        else:
                            await c.close()
                left, _ = await wait_no_sessions(server, data_dir)
                if left:
                    failures.append(f"churn left {left} processes")
                await asyncio.sleep(1)
                rss_after = server.memory_info().rss
                row(
                    f"churn {args.churn_seconds:.0f} s",
                    f"{done} sessions in {wave} waves, {errors_churn} failed, {left} processes left, "
                    f"server RSS {rss_before / MB:.1f} -> {rss_after / MB:.1f} MB",
                )
                if errors_churn:
                    failures.append(f"{errors_churn} churn sessions failed")
        finally:
            server_proc.send_signal(signal.SIGTERM)
            try:
                code = server_proc.wait(15)
            except subprocess.TimeoutExpired:
                server_proc.kill()
                code = server_proc.wait()
            row("server exit status after SIGTERM", str(code))

    print()
    print("| measure | value | target |")
    print("|---|---|---|")
    for name, value, target in rows:
        print(f"| {name.strip()} | {value} | {target.strip('()')} |")
    if failures:
        print("\nMISSED: " + "; ".join(failures))
        return 1
    print("\nall targets met")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--sequential", type=int, default=10)
    parser.add_argument("--churn-seconds", type=float, default=30.0)
    parser.add_argument("--churn-batch", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--lab-seconds", type=float, default=8.0)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before measuring memory")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="per-session first-frame timeout"
    )
    parser.add_argument(
        "--marker", default="lesson map", help="text that means the first frame arrived"
    )
    parser.add_argument("--no-lab", action="store_true", help="skip the live-lab traffic phase")
    parser.add_argument(
        "--server-arg", action="append", default=[], help="extra argument for tutor serve ssh"
    )
    args = parser.parse_args()
    if args.sessions < 1 or args.sequential < 1 or args.churn_seconds < 0:
        parser.error("--sessions and --sequential must be 1 or more, --churn-seconds 0 or more")
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
