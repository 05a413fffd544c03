"""Cutting plain text into things a speech engine can say: sentences, clauses, and whether
a stretch has anything to say at all. Pure functions over `str`; no model types here.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pysbd

# pysbd's cost grows faster than linearly with input length (a 36,000-character sentence
# takes over a second), so long text is fed to it in windows of about this many characters.
_WINDOW_CHARS = 2000

# Clause cut points, strongest first; a cut falls at the end of each match.
_CLAUSE_CUTS = (
    re.compile(r"[;:](?=\s)|—|\s--(?=\s)"),
    re.compile(r",(?=\s)"),
    re.compile(r"\s+"),
)

# Where a reader pauses inside a sentence: after a dash, a colon or semicolon, around a
# parenthesis, and at an ellipsis that does not end the sentence. (group "e": ellipsis)
_PACING = re.compile(
    r"(?:\u2014|\s[\u2013-]{1,2}(?=\s)|[;:](?=\s)|\)(?=\s))\s*|(?<=\s)(?=\()"
    r"|(?P<e>\u2026|\.\.\.)(?=\s)"
)
_EDGE_DASHES = re.compile(r"^(?:\s|\u2014|\u2013|--)+|(?:\s|\u2014|\u2013|--)+$")

# Arrows, maths operators, technical symbols, box drawing and geometric shapes: "other
# symbols" that are decoration (dividers, bullets), unlike emoji, which are also "other".
_DECORATION = range(0x2190, 0x2600)


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    """The one pysbd segmenter, built on first use (building it is slow; importing pysbd
    is left until then too, as a script read from the cache never needs it)."""
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


# A street abbreviation after a name ends a sentence when a capital follows: pysbd keeps
# "1428 Elm St. It was late." whole, as it must "St. Louis" and "Dr. Smith".
_STREET_END = re.compile(
    r"\b[A-Z][a-z]+ (?:St|Ave|Rd|Blvd|Dr|Ln|Ct|Pl|Sq|Hwy)\.(?=\s+[A-Z][a-z]*\b)"
)


def sentence_ends(text: str) -> list[int]:
    """Offsets just past each sentence of `text` (trailing whitespace excluded), in order:
    pysbd's, and one after a street abbreviation that ends a sentence."""
    ends = _pysbd_ends(text)
    extra = [m.end() for m in _STREET_END.finditer(text) if not _opens_name(text, m.end())]
    return sorted(set(ends) | set(extra))


def _opens_name(text: str, end: int) -> bool:
    """Whether the capitalised word after `end` goes on the name ("Elm St. Louis" no, but
    "Main St. Station"): only a few words that open sentences are taken as new ones."""
    word = text[end:].split(None, 1)[0].strip(",.;:") if text[end:].strip() else ""
    return word not in _SENTENCE_OPENERS


_SENTENCE_OPENERS = frozenset(
    [
        "It",
        "He",
        "She",
        "They",
        "We",
        "I",
        "You",
        "The",
        "A",
        "An",
        "This",
        "That",
        "There",
        "Then",
        "But",
        "And",
        "So",
        "Its",
        "His",
        "Her",
        "Their",
        "Our",
        "My",
        "On",
        "In",
        "At",
        "After",
        "Before",
        "When",
        "While",
        "Later",
        "Next",
        "Now",
        "Soon",
    ]
)


def _pysbd_ends(text: str) -> list[int]:
    """Offsets just past each sentence of `text` (trailing whitespace excluded), in order.

    Text longer than a window is segmented window by window: every boundary pysbd finds
    in a window except the last is kept (it had the following text as context), and the
    next window starts there. A window with no inner boundary lies inside one long
    sentence, so the next window simply starts where it ended.
    """
    ends: list[int] = []
    start = 0
    while len(text) - start > _WINDOW_CHARS:
        stop = _window_stop(text, start)
        found = _ends_in(text, start, stop)
        if len(found) > 1:
            ends.extend(found[:-1])
            start = found[-2]
        else:
            start = stop
    ends.extend(_ends_in(text, start, len(text)))
    return ends


def _window_stop(text: str, start: int) -> int:
    """Where a window opened at `start` closes: at its last whitespace, if it has any."""
    limit = start + _WINDOW_CHARS
    space = max(text.rfind(" ", start + 1, limit), text.rfind("\n", start + 1, limit))
    return space if space > start else limit


def _ends_in(text: str, start: int, stop: int) -> list[int]:
    """Sentence ends pysbd finds in `text[start:stop]`, as offsets into `text`.

    Sentences are located by search rather than trusted char spans, so a sentence pysbd
    altered is skipped (its boundary lost) instead of shifting every later offset.
    """
    ends: list[int] = []
    cursor = start
    for sentence in _segmenter().segment(text[start:stop]):
        stripped = sentence.strip()
        found = text.find(stripped, cursor, stop) if stripped else -1
        if found >= 0:
            cursor = found + len(stripped)
            ends.append(cursor)
    return ends


def pacing_cuts(text: str) -> list[tuple[int, bool]]:
    """Where to pause inside sentences: (offset, whether it is an ellipsis)."""
    return [(m.end(), m["e"] is not None) for m in _PACING.finditer(text)]


def strip_edge_dashes(text: str) -> str:
    """A clause cut at a dash keeps no dash at its edges (the pause says it)."""
    return _EDGE_DASHES.sub("", text)


def split_long(text: str, limit: int, target: int) -> list[str]:
    """Cut `text` into pieces of at most `limit` characters, packed up to about `target`.

    Cuts at the strongest clause boundaries available (`;` `:` `—` ` -- `, then `,`), then
    between words, and hard-splits only a word longer than `limit`. `text` should have its
    whitespace collapsed; pieces are stripped and never empty.
    """
    return _split(text.strip(), 0, limit, target)


def _split(text: str, level: int, limit: int, target: int) -> list[str]:
    if len(text) <= limit:
        return [text] if text else []
    if level == len(_CLAUSE_CUTS):
        return [text[i : i + target] for i in range(0, len(text), target)]
    pieces: list[str] = []
    for packed in _pack(text, _CLAUSE_CUTS[level], target):
        pieces.extend(_split(packed, level + 1, limit, target))
    return pieces


def _pack(text: str, cuts: re.Pattern[str], target: int) -> list[str]:
    """Split `text` at every match of `cuts`, then rejoin neighbours while they fit `target`."""
    bounds = [m.end() for m in cuts.finditer(text)]
    atoms = zip([0, *bounds], [*bounds, len(text)], strict=True)
    packed: list[tuple[int, int]] = []
    for start, end in atoms:
        if packed and end - packed[-1][0] <= target:
            packed[-1] = (packed[-1][0], end)
        else:
            packed.append((start, end))
    return [piece for start, end in packed if (piece := text[start:end].strip())]


def is_speakable(text: str) -> bool:
    """Whether `text` has a letter, number or pictograph (emoji) in it, i.e. a word to say.

    Text of only punctuation and decoration ("—", "...", "*", "* * *", "→") is not.
    """
    return any(_speakable_char(char) for char in text)


def _speakable_char(char: str) -> bool:
    category = unicodedata.category(char)
    if category[0] in "LN":
        return True
    return category == "So" and ord(char) not in _DECORATION
