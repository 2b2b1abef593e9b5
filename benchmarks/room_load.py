"""Load check for joined games: a room of `tutor join` clients on loopback.

    python benchmarks/room_load.py [--clients 300] [--interval 3] [--seconds 60]

Starts the real server (``python -m tutor serve ssh``, password auth, no
spares) and, in this process, --clients simulated joined games: each one a
real SSH connection (asyncssh) that opens the room subsystem, says hello and
sends a measured verdict every --interval seconds (jittered), as the game
does, with the same protocol code (``tutor.room.protocol``). A second process
plays the instructor's board: it polls the room database the way the board's
room view does (``PRAGMA data_version`` every 0.25 s, then
``tutor.serve.room.view.read_view``) and notes when each report first showed.

Measured, side by side in one run:

- board latency: report sent -> the board's view read with it in (p50/p95/max);
- acknowledgement latency: report sent -> "ack" back (on disk on the server);
- the server's memory (RSS, USS; the largest seen) and CPU while the room reports;
- that every report sent was stored exactly once.

Bounded: at most 1000 clients and 600 s. Goal (issue 15): 300 clients, a
verdict every few seconds, board p95 <= 1 s, server < 150 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# The learners' logins and verdicts, the server's command line and banner: shared with
# the tests (tests/serve/room_helpers.py, serve_helpers.py).
from tests.serve.room_helpers import login, measured, sequential, verdict_data  # noqa: E402
from tests.serve.serve_helpers import read_banner, serve_ssh_command  # noqa: E402

MB = 1024 * 1024
BANNER_S = 120  # the longest the server may take to say where it listens
PASSWORD = "room-load-1"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# -- the board process ----------------------------------------------------------------


def board_main(data_dir: Path, out: Path, seconds: float) -> None:
    """Poll like the board's room view; write {id: first seen (epoch)} and read times."""
    from tutor.serve.room import store
    from tutor.serve.room.view import read_view

    seen: dict[str, float] = {}
    read_times: list[float] = []
    conn = None
    version = None
    last_seq = 0
    end = time.monotonic() + seconds
    stop = out.with_suffix(".stop")
    while time.monotonic() < end:
        finishing = stop.exists()
        if conn is None:
            conn = store.open_reader(data_dir)
            if conn is None:
                time.sleep(0.25)
                continue
        now_version = store.data_version(conn)
        if now_version != version:
            version = now_version
            started = time.perf_counter()
            read_view(data_dir)
            read_times.append(time.perf_counter() - started)
            shown = time.time()
            for seq, rid in conn.execute("SELECT seq, id FROM reports WHERE seq > ?", (last_seq,)):
                seen.setdefault(rid, shown)
                last_seq = max(last_seq, seq)
        if finishing:
            break
        time.sleep(0.25)
    out.write_text(json.dumps({"seen": seen, "read_times": read_times}))


# -- the clients ---------------------------------------------------------------------------


def random_verdict(rng: random.Random) -> dict:
    cores = rng.choice([1, 2, 4, 4, 8, 8, 8, 16])
    speed = min(cores, 4) * rng.uniform(0.7, 0.95) if cores > 1 else rng.uniform(0.85, 1.0)
    results = {
        "sequential": sequential(cores),
        "threads": measured("threads", cores, 0.95, 0.9, 1.0, wall_s=2.1),
        "processes": measured(
            "processes",
            cores,
            speed,
            speed * 0.92,
            speed * 1.05,
            start_method=rng.choice(["fork", "fork", "spawn"]),
        ),
    }
    winner = "processes" if cores > 1 else "sequential"
    return verdict_data(
        results,
        challenge=rng.choice(["gil/crunch-1", "gil/crunch-2", "io/downloads-1"]),
        lesson="gil",
        winner=winner,
        facts={"platform": "linux", "cores": cores, "logical_cpus": cores},
    )


class Learner:
    def __init__(
        self, index: int, port: int, sent: dict[str, float], acked: dict[str, float]
    ) -> None:
        self.index = index
        self.port = port
        self.sent = sent
        self.acked = acked
        self.rng = random.Random(index)
        self.chan = None
        self.buffer = b""
        self.busy = 0

    async def connect(self) -> None:
        import asyncssh

        from tutor.room import protocol

        learner = self

        class Session(asyncssh.SSHClientSession):
            def data_received(self, data, datatype):
                learner.received(data)

        self.conn = await login(self.port, f"learner{self.index}", PASSWORD)
        self.chan, _ = await self.conn.create_session(
            Session, subsystem=protocol.SUBSYSTEM, encoding=None
        )
        self.chan.write(protocol.encode({"type": "hello", "client": "room_load"}))

    def received(self, data: bytes) -> None:
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            msg = json.loads(line)
            if msg["type"] == "ack":
                self.acked.setdefault(msg["id"], time.time())
            elif msg["type"] == "busy":
                self.busy += 1

    async def report_every(self, interval: float, until: float) -> None:
        from tutor.room import protocol

        await asyncio.sleep(self.rng.uniform(0, interval))
        while time.monotonic() < until:
            rid = os.urandom(16).hex()
            message = {
                "type": "report",
                "id": rid,
                "at": time.time(),
                "kind": "verdict",
                "data": random_verdict(self.rng),
            }
            self.sent[rid] = time.time()
            self.chan.write(protocol.encode(message))
            await asyncio.sleep(interval * self.rng.uniform(0.8, 1.2))

    async def close(self) -> None:
        self.conn.close()
        await self.conn.wait_closed()


async def run_clients(args: argparse.Namespace, port: int, server: psutil.Process) -> dict:
    sent: dict[str, float] = {}
    acked: dict[str, float] = {}
    learners = [Learner(i, port, sent, acked) for i in range(args.clients)]
    started = time.monotonic()
    gate = asyncio.Semaphore(20)  # handshakes at once, as a room arriving over a minute would

    async def connect(learner: Learner) -> None:
        async with gate:
            await learner.connect()

    await asyncio.gather(*(connect(learner) for learner in learners))
    connect_s = time.monotonic() - started
    print(f"{args.clients} clients joined in {connect_s:.1f} s", flush=True)
    memory: list[tuple[int, int]] = []
    server.cpu_percent(None)
    until = time.monotonic() + args.seconds
    reporters = [
        asyncio.ensure_future(learner.report_every(args.interval, until)) for learner in learners
    ]

    async def sample() -> None:
        while time.monotonic() < until:
            info = server.memory_full_info()
            memory.append((info.rss, info.uss))
            await asyncio.sleep(0.5)

    sampler = asyncio.ensure_future(sample())
    await asyncio.gather(*reporters)
    cpu = server.cpu_percent(None)
    await sampler
    deadline = time.monotonic() + 15
    while len(acked) < len(sent) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    for learner in learners:
        await learner.close()
    return {
        "connect_s": connect_s,
        "sent": sent,
        "acked": acked,
        "busy": sum(learner.busy for learner in learners),
        "cpu_percent": cpu,
        "rss_max": max(m[0] for m in memory),
        "uss_max": max(m[1] for m in memory),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument(
        "--interval", type=float, default=3.0, help="seconds between one client's verdicts"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the room reports")
    parser.add_argument(
        "--board", nargs=3, metavar=("DATA", "OUT", "SECONDS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.board:
        board_main(Path(args.board[0]), Path(args.board[1]), float(args.board[2]))
        return 0
    if (
        not 1 <= args.clients <= 1000
        or not 1 <= args.seconds <= 600
        or not 0.5 <= args.interval <= 60
    ):
        parser.error("--clients 1-1000, --seconds 1-600, --interval 0.5-60")
    tmp = Path(tempfile.mkdtemp(prefix="room-load-"))
    data = tmp / "server"
    server_cmd = serve_ssh_command(
        data,
        "--password",
        PASSWORD,
        "--spares",
        "0",
        "--max-per-address",
        str(args.clients + 10),
        "--max-logging-in",
        str(max(100, args.clients)),
    )
    server = subprocess.Popen(server_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    board = None
    try:
        port, _ = read_banner(server, timeout=BANNER_S)
        proc = psutil.Process(server.pid)
        idle_rss = proc.memory_info().rss
        board_out = tmp / "board.json"
        board = subprocess.Popen(
            [sys.executable, __file__, "--board", str(data), str(board_out), "900"]
        )
        result = asyncio.run(run_clients(args, port, proc))
        board_out.with_suffix(".stop").touch()  # the board takes one last look, then writes
        board.wait(60)
        seen = json.loads(board_out.read_text())
        stored = (
            sqlite3.connect(data / "room.sqlite3")
            .execute("SELECT count(*), count(DISTINCT name || id) FROM reports")
            .fetchone()
        )
    finally:
        if board is not None and board.poll() is None:
            board.kill()
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    sent, acked = result["sent"], result["acked"]
    board_lat = [seen["seen"][rid] - t for rid, t in sent.items() if rid in seen["seen"]]
    ack_lat = [acked[rid] - t for rid, t in sent.items() if rid in acked]
    facts = {
        "cores": os.cpu_count(),
        "usable": len(os.sched_getaffinity(0)),
        "python": sys.version.split()[0],
    }
    report = {
        "machine": facts,
        "clients": args.clients,
        "interval_s": args.interval,
        "seconds": args.seconds,
        "connect_all_s": round(result["connect_s"], 1),
        "reports_sent": len(sent),
        "reports_per_s": round(len(sent) / args.seconds, 1),
        "acked": len(acked),
        "busy_answers": result["busy"],
        "stored": stored[0],
        "stored_distinct": stored[1],
        "board_seen": len(board_lat),
        "board_latency_s": {
            "p50": round(percentile(board_lat, 50), 3),
            "p95": round(percentile(board_lat, 95), 3),
            "max": round(max(board_lat, default=float("nan")), 3),
        },
        "ack_latency_s": {
            "p50": round(percentile(ack_lat, 50), 3),
            "p95": round(percentile(ack_lat, 95), 3),
            "max": round(max(ack_lat, default=float("nan")), 3),
        },
        "board_read_s": {
            "median": round(statistics.median(seen["read_times"]), 4)
            if seen["read_times"]
            else None,
            "max": round(max(seen["read_times"], default=0), 4),
        },
        "server_idle_rss_mb": round(idle_rss / MB, 1),
        "server_rss_max_mb": round(result["rss_max"] / MB, 1),
        "server_uss_max_mb": round(result["uss_max"] / MB, 1),
        "server_cpu_percent": round(result["cpu_percent"], 1),
    }
    print(json.dumps(report, indent=2))
    ok = (
        report["stored"] == report["stored_distinct"] == len(sent) == len(acked)
        and report["board_latency_s"]["p95"] <= 1.0
        and report["server_rss_max_mb"] < 150
    )
    print("goal met" if ok else "goal NOT met", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
