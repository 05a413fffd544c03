"""Grouping a parsed essay's blocks into chapters: one rule for Markdown and plain text."""

from __future__ import annotations

from collections.abc import Iterable

from narrator.model import Block, Chapter


def group_chapters(items: Iterable[str | Block]) -> tuple[Chapter, ...]:
    """Chapters from blocks in reading order, where each string is a chapter heading.

    Blocks before the first heading form the lead chapter, titled "" (parse.py names it);
    a chapter with neither blocks nor a heading is dropped.
    """
    chapters: list[Chapter] = []
    title: str | None = None  # None while reading the lead chapter, which has no heading
    blocks: list[Block] = []
    for item in items:
        if isinstance(item, str):
            chapters.append(_chapter(title, blocks))
            title, blocks = item, []
        else:
            blocks.append(item)
    chapters.append(_chapter(title, blocks))
    return tuple(c for c in chapters if c.blocks or c.spoken_title)


def _chapter(title: str | None, blocks: list[Block]) -> Chapter:
    return Chapter(title or "", tuple(blocks), spoken_title=title is not None)
