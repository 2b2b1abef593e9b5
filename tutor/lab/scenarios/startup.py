"""The cost of starting workers: start and join many workers that do nothing.

What is measured is pure overhead: creating a thread is a system call and a
stack; creating a process copies (fork) or re-imports (spawn, forkserver) an
interpreter.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any


def do_nothing() -> None:
    """The whole job of each worker (module level, so spawn can import it)."""


async def do_nothing_async() -> None:
    pass


def prepare(ctx: Any) -> None:
    how = f" with start method {ctx.start_method}" if ctx.strategy == "processes" else ""
    ctx.note(f"starting and joining {ctx.tasks} do-nothing workers ({ctx.strategy}{how})")


def run(ctx: Any) -> dict:
    n = ctx.tasks
    if ctx.strategy == "threads":
        workers: list[Any] = [threading.Thread(target=do_nothing) for _ in range(n)]
    elif ctx.strategy == "processes":
        mp = ctx.mp()
        workers = [mp.Process(target=do_nothing) for _ in range(n)]
    else:

        async def main() -> None:
            await asyncio.gather(*(asyncio.create_task(do_nothing_async()) for _ in range(n)))

        asyncio.run(main())
        return {"workers_started": n}
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return {"workers_started": n}
