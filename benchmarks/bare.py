"""The same work as the lab's scenarios, with nothing of the lab: no runner, no
events, no sampling, only the standard library. benchmarks/lab.py runs it side
by side with the lab to measure the lab's overhead.

    python benchmarks/bare.py SCENARIO STRATEGY TASKS WORKERS [--steps N] [--delay S]
        [--mib N] [--boil S] [--start-method M]

Prints {"wall_s": ...} on stdout. Set-up (server start) is not timed, as in the lab.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import http.client
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor


def crunch(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


async def crunch_async(n):
    return crunch(n)


def fetch(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path)
    data = conn.getresponse().read()
    conn.close()
    return data


async def fetch_async(port, path):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    return data


def cook(steps, boil):
    crunch(steps)
    time.sleep(boil)


async def cook_async(steps, boil):
    crunch(steps)
    await asyncio.sleep(boil)


def compress(mib):
    data = os.urandom(32 * 1024).hex().encode() * (mib * 16)
    return len(zlib.compress(data, 6))


def fetch_and_process(port, i, steps):
    data = fetch(port, f"/file{i}")
    crunch(steps)
    return hashlib.sha256(data).hexdigest()


def post_process(data, steps):
    crunch(steps)
    return hashlib.sha256(data).hexdigest()


def do_nothing():
    pass


def run_strategy(strategy, workers, fn, calls, afn=None, mp_context=None):
    if strategy == "sequential":
        return [fn(*c) for c in calls]
    if strategy == "threads":
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(fn, *zip(*calls, strict=True)))
    if strategy == "processes":
        with ProcessPoolExecutor(workers, mp_context=mp_context) as pool:
            return list(pool.map(fn, *zip(*calls, strict=True)))

    async def main():
        limit = asyncio.Semaphore(workers)

        async def one(c):
            async with limit:
                return await afn(*c)

        return await asyncio.gather(*(one(c) for c in calls))

    return asyncio.run(main())


def start_server(delay):
    server = subprocess.Popen(
        [sys.executable, "-m", "tutor.lab.httpserver", "--delay", str(delay), "--size-kib", "64"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    return server, int(server.stdout.readline())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("scenario")
    p.add_argument("strategy")
    p.add_argument("tasks", type=int)
    p.add_argument("workers", type=int)
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--delay", type=float, default=0.5)
    p.add_argument("--boil", type=float, default=0.5)
    p.add_argument("--mib", type=int, default=24)
    p.add_argument("--start-method", default=None)
    a = p.parse_args()
    ctx = multiprocessing.get_context(a.start_method)
    server = None
    if a.scenario in ("downloads", "pipeline"):
        server, port = start_server(a.delay)
    t0 = time.perf_counter()
    if a.scenario == "crunch":
        run_strategy(a.strategy, a.workers, crunch, [(a.steps,)] * a.tasks, crunch_async, ctx)
    elif a.scenario == "downloads":
        calls = [(port, f"/file{i}") for i in range(a.tasks)]
        run_strategy(a.strategy, a.workers, fetch, calls, fetch_async, ctx)
    elif a.scenario == "chef":
        run_strategy(a.strategy, a.workers, cook, [(a.steps, a.boil)] * a.tasks, cook_async, ctx)
    elif a.scenario == "compress":
        run_strategy(a.strategy, a.workers, compress, [(a.mib,)] * a.tasks, None, ctx)
    elif a.scenario == "startup":
        if a.strategy == "threads":
            ws = [threading.Thread(target=do_nothing) for _ in range(a.tasks)]
        else:
            ws = [ctx.Process(target=do_nothing) for _ in range(a.tasks)]
        for w in ws:
            w.start()
        for w in ws:
            w.join()
    elif a.scenario == "pipeline":
        if a.strategy == "hybrid":
            with (
                ProcessPoolExecutor(min(a.tasks, os.cpu_count() or 1), mp_context=ctx) as cpu,
                ThreadPoolExecutor(a.tasks) as io,
            ):
                downloads = [io.submit(fetch, port, f"/file{i}") for i in range(a.tasks)]
                done = [cpu.submit(post_process, f.result(), a.steps) for f in downloads]
                [f.result() for f in done]
        else:
            calls = [(port, i, a.steps) for i in range(a.tasks)]
            run_strategy(a.strategy, a.workers, fetch_and_process, calls, None, ctx)
    wall = time.perf_counter() - t0
    if server:
        server.kill()
        server.wait()
    print(json.dumps({"wall_s": wall}))


if __name__ == "__main__":
    main()
