"""Whatever a lesson file contains, the loader answers with error records, never a crash."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutor.lessons import LessonError, load_catalog, load_lesson_file

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    lesson, errors = load_lesson_file(path)
    n_lines = data.count(b"\n") + 1
    for err in errors:
        assert isinstance(err, LessonError)
        assert err.path == path
        assert 1 <= err.line <= n_lines, str(err)
        assert err.column >= 1
        assert err.message and "\n" not in str(err).split(": ", 1)[0]
    # Either a lesson or at least one reason why not.
    assert (lesson is None) == bool(errors)


@SETTINGS
@given(st.binary(max_size=2000))
def test_random_bytes(tmp_path, data):
    _check(tmp_path / "random.md", data)


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_after_front_matter_delimiter(tmp_path, data):
    _check(tmp_path / "random.md", b"---\n" + data + b"\n---\n```challenge\n" + data + b"\n```\n")


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=20),
    st.sampled_from(["chef", "threads", "processes", "wall_s", "speedup", "single", "multiple", "tutor.paths:data_dir"]),
)  # fmt: skip
_keys = st.one_of(
    st.sampled_from([
        "id", "title", "order", "summary", "topics", "minutes", "language", "scenario", "params",
        "question", "choices", "strategy", "label", "expect", "winner", "speedup", "explain", "kind",
        "text", "correct", "why", "ref", "tasks", "workers", "preset", "measure", "predict",
    ]),
    st.text(max_size=8),
)  # fmt: skip
_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=6),
    max_leaves=25,
)


@SETTINGS
@given(
    front=_values,
    blocks=st.lists(
        st.tuples(st.sampled_from(["challenge", "quiz", "include"]), _values), max_size=4
    ),
)
def test_random_yaml_in_every_place(tmp_path, front, blocks):
    parts = [
        "---",
        yaml.safe_dump(front, allow_unicode=True).rstrip("\n"),
        "---",
        "",
        "# Title",
        "",
    ]
    for kind, value in blocks:
        parts += [f"```{kind}", yaml.safe_dump(value, allow_unicode=True).rstrip("\n"), "```", ""]
    _check(tmp_path / "yaml.md", "\n".join(parts).encode("utf-8", "surrogatepass"))


def _mutate(draw, text: str) -> bytes:
    """Apply a few random edits of the kinds authors make to a valid lesson."""
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        op = draw(
            st.sampled_from(
                ["delete", "duplicate", "swap", "insert", "indent", "truncate", "chars"]
            )
        )
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            lines.insert(i, draw(st.text(max_size=30)))
        elif op == "indent":
            lines[i] = draw(st.sampled_from([" ", "  ", "\t", "    "])) + lines[i]
        elif op == "truncate":
            lines = lines[: i + 1]
        else:
            line = lines[i]
            k = draw(st.integers(0, len(line)))
            junk = draw(
                st.sampled_from(
                    [":", "- ", "[", "{", '"', "'", "#", "`", "~~~", "&a ", "*a", "\u2028", "\r"]
                )
            )
            lines[i] = line[:k] + junk + line[k:]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@SETTINGS
@given(data=st.data())
def test_mutated_valid_lessons(tmp_path, lessons, data):
    _check(tmp_path / "mutated.md", _mutate(data.draw, lessons.VALID))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_catalog_of_broken_files_never_raises(tmp_path, lessons, data):
    folder = tmp_path / "many"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for k in range(data.draw(st.integers(1, 4))):
        (folder / f"{k:02d}.md").write_bytes(_mutate(data.draw, lessons.VALID))
    catalog = load_catalog([folder], builtin=False)
    assert all(isinstance(e, LessonError) and e.line >= 1 for e in catalog.errors)
    assert all(not any(e.path == lesson.path for e in catalog.errors) for lesson in catalog.lessons)


def test_adversarial_large_file_loads_in_linear_time(tmp_path, lessons):
    # Patterns that make naive regexes backtrack quadratically, near the 1 MiB limit.
    pad = 60_000
    nasty = [
        "# a" + " " * pad + "#x",
        "```" + " " * pad + "x",
        "~" * pad + "x",
        "`" * pad,
        "    ```quiz" + " " * pad,
    ]
    text = lessons.VALID + "\n" + "\n".join(nasty * 3) + "\n"
    assert len(text.encode()) < 1024 * 1024
    path = tmp_path / "nasty.md"
    path.write_text(text)
    import time

    start = time.perf_counter()
    _, errors = load_lesson_file(path)
    # Quadratic scanning took over 10 s here; linear takes milliseconds.
    assert time.perf_counter() - start < 3.0
    assert all(e.line >= 1 for e in errors)
