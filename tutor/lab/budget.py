"""Refuse a run that cannot fit in memory, before anything starts.

Without this, ``tutor run compress --tasks 32 --workers 32 --set mib=512``
was accepted and climbed toward 31 GB on a 24 GB machine: the kernel's OOM
killer, not the lab, would have ended it, possibly taking other programs along.

The estimate is a deliberate upper bound from figures measured on this
machine kind (2 cores, CPython 3.11, PSS), see docs/benchmarks.md.
"""

from __future__ import annotations

MIB = 2**20

RUN_BASE_MIB = 40
"""The runner with its sampler and the CLI (measured: ~15-17 MiB PSS for the runner alone)."""

COMPRESS_FACTOR = 2.15
"""Peak bytes per input byte of one compress task: the input, then zlib's output
(~0.57 of it) held twice while its blocks are joined. ru_maxrss over a bare
make_data + zlib.compress: 2.145 at 32 MiB, 2.141 at 128, 2.139 at 256."""

PROCESS_MIB = {"fork": 5, "forkserver": 13, "spawn": 20}
"""A busy worker process (compress, 4 workers, PSS of the tree against threads)."""

IDLE_PROCESS_MIB = {"fork": 2.3, "forkserver": 6.8, "spawn": 13.7}
"""An idle worker (`memory` scenario, 40 workers): what `memory` and `startup` start."""

FORKSERVER_MIB = 20
"""The fork server itself, once per run: an interpreter with the scenario preloaded."""

HEADROOM = 0.8
"""Use at most this share of the available memory: the machine is shared."""

_LOWER = {
    "compress": "--tasks, --workers or mib",
    "downloads": "--tasks or size_kib",
    "memory": "--tasks",
    "startup": "--tasks",
}


def estimate_bytes(spec: dict) -> int:
    """Peak memory of a resolved run spec (``RunRequest.resolve()``), in bytes."""
    scenario, strategy = spec["scenario"], spec["strategy"]
    tasks, workers = spec["tasks"], spec["workers"]
    params = spec.get("params") or {}
    concurrent = 1 if strategy == "sequential" else min(tasks, workers)
    need = RUN_BASE_MIB * MIB
    if scenario == "compress":
        need += concurrent * COMPRESS_FACTOR * params.get("mib", 0) * MIB
    elif scenario == "downloads":
        # Every response is held in full once it arrives, plus the server's one body.
        need += (tasks + 1) * params.get("size_kib", 0) * 1024
    if strategy in ("processes", "hybrid"):
        method = spec.get("start_method") or _default_start_method()
        if scenario in ("memory", "startup"):
            # Counted as all alive at once: true for memory, an upper bound for startup.
            need += tasks * IDLE_PROCESS_MIB.get(method, 14) * MIB
        else:
            need += concurrent * PROCESS_MIB.get(method, 20) * MIB
        if method == "forkserver":
            need += FORKSERVER_MIB * MIB
    return int(need)


def check_fits(spec: dict, available: int | None = None) -> None:
    """Raise ValueError (one line: estimate, available, what to lower) when the run cannot fit.

    ``available`` defaults to psutil's available memory; tests pass their own.
    """
    need = estimate_bytes(spec)
    if available is None:
        import psutil

        available = psutil.virtual_memory().available
    if need <= available * HEADROOM:
        return
    lower = _LOWER.get(spec["scenario"], "--tasks or --workers")
    raise ValueError(
        f"this run would need about {_size(need)} of memory but {_size(available)} is available "
        f"(the lab uses at most {HEADROOM:.0%} of it); lower {lower}"
    )


def _size(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**30 else f"{nbytes / MIB:.0f} MiB"


def _default_start_method() -> str:
    from tutor.lab.platform import default_start_method

    return default_start_method()
