"""The restaurant kitchen: each dish is prepared (CPU work) and then boiled (waiting).

Waiting is free for threads, cooking is not: with the GIL only one thread
chops at a time, while every pot can boil at once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tutor.lab.report import COMPUTE, IDLE, WAIT, phase
from tutor.lab.scenarios.crunch import calibrate, crunch


def cook_dish(dish: int, prep_steps: int, boil_s: float) -> int:
    """Prepare (pure-Python CPU work), then boil (waiting: the GIL is released)."""
    phase(COMPUTE, dish)
    crunch(prep_steps)
    phase(WAIT, dish)
    time.sleep(boil_s)
    phase(IDLE, dish)
    return dish


async def cook_dish_async(lane: str, dish: int, prep_steps: int, boil_s: float) -> int:
    phase(COMPUTE, dish, lane)
    crunch(prep_steps)  # blocks the event loop: no other dish progresses meanwhile
    phase(WAIT, dish, lane)
    await asyncio.sleep(boil_s)
    phase(IDLE, dish, lane)
    return dish


def prepare(ctx: Any) -> None:
    steps = ctx.sized("prep_steps", lambda: calibrate(ctx.params["prep_s"]))
    ctx.note(
        f"each dish: {ctx.params['prep_s']:g} s of preparing ({steps:,} steps) "
        f"+ {ctx.params['boil_s']:g} s of boiling"
    )


def run(ctx: Any) -> dict:
    steps, boil = ctx.work["prep_steps"], ctx.params["boil_s"]
    ctx.run_tasks(cook_dish, [(i, steps, boil) for i in range(ctx.tasks)], cook_dish_async)
    return {
        "dishes": ctx.tasks,
        "prep_steps": steps,
        "prep_s": ctx.params["prep_s"],
        "boil_s": boil,
        "one_at_a_time_s": round(ctx.tasks * (ctx.params["prep_s"] + boil), 3),
    }
