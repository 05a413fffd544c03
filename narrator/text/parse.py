"""Essay file text -> `Essay`: picks the parser, then applies the rules both formats share.

Each parser returns a draft: title "" when the document names none, and a lead chapter
(prose before the first chapter heading) titled "". Here the episode title is chosen,
the lead chapter named, chapters with nothing to read dropped, and unreadable essays
refused.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from narrator.errors import InputError
from narrator.model import Chapter, Essay, SourceText
from narrator.text.markdown import parse_markdown
from narrator.text.plain import parse_plain
from narrator.text.source import readable_name

LEAD_CHAPTER_FALLBACK = "Introduction"


def parse_essay(source: SourceText, title: str | None = None) -> Essay:
    """Parse an essay into chapters of blocks, titled (see `titled`)."""
    return titled(parse_draft(source), source.path, title)


def parse_draft(source: SourceText) -> Essay:
    """Parse an essay into chapters of blocks; its title and its lead chapter's are the
    text's own ("" where the text names none), before settings may give one."""
    draft = parse_markdown(source.text) if source.markdown else parse_plain(source.text)
    if not any(chapter.blocks for chapter in draft.chapters):
        has_headings = any(chapter.spoken_title for chapter in draft.chapters)
        raise InputError(
            f"{source.path} has {'headings but ' if has_headings else ''}no prose to read",
            "write some paragraphs (code, tables and images are not read aloud)",
        )
    return draft


def titled(draft: Essay, path: Path, title: str | None = None) -> Essay:
    """The draft with its title: in order, `title` (a setting), the front matter's
    `title`, the document's opening heading or title line, the file name made readable.
    The lead chapter takes the episode title, or "Introduction" when only the file name
    could give one."""
    named = " ".join((title or "").split()) or draft.title
    chapters = tuple(
        _named_lead(chapter, named or LEAD_CHAPTER_FALLBACK)
        for chapter in draft.chapters
        if chapter.blocks
    )
    return replace(
        draft, title=named or readable_name(path.stem), chapters=chapters, titled=bool(named)
    )


def _named_lead(chapter: Chapter, title: str) -> Chapter:
    return chapter if chapter.spoken_title else replace(chapter, title=title)
