"""Where the lesson reader cuts its text into pieces: never where it would change the rendering."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from tutor.ui.textsplit import MIN_ROWS, split_screens

PARAGRAPH = "Words that wrap. " * 8


def test_the_first_piece_stops_before_the_first_list():
    code = "```python\nx = 1\n\ny = 2\n```"
    text = f"# Title\n\n{PARAGRAPH}\n\n{code}\n\n- one\n- two\n\nAfter."
    pieces = split_screens(text)
    assert pieces[0] == f"# Title\n\n{PARAGRAPH}\n\n{code}"  # code is cheap once highlighted
    assert pieces[1].strip("\n") == "- one\n- two\n\nAfter."  # the rest of the first screen
    assert "\n".join(pieces) == text


def test_a_text_that_starts_with_a_list_keeps_it():
    text = "- one\n- two\n\nAfter."
    assert split_screens(text) == [text]


def test_never_between_two_items_of_one_list():
    items = "\n\n".join(f"- item {n}: {PARAGRAPH}" for n in range(12))
    text = f"# Title\n\n{PARAGRAPH}\n\n{PARAGRAPH}\n\n{items}"
    pieces = split_screens(text)
    assert pieces == [f"# Title\n\n{PARAGRAPH}\n\n{PARAGRAPH}", "\n" + items]


def test_short_text_is_one_piece():
    assert split_screens("# Title\n\nOne paragraph.") == ["# Title\n\nOne paragraph."]


def test_long_prose_comes_a_screen_at_a_time():
    text = "\n\n".join(f"Paragraph {n}. {PARAGRAPH}" for n in range(40))
    pieces = split_screens(text)
    assert len(pieces) >= 4
    assert all(6 <= piece.count("Paragraph") <= 12 for piece in pieces[2:-1])


def tokens(md: MarkdownIt, text: str) -> list[tuple[str, str]]:
    return [(t.type, t.content) for t in md.parse(text)]


blocks = st.sampled_from(
    [
        "# Heading",
        "## Sub heading",
        PARAGRAPH,
        "A short line.",
        "```python\nx = 1\n\n\ny = 2\n```",
        "~~~\n```\nnot a fence end\n~~~",
        "- one\n- two",
        "- loose item\n\n  continued paragraph",
        "1. first\n2. second",
        "> quoted\n> text",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "    indented code",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(blocks, min_size=1, max_size=40), st.integers(min_value=1, max_value=30))
def test_the_pieces_render_as_the_whole_text_does(parts, rows):
    text = "\n\n".join(parts)
    pieces = split_screens(text, rows=rows)
    assert "\n".join(pieces) == text
    assert all(piece.strip() for piece in pieces)
    md = MarkdownIt("gfm-like")
    assert [t for piece in pieces for t in tokens(md, piece)] == tokens(md, text)
    if len(pieces) > 1:
        # The blank line at a cut belongs to the next piece but was counted in this one.
        first = sum(max(1, -(-len(x) // 76)) if x.strip() else 1 for x in pieces[0].split("\n"))
        assert first + 1 >= min(MIN_ROWS, rows)
