"""Turn an `Essay` into the explicit spoken `Script`: segments of speech with pauses.

A block's text is cut at sentence ends, emphasis changes and author breaks; each cut
carries a *natural* pause (from `Pauses`) and possibly a *forced* one (a `Break`), which
wins. Cuts with only whitespace between them are one point, so a break written after a
sentence, or at either edge of a paragraph, replaces the pause that was due there.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from narrator.errors import InputError
from narrator.model import (
    Block,
    BlockKind,
    Break,
    Chapter,
    Emphasis,
    Essay,
    Inline,
    Pauses,
    Script,
    ScriptChapter,
    Segment,
    Span,
    Style,
)
from narrator.text.sentences import (
    is_speakable,
    pacing_cuts,
    sentence_ends,
    split_long,
    strip_edge_dashes,
)

MARKUP_REVISION = 3
"""Bump when `build_script` (or normalize.py) gives a different script for the same essay:
scripts are cached under it."""

MAX_UTTERANCE_CHARS = 500
"""No segment's text is longer than this; longer sentences are cut into clauses."""

_TARGET_CHARS = 300
"""Clause pieces are packed up to about this length, well under the limit."""

_WHITESPACE = re.compile(r"\s")

# Closing punctuation that stays with the emphasised word before it: "*really*?" is spoken
# as "really?", not "really" then a dropped "?". Besides these (ASCII, the ellipsis and CJK
# full stops, commas and the like), closing brackets and quotes are found by category.
_CLOSERS = frozenset(".,;:!?\"'\u2026\u3001\u3002\uff01\uff0c\uff1a\uff1b\uff1f")


@dataclass(frozen=True)
class _Cut:
    """The pause at a point where speech is cut: `forced` (an author's break) beats
    `natural` (the pause `Pauses` gives that kind of point)."""

    natural: int
    forced: int | None = None

    @property
    def pause_ms(self) -> int:
        return self.natural if self.forced is None else self.forced

    def merge(self, other: _Cut) -> _Cut:
        """Both cuts at one point: the longer natural pause, and the longer break if any."""
        forced = [ms for ms in (self.forced, other.forced) if ms is not None]
        return _Cut(max(self.natural, other.natural), max(forced) if forced else None)


@dataclass(frozen=True)
class _Piece:
    """A stretch of speech and the cut that ends it."""

    text: str
    emphasis: Emphasis
    cut: _Cut
    style: Style = Style.BODY
    display: str = ""  # the written text it stands for in a transcript ("": with the last)


_STYLES = {BlockKind.HEADING: Style.HEADING, BlockKind.QUOTE: Style.QUOTE}


def build_script(
    essay: Essay,
    pauses: Pauses = Pauses(),  # noqa: B008 (frozen)
    read: Callable[[str], str] = str,
    opening: bool = False,
    split: Callable[[str], list[int]] = sentence_ends,
) -> Script:
    """The spoken script of `essay`, paced by `pauses`; chapters with nothing to say are
    dropped. `read` turns each piece of written text into what is said (normalization
    and the pronunciation lexicon, see reading.py); by default text is said as written.
    With `opening`, an essay with a real title opens with a line naming it and its author.
    `split` finds the sentence ends of a paragraph (`sentence_ends`, or the same
    remembered from an earlier build)."""
    spoken = [
        (chapter.title, pieces)
        for chapter in essay.chapters
        if (pieces := _chapter_pieces(chapter, pauses, read, split))
    ]
    if not spoken:
        written = next(
            (b.text.strip() for c in essay.chapters for b in c.blocks if b.text.strip()), ""
        )
        shown = written if len(written) <= 24 else written[:24] + "…"
        raise InputError(
            f"{essay.title!r} has nothing left to say once read ({shown!r} is left out)",
            "words in scripts with no reading and over-long words are not read; write some prose",
        )
    chapters = []
    for number, (title, pieces) in enumerate(spoken, start=1):
        end = pauses.paragraph_ms if number == len(spoken) else pauses.chapter_ms
        pieces[-1] = replace(pieces[-1], cut=replace(pieces[-1].cut, natural=end))
        segments = tuple(
            Segment(p.text, p.cut.pause_ms, p.emphasis, p.style, p.display) for p in pieces
        )
        chapters.append(ScriptChapter(title=title, segments=segments))
    if opening and essay.titled and chapters:
        first = chapters[0]
        rest = first.segments
        if rest and rest[0].style is Style.HEADING and _same_words(rest[0].display, essay.title):
            rest = rest[1:]  # the opening line names the title: it is not said twice
        chapters[0] = replace(first, segments=(_opening_line(essay, pauses, read), *rest))
    return Script(title=essay.title, author=essay.author, chapters=tuple(chapters))


def _same_words(a: str, b: str) -> bool:
    return a.split() == b.split() if a and b else False


def _opening_line(essay: Essay, pauses: Pauses, read: Callable[[str], str]) -> Segment:
    """ "Title, by Author." in the heading style, as a podcast episode opens."""
    line = f"{essay.title}, by {essay.author}." if essay.author else f"{essay.title}."
    spoken = " ".join(read(line).split())
    return Segment(spoken, pauses.heading_ms, Emphasis.NONE, Style.HEADING, line)


def _chapter_pieces(
    chapter: Chapter,
    pauses: Pauses,
    read: Callable[[str], str],
    split: Callable[[str], list[int]],
) -> list[_Piece]:
    """The chapter's speakable pieces, with the pauses of dropped pieces folded in.

    Unspeakable pieces before the first speakable one have nothing to pause after; the
    chapter pause before them stands.
    """
    blocks = chapter.blocks
    if chapter.spoken_title:
        blocks = (Block(BlockKind.HEADING, (Span(chapter.title),)), *blocks)
    kept: list[_Piece] = []
    for block in blocks:
        for written in _block_pieces(block, pauses, split):
            for piece in _paced(written, read, pauses, block.kind is BlockKind.HEADING):
                if is_speakable(piece.text):
                    kept.append(piece)
                elif kept:
                    kept[-1] = _absorb(kept[-1], piece)
    return kept


def _paced(
    written: _Piece, read: Callable[[str], str], pauses: Pauses, heading: bool
) -> Iterator[_Piece]:
    """A written stretch (a sentence, or the part of one between emphasis changes) read
    whole, then cut at its pauses (dashes, colons, parentheses, ellipses) and into clauses
    if too long. Normalization sees the whole stretch, so a pause never falls inside
    "(555) 123-4567" or "401(k)". The first piece carries the written stretch for the
    transcript; the rest are shown with it."""
    spoken = " ".join(read(written.text).split())
    # A stretch ending in a pause mark ("*wind*; and") pauses there as well.
    paced = {
        min(position, len(spoken)): _Cut(pauses.ellipsis_ms if ellipsis else pauses.clause_ms)
        for position, ellipsis in ([] if heading else pacing_cuts(spoken + " "))
    }
    end = paced.pop(len(spoken), None)
    bounds = [*paced.items(), (len(spoken), written.cut.merge(end) if end else written.cut)]
    previous = 0
    display = written.text
    for position, cut in bounds:
        text = strip_edge_dashes(" ".join(spoken[previous:position].split()))
        for part in _clauses(_Piece(text, written.emphasis, cut, written.style), pauses):
            yield replace(part, display=display)
            display = ""
        previous = position


def _absorb(kept: _Piece, dropped: _Piece) -> _Piece:
    """`kept` with the pause of the `dropped` piece after it folded in.

    An empty piece ends at the same point as `kept` (say, a break opening a paragraph),
    so the two cuts merge and a break replaces the natural pause. A piece of only
    punctuation was a real stretch of text: the longer of the two pauses is kept.
    """
    if not dropped.text:
        return replace(kept, cut=kept.cut.merge(dropped.cut))
    longest = max(kept.cut.pause_ms, dropped.cut.pause_ms)
    natural = max(kept.cut.natural, dropped.cut.natural)
    forced = None if kept.cut.forced is None and dropped.cut.forced is None else longest
    return replace(kept, cut=_Cut(natural, forced))


def _block_pieces(
    block: Block, pauses: Pauses, split: Callable[[str], list[int]]
) -> Iterator[_Piece]:
    """The pieces of one block, in order, including empty and unspeakable ones.

    A heading is spoken in the heading style and is not cut; other blocks are cut at
    every sentence end and paced at dashes, colons, semicolons, parentheses and ellipses.
    """
    heading = block.kind is BlockKind.HEADING
    style = _STYLES.get(block.kind, Style.BODY)
    text, runs, breaks = _flatten(block.inlines)
    cuts: dict[int, _Cut] = {}

    def cut_at(position: int, cut: _Cut) -> None:
        cuts[position] = cuts[position].merge(cut) if position in cuts else cut

    if not heading:
        for end in split(text):
            cut_at(end, _Cut(pauses.sentence_ms))
    for start, _ in runs[1:]:
        cut_at(_past_closers(text, start), _Cut(0))
    for position, ms in breaks:
        cut_at(position, _Cut(0, ms))
    end = len(text.rstrip())
    cut_at(end, _Cut(0))
    cuts[end] = replace(cuts[end], natural=pauses.heading_ms if heading else pauses.paragraph_ms)

    starts = [start for start, _ in runs]
    previous = 0
    for position in sorted(cuts):
        raw = text[previous:position]
        first = previous + len(raw) - len(raw.lstrip())
        emphasis = runs[bisect_right(starts, first) - 1][1] if runs else Emphasis.NONE
        yield _Piece(" ".join(raw.split()), emphasis, cuts[position], style)
        previous = position


def _clauses(piece: _Piece, pauses: Pauses) -> Iterator[_Piece]:
    """`piece`, cut into clauses if it is too long to say in one utterance."""
    if len(piece.text) <= MAX_UTTERANCE_CHARS:
        yield piece
        return
    *inner, last = split_long(piece.text, MAX_UTTERANCE_CHARS, _TARGET_CHARS)
    for text in inner:
        yield _Piece(text, piece.emphasis, _Cut(pauses.clause_ms), piece.style)
    yield replace(piece, text=last)


def _flatten(
    inlines: tuple[Inline, ...],
) -> tuple[str, list[tuple[int, Emphasis]], list[tuple[int, int]]]:
    """A block's text (every whitespace character made a space, so offsets are kept),
    where each emphasis run starts, and where each break falls."""
    parts: list[str] = []
    runs: list[tuple[int, Emphasis]] = []
    breaks: list[tuple[int, int]] = []
    length = 0
    for inline in inlines:
        if isinstance(inline, Break):
            breaks.append((length, inline.ms))
            continue
        emphasis = inline.emphasis
        if inline.text and (not runs or runs[-1][1] is not emphasis):
            runs.append((length, emphasis))
        parts.append(_WHITESPACE.sub(" ", inline.text))
        length += len(inline.text)
    return "".join(parts), runs, breaks


def _past_closers(text: str, position: int) -> int:
    while position < len(text) and (
        text[position] in _CLOSERS or unicodedata.category(text[position]) in ("Pe", "Pf")
    ):
        position += 1
    return position


def script_to_json(script: Script) -> dict[str, Any]:
    """The script as plain JSON-ready data (emphasis as its SSML level name)."""
    return {
        "title": script.title,
        "author": script.author,
        "chapters": [
            {
                "title": chapter.title,
                "segments": [
                    {
                        "text": s.text,
                        "pause_ms": s.pause_ms,
                        "emphasis": s.emphasis.value,
                        "style": s.style.value,
                        "display": s.display,
                    }
                    for s in chapter.segments
                ],
            }
            for chapter in script.chapters
        ],
    }


def script_from_json(data: dict[str, Any]) -> Script:
    """The inverse of `script_to_json`."""
    return Script(
        title=data["title"],
        author=data["author"],
        chapters=tuple(
            ScriptChapter(
                chapter["title"],
                tuple(
                    Segment(
                        s["text"],
                        s["pause_ms"],
                        Emphasis(s["emphasis"]),
                        Style(s["style"]),
                        s.get("display", ""),
                    )
                    for s in chapter["segments"]
                ),
            )
            for chapter in data["chapters"]
        ),
    )


def script_to_text(script: Script) -> str:
    """A compact plain rendering for people: a header line per chapter, a line per segment.

    Segment lines read `  [strong] text  ‖ 500 ms`, the tag naming the style (unless
    body text) and the emphasis (unless none); plain body text has no tag.
    """
    lines = [script.title]
    if script.author:
        lines.append(f"by {script.author}")
    for number, chapter in enumerate(script.chapters, start=1):
        lines += ["", f"{number}. {chapter.title}"]
        for segment in chapter.segments:
            marks = [
                *([segment.style.value] if segment.style is not Style.BODY else []),
                *([segment.emphasis.value] if segment.emphasis is not Emphasis.NONE else []),
            ]
            tag = f"[{', '.join(marks)}] " if marks else ""
            lines.append(f"  {tag}{segment.text}  ‖ {segment.pause_ms} ms")
    return "\n".join(lines)
