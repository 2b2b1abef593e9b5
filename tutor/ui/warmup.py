"""Loading what the first lesson needs while the learner reads the map.

The first opening of a lesson paid for importing the Markdown widgets and
markdown-it, and for Pygments' Python lexer: 120-160 ms against 50-60 ms for
later openings (measured in tmux at 80x24, longest lesson). Done on a thread
after the map's first frame, the map stays responsive meanwhile.
"""

from __future__ import annotations


def warm_lesson_reader() -> None:
    from markdown_it import MarkdownIt
    from textual.highlight import highlight

    import tutor.ui.screens.lesson  # noqa: F401  (Textual's Markdown widgets, markdown-it)

    MarkdownIt("gfm-like").parse("# Title\n\nText with `code`.\n\n- item\n")
    highlight("import time\nprint(1)\n", language="python")
