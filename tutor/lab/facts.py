"""Facts about this machine that decide what a measurement can show.

Every run records them, and verdicts explain outcomes with them: a 1-core
machine cannot show processes winning, a free-threaded build lets threads win.
"""

from __future__ import annotations

import os
import platform
import sys
import sysconfig

from tutor.lab import platform as lab_platform
from tutor.lab.platform import usable_cores

__all__ = ["free_threaded_build", "gil_enabled", "machine_facts", "usable_cores"]


def free_threaded_build() -> bool:
    """True on a free-threaded ("t") build of CPython 3.13+."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil_enabled() -> bool:
    """Whether the GIL is on right now (a free-threaded build can turn it back on)."""
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def machine_facts() -> dict:
    """Plain, JSON-able facts; cheap enough to compute for every run."""
    # The platform default comes first: fork on Linux up to 3.13, forkserver
    # from 3.14, spawn on macOS and Windows (and in portable mode).
    methods = lab_platform.start_methods()
    return {
        "cores": usable_cores(),
        "logical_cpus": os.cpu_count() or 1,
        "python": platform.python_version(),
        "python_path": sys.executable,
        "implementation": platform.python_implementation(),
        "free_threaded_build": free_threaded_build(),
        "gil_enabled": gil_enabled(),
        "default_start_method": methods[0],
        "start_methods": methods,
        "platform": sys.platform,
        "platform_mode": lab_platform.NAME,
        "memory_kind": lab_platform.MEMORY_KIND,
        "machine": platform.machine(),
        "switch_interval_s": sys.getswitchinterval(),
    }
