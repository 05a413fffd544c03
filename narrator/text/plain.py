"""Plain text -> draft `Essay`: paragraphs, and headings recognised by their look.

Paragraphs are separated by blank lines; a file with no blank lines at all has one
paragraph per line. A heading is a short line in title case or capitals with no closing
sentence punctuation, standing alone. As in `parse_markdown`, the draft's title is "" when
the text names none and its lead chapter has the title "".
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from narrator.model import Block, BlockKind, Essay, Span
from narrator.text.chapters import group_chapters

MAX_HEADING_WORDS = 12
# Words a title-case heading may leave in lower case (never the first word).
SMALL_WORDS = frozenset(
    {"a", "an", "the", "of", "in", "and", "or", "to", "for", "on", "at", "by", "with"}
    | {"vs", "vs.", "v.", "as", "but", "nor", "from", "into", "onto", "upon", "via", "per"}
)
# A line ending in one of these, even before a closing quote or bracket, is a sentence.
_SENTENCE_END = ".!?:;,\N{HORIZONTAL ELLIPSIS}\N{EM DASH}\N{EN DASH}"
_CLOSING_QUOTES = "\N{RIGHT DOUBLE QUOTATION MARK}\N{RIGHT SINGLE QUOTATION MARK}"
_CLOSERS = "\"')]}\N{RIGHT-POINTING DOUBLE ANGLE QUOTATION MARK}" + _CLOSING_QUOTES
_WORD_EDGES = (
    string.punctuation
    + "\N{LEFT DOUBLE QUOTATION MARK}\N{LEFT SINGLE QUOTATION MARK}"
    + "\N{LEFT-POINTING DOUBLE ANGLE QUOTATION MARK}"
    + _CLOSERS
)
# `1.`, `2)`, `II.`, `Chapter 3`, `Part IV`, `Book One`: a chapter, never the essay's title.
_NUMBERED = re.compile(
    r"(?:(?:\d+|[IVXLCDM]+)[.)]"
    r"|(?i:chapter|part|section|book)\s+(?:\d+|[IVXLCDM]+"
    r"|(?i:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve))\b)"
)
_BLANK_LINE = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class _Paragraph:
    text: str
    heading: bool


def parse_plain(text: str) -> Essay:
    """Parse plain `text` into a draft essay (see the module docstring)."""
    paragraphs = _paragraphs(text.strip())
    title = ""
    if paragraphs and paragraphs[0].heading and not _NUMBERED.match(paragraphs[0].text):
        title, paragraphs = paragraphs[0].text, paragraphs[1:]
    items = (
        p.text if p.heading else Block(BlockKind.PARAGRAPH, (Span(p.text),)) for p in paragraphs
    )
    return Essay(title=title, chapters=group_chapters(items))


def is_heading(line: str) -> bool:
    """Whether a line standing alone reads as a heading rather than a short sentence."""
    words = line.split()
    if not words or len(words) > MAX_HEADING_WORDS:
        return False
    ending = line.rstrip().rstrip(_CLOSERS)
    if not ending or ending[-1] in _SENTENCE_END:
        return False
    return _title_case(words)


def _title_case(words: list[str]) -> bool:
    """Every word capitalised (or all in capitals), bar small words after the first."""
    has_letters = False
    for index, word in enumerate(words):
        first_letter = next((c for c in word if c.isalpha()), None)
        if first_letter is None:  # a number or a dash
            continue
        has_letters = True
        small = index > 0 and word.strip(_WORD_EDGES).lower() in SMALL_WORDS
        if not (first_letter.isupper() or small):
            return False
    return has_letters


def _paragraphs(text: str) -> list[_Paragraph]:
    if _BLANK_LINE.search(text):
        chunks = [chunk.splitlines() for chunk in _BLANK_LINE.split(text)]
    else:
        chunks = [[line] for line in text.splitlines()]
    paragraphs = [
        _Paragraph(" ".join(" ".join(lines).split()), len(lines) == 1 and is_heading(lines[0]))
        for lines in chunks
    ]
    # Drop separators such as `* * *`, which have nothing to say.
    paragraphs = [p for p in paragraphs if any(c.isalnum() for c in p.text)]
    # Heading-like lines after the last prose are a sign-off ("The End"), not empty chapters.
    last_prose = max((i for i, p in enumerate(paragraphs) if not p.heading), default=None)
    if last_prose is None:
        return paragraphs
    return paragraphs[: last_prose + 1] + [
        _Paragraph(p.text, heading=False) for p in paragraphs[last_prose + 1 :]
    ]
