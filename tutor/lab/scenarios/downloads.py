"""Downloads: files fetched over real HTTP from the lab's own slow local server.

Each download is almost all waiting for the server: exactly the work where a
waiting thread costs nearly nothing, because blocking I/O releases the GIL.
"""

from __future__ import annotations

import asyncio
import http.client
import subprocess
import sys
from typing import Any

from tutor.lab.report import IDLE, WAIT, phase


def fetch(port: int, path: str) -> bytes:
    """Download one file with the standard library's blocking HTTP client."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        if response.status != 200:
            raise OSError(f"HTTP {response.status} for {path}")
        return response.read()
    finally:
        conn.close()


async def fetch_async(port: int, path: str) -> bytes:
    """The same download as a coroutine: it awaits the network instead of blocking."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.0 200"):
        raise OSError(f"bad response for {path}: {head[:40]!r}")
    return body


def download_task(task: int, port: int) -> int:
    phase(WAIT, task)
    size = len(fetch(port, f"/file{task}"))
    phase(IDLE, task)
    return size


async def download_task_async(lane: str, task: int, port: int) -> int:
    phase(WAIT, task, lane)
    size = len(await fetch_async(port, f"/file{task}"))
    phase(IDLE, task, lane)
    return size


def start_server(ctx: Any, delay: float, size_kib: int, bandwidth_kib: int = 0) -> int:
    """Start the lab's HTTP server as a separate process and return its port.

    A process of its own, so its work is not counted as the run's CPU and it
    never competes with the workload for the runner's GIL.
    """
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tutor.lab.httpserver",
            "--delay",
            str(delay),
            "--size-kib",
            str(size_kib),
            "--bandwidth-kib",
            str(bandwidth_kib),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    ctx.state["server"] = server
    ctx.exclude_pid(server.pid)
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.strip():
        raise RuntimeError("the lab's local HTTP server did not start")
    return int(line)


def stop_server(ctx: Any) -> None:
    server = ctx.state.pop("server", None)
    if server is not None:
        server.kill()
        server.wait()


def prepare(ctx: Any) -> None:
    p = ctx.params
    port = start_server(ctx, p["delay"], int(p["size_kib"]), int(p["bandwidth_kib"]))
    ctx.state["port"] = port
    cap = f", one shared {int(p['bandwidth_kib'])} KiB/s link" if p["bandwidth_kib"] else ""
    ctx.note(
        f"local server on 127.0.0.1:{port}: {p['delay']:g} s delay per file, {int(p['size_kib'])} KiB each{cap}"
    )


def run(ctx: Any) -> dict:
    port = ctx.state["port"]
    sizes = ctx.run_tasks(download_task, [(i, port) for i in range(ctx.tasks)], download_task_async)
    return {"files": len(sizes), "bytes": sum(sizes), "delay_s": ctx.params["delay"]}


def finish(ctx: Any) -> None:
    stop_server(ctx)
