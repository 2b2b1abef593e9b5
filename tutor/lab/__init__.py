"""The lab: real workloads run in a child process and streamed as JSON Lines.

Importing this package is cheap (plain data only). The client that starts runs
lives in :mod:`tutor.lab.client`; the child process in :mod:`tutor.lab.runner`.
"""

from tutor.lab.registry import (
    SCENARIOS,
    START_METHODS,
    STRATEGIES,
    ParamSpec,
    ScenarioInfo,
    get_scenario,
)

__all__ = ["SCENARIOS", "START_METHODS", "STRATEGIES", "ParamSpec", "ScenarioInfo", "get_scenario"]
