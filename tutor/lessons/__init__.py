"""Lessons: Markdown files with YAML front matter and interactive fenced blocks.

Pure data: loading a lesson reads files and parses YAML (and, for includes,
Python source with `ast`); it never imports Textual nor runs a workload. Only
:mod:`.reproduce` (`tutor lint --run`) runs workloads, through the lab.
The format is documented in docs/lesson-format.md.
"""

from tutor.lessons.loader import MAX_BYTES, load_catalog, load_lesson_file
from tutor.lessons.model import (
    Block,
    Catalog,
    Challenge,
    Choice,
    Expectation,
    Include,
    Lesson,
    LessonError,
    MarkdownText,
    QuizChoice,
    QuizQuestion,
    Section,
)

__all__ = [
    "MAX_BYTES",
    "Block",
    "Catalog",
    "Challenge",
    "Choice",
    "Expectation",
    "Include",
    "Lesson",
    "LessonError",
    "MarkdownText",
    "QuizChoice",
    "QuizQuestion",
    "Section",
    "load_catalog",
    "load_lesson_file",
]
