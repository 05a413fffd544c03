"""Essay file text -> `Essay`: picks the parser, then applies the rules both formats share.

Each parser returns a draft: title "" when the document names none, and a lead chapter
(prose before the first chapter heading) titled "". Here the episode title is chosen,
the lead chapter named, chapters with nothing to read dropped, and unreadable essays
refused.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from narrator.errors import InputError
from narrator.model import Chapter, Essay, SourceText
from narrator.text.markdown import parse_markdown
from narrator.text.plain import parse_plain

LEAD_CHAPTER_FALLBACK = "Introduction"
_NAME_SEPARATORS = re.compile(r"[\s_-]+")


def parse_essay(source: SourceText, title: str | None = None) -> Essay:
    """Parse an essay into chapters of blocks.

    The episode title is, in order: `title`, the front matter's `title`, the document's
    opening heading or title line, the file name made readable. The lead chapter takes the
    episode title, or "Introduction" when only the file name could give one.
    """
    draft = parse_markdown(source.text) if source.markdown else parse_plain(source.text)
    named = " ".join((title or "").split()) or draft.title
    chapters = tuple(
        _named_lead(chapter, named or LEAD_CHAPTER_FALLBACK)
        for chapter in draft.chapters
        if chapter.blocks
    )
    if not chapters:
        has_headings = any(chapter.spoken_title for chapter in draft.chapters)
        raise InputError(
            f"{source.path} has {'headings but ' if has_headings else ''}no prose to read",
            "write some paragraphs (code, tables and images are not read aloud)",
        )
    return replace(
        draft, title=named or readable_name(source.path), chapters=chapters, titled=bool(named)
    )


def readable_name(path: Path) -> str:
    """A title made from a file name: `my_essay-draft.md` -> `My Essay Draft`."""
    words = _NAME_SEPARATORS.split(path.stem)
    return " ".join(word[:1].upper() + word[1:] for word in words if word) or "Untitled"


def _named_lead(chapter: Chapter, title: str) -> Chapter:
    return chapter if chapter.spoken_title else replace(chapter, title=title)
