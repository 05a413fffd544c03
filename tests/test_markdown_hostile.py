"""Hostile Markdown: parsing stays linear in the text's length, and nothing is dropped
silently however deep the nesting."""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Callable

import pytest
from markdown_it import MarkdownIt

from narrator.errors import InputError
from narrator.model import Emphasis, Span
from narrator.text import markdown_linear
from narrator.text.markdown import parse_markdown


def _steps(text: str) -> int:
    """Python and C function calls made parsing `text`: a deterministic measure of work."""
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        count += 1

    sys.setprofile(profile)
    try:
        parse_markdown(text)
    finally:
        sys.setprofile(None)
    return count


SHAPES: dict[str, Callable[[int], str]] = {
    "nested *": lambda n: "*a " * n + "b" + " c*" * n,
    "nested **": lambda n: "**a " * n + "b" + " c**" * n,
    "nested * and **": lambda n: "**a *b " * n + "c" + "* d**" * n,
    "<emphasis> between *": lambda n: "*a <emphasis>" * n + "b" + "* c</emphasis>" * n,
}


@pytest.mark.parametrize("shape", SHAPES)
def test_nested_emphasis_parses_in_linear_time(shape: str) -> None:
    small, large = (_steps(SHAPES[shape](n)) for n in (400, 800))
    assert large < 2.5 * small  # was about 4x: every text token walked the open stack


def test_nested_emphasis_still_reads_its_levels() -> None:
    essay = parse_markdown("*a **b** c* <emphasis level='none'>d *e*</emphasis>")
    spans = [
        inline
        for chapter in essay.chapters
        for block in chapter.blocks
        for inline in block.inlines
        if isinstance(inline, Span)
    ]
    assert [(s.text.strip(), s.emphasis) for s in spans] == [
        ("a", Emphasis.MODERATE),
        ("b", Emphasis.STRONG),
        ("c", Emphasis.MODERATE),
        ("d", Emphasis.NONE),
        ("e", Emphasis.MODERATE),
    ]


def _spoken(text: str) -> str:
    essay = parse_markdown(text)
    return " ".join(block.text for chapter in essay.chapters for block in chapter.blocks)


@pytest.mark.parametrize("depth", [30, 60])
def test_deeply_nested_lists_and_quotes_are_read_in_full(depth: int) -> None:
    nested_list = "".join("  " * i + f"- item{i}\n" for i in range(depth))
    assert all(f"item{i}" in _spoken(nested_list).split() for i in range(depth))
    nested_quote = "".join(">" * i + f" quote{i}\n\n" for i in range(1, depth))
    assert all(f"quote{i}" in _spoken(nested_quote).split() for i in range(1, depth))


def test_a_list_nested_too_deep_to_read_says_where() -> None:
    text = "Before.\n\n" + "".join("  " * i + f"- item{i}\n" for i in range(400)) + "\nAfter.\n"
    with pytest.raises(InputError, match=r"Line \d+ is nested") as info:
        parse_markdown(text)
    assert info.value.hint


# Work per input byte, in profiler steps (see `_steps`): ordinary prose takes about 20.
# Before markdown-it's emphasis limits and remembered link labels, 24 KB of nested `*`
# took 47 a byte, a run of `*` 26, unclosed `[` 1,088, nested links 367 and unclosed
# links `[a](` 159.
HOSTILE: dict[str, tuple[str, float]] = {
    "nested *": (SHAPES["nested *"](4000), 25),
    "nested * and **": (SHAPES["nested * and **"](4000), 25),
    "a run of *": ("x " + "*" * 24_000 + " y", 1),
    "a run of _": ("x " + "_" * 24_000 + " y", 1),
    "unclosed [": ("[a " * 4000, 60),
    "nested links": ("[a " * 2000 + "b" + "](u) c" * 2000, 30),
    "unclosed links": ("[a](" * 3000, 50),
}


@pytest.mark.parametrize("shape", HOSTILE)
def test_hostile_markdown_costs_little_more_per_byte_than_prose(
    shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small limit, so that a small text goes past it as a megabyte would.
    monkeypatch.setattr(markdown_linear, "MAX_DELIMITER_RUNS", 1000)
    text, bound = HOSTILE[shape]
    assert _steps(text) < bound * len(text)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text)


def test_emphasis_past_the_limit_is_read_as_text_and_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(markdown_linear, "MAX_DELIMITER_RUNS", 10)
    text = " ".join(f"*w{i}*" for i in range(20))
    essay = parse_markdown(text)
    spans = [i for c in essay.chapters for b in c.blocks for i in b.inlines if isinstance(i, Span)]
    assert [s.emphasis for s in spans] == [Emphasis.MODERATE, Emphasis.NONE]
    assert _words(spans[0].text) == ["w"] * 5 and _words(spans[1].text) == ["w"] * 15
    assert _spoken(text).replace("*", "") == " ".join(f"w{i}" for i in range(20))
    (warning,) = essay.warnings
    assert warning.startswith("read 30 runs of * or _ as plain text")  # of 40


def test_a_long_run_of_stars_is_text_and_said_only_where_it_was_emphasis() -> None:
    essay = parse_markdown("*" * 13 + "loud" + "*" * 13 + " a blank: " + "_" * 20 + " here")
    assert _spoken("*" * 13 + "loud" + "*" * 13) == "*" * 13 + "loud" + "*" * 13
    assert "loud" in essay.chapters[0].blocks[0].text
    assert essay.warnings == (
        "read 2 runs of * or _ as plain text, not emphasis (runs longer than 12, and all"
        " after the first 50,000 in the essay)",
    )
    assert parse_markdown("*" * 12 + "loud" + "*" * 12).warnings == ()


BRACKETS = ["[", "]", "[a]", "](u)", "![", "[l](u)", "[r]", "[x][r]", "a", " ", "`", "\\[",
            "<a>", "(", ")", "[[", "]]", "*", "\n", "](", "((((((((((((", "\\("]  # fmt: skip


@pytest.mark.parametrize("max_nesting", [4, 200])
def test_quicker_link_scans_read_links_as_markdown_it_does(max_nesting: int) -> None:
    options = {"maxNesting": max_nesting}
    plain = MarkdownIt("commonmark", options)
    remembering = markdown_linear.linear(MarkdownIt("commonmark", options))
    rng = random.Random(13)
    for _ in range(1500):
        text = "[r]: /u\n\n" + "".join(rng.choice(BRACKETS) for _ in range(rng.randint(1, 30)))
        assert remembering.render(text) == plain.render(text), text


@pytest.mark.parametrize(
    "destination",
    ["(" * 32 + ")" * 32, "(" * 33 + ")" * 33, "a(" * 40, "(" * 20 + " " + "(" * 20,
     "(" * 20 + "\\)" + "(" * 20, "(" * 20 + ")" + "(" * 20, "<" + "(" * 40 + ">"],
)  # fmt: skip
def test_link_destinations_deep_in_parentheses_read_as_markdown_it_does(
    destination: str,
) -> None:
    text = f"[a]({destination}) b"
    plain = MarkdownIt("commonmark").render(text)
    assert markdown_linear.linear(MarkdownIt("commonmark")).render(text) == plain
