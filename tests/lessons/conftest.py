"""A valid lesson to start from, and helpers to write variants and find their lines."""

from __future__ import annotations

from pathlib import Path

import pytest

VALID = """\
---
id: demo
title: A demo lesson
order: 1
summary: One line for the map.
topics: [threads, gil]
minutes: 5
---

# A demo lesson

Intro text.

## Racing cooks

```include
ref: tutor.paths:data_dir
```

```challenge
id: demo-chef
scenario: chef
params: {tasks: 4, workers: 4, boil_s: 0.5}
question: "Which kitchen is first?"
choices:
  - strategy: threads
    label: "One cook (threads)"
  - strategy: processes
    label: "Four cooks (processes)"
predict: speedup
expect:
  winner: processes
  speedup: {threads: 2.0, processes: 3.0}
explain:
  threads: "Threads won."
  processes: "Processes won."
```

## Quiz

```quiz
id: demo-q1
question: "What does a sleeping thread cost?"
choices:
  - text: "Almost nothing"
    correct: true
    why: "It releases the GIL."
  - text: "A core"
    why: "It is not scheduled."
```
"""


class Lessons:
    """Write lesson files into a temporary folder and locate text in them."""

    VALID = VALID

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, text: str | bytes, name: str = "01-demo.md") -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    @staticmethod
    def line_of(text: str, needle: str, nth: int = 1) -> int:
        """1-based line of the nth line containing `needle`."""
        hits = [i for i, line in enumerate(text.split("\n"), 1) if needle in line]
        assert len(hits) >= nth, f"{needle!r} not in the lesson text"
        return hits[nth - 1]

    @staticmethod
    def col_of(text: str, needle: str, nth: int = 1) -> int:
        """1-based column where `needle` starts on its line."""
        line = [ln for ln in text.split("\n") if needle in ln][nth - 1]
        return line.index(needle) + 1

    @staticmethod
    def replace(text: str, old: str, new: str) -> str:
        assert old in text, f"{old!r} not in the lesson text"
        return text.replace(old, new, 1)


@pytest.fixture
def lessons(tmp_path: Path) -> Lessons:
    return Lessons(tmp_path / "lessons")
