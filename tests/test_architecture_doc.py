"""docs/architecture.md's "How to add a scenario", followed literally.

The two code steps are applied to a copy of the package (the registry entry
added to SCENARIOS, the module written where the doc says), and the new
scenario is run with `tutor run --compare`, as a newcomer would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import tutor

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def _blocks(section: str) -> dict[str, str]:
    """Fenced ```python blocks by their label (what follows `python`)."""
    return {
        label.strip(): body
        for label, body in re.findall(r"```python ([^\n]+)\n(.*?)```", section, re.S)
    }


def test_the_scenario_guide_works_as_written(tmp_path: Path) -> None:
    blocks = _blocks(_section(DOC.read_text(encoding="utf-8"), "How to add a scenario"))
    assert set(blocks) == {"registry", "tutor/lab/scenarios/kettles.py"}, set(blocks)

    package = tmp_path / "tutor"
    shutil.copytree(
        Path(tutor.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    registry = package / "lab" / "registry.py"
    source = registry.read_text(encoding="utf-8")
    # Step 1: "add a ScenarioInfo to the tuple that builds SCENARIOS".
    closing = "\n    )\n}\n"
    assert source.count(closing) == 1, "the SCENARIOS tuple no longer ends as the guide assumes"
    entry = "".join(
        "        " + line if line else line for line in blocks["registry"].splitlines(True)
    )
    registry.write_text(source.replace(closing, "\n" + entry + closing), encoding="utf-8")
    # Step 2: the module, where the guide says.
    (package / "lab" / "scenarios" / "kettles.py").write_text(
        blocks["tutor/lab/scenarios/kettles.py"], encoding="utf-8"
    )

    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tutor",
            "run",
            "kettles",
            "--compare",
            "--quick",
            "--json",
            "--no-probe",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    summaries = {e["strategy"]: e for e in events if e["event"] == "result"}
    assert set(summaries) == {"sequential", "threads", "asyncio"}
    assert all(s["ok"] for s in summaries.values()), summaries
    # What the scenario is meant to show: the waits overlap.
    for strategy in ("threads", "asyncio"):
        assert summaries[strategy]["speedup"] > 1.5, summaries[strategy]
