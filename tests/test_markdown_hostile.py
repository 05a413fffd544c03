"""Hostile Markdown: parsing stays linear in the text's length, and nothing is dropped
silently however deep the nesting."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from narrator.errors import InputError
from narrator.model import Emphasis, Span
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
