"""markdown-it adjustments that keep inline parsing linear on hostile Markdown.

markdown-it-py is linear for most input but not all: every `[` that opens no link scans
ahead to the end of its paragraph for the `]` that would close it (a megabyte of `[a `
took minutes); each `(` of a link destination is checked one character at a time, up to
32 deep (a megabyte of `[a](` took seven seconds); and each `*` or `_` costs a token and
an emphasis delimiter, some ten times the work of a letter (a megabyte of nested `*a `
took six seconds, of one run of `*` five). `linear` makes one MarkdownIt remember label
scans and give up at once on such destinations, with markdown-it's results, and sets
limits past which `*` and `_` are read as plain text: runs longer than
`MAX_DELIMITER_RUN`, and all runs after the first `MAX_DELIMITER_RUNS` of a document (no
essay comes near either). `emphasis_read_as_text` says how many were.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, MutableMapping
from types import SimpleNamespace
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

# No emphasis in prose nests this deep; the characters of a longer run are kept as text.
MAX_DELIMITER_RUN = 12
# A book of 200,000 words with an emphasised phrase every 20 has 20,000 runs.
MAX_DELIMITER_RUNS = 50_000
_DELIMITER_RUN = re.compile(r"\*+|_+")
# markdown-it's limit on `(` nesting in a link destination, and a stretch of destination
# where its scan only ever counts `(` (no `)`, escape, space or control character).
_MAX_DESTINATION_PARENS = 32
_OPENING_ONLY = re.compile(r"[^\x00-\x20\x7f)\\]{0,512}")
_ENV_KEY = "narrator_emphasis_limits"


class _Limits:
    """Per document (markdown-it's `env`): emphasis runs read, and those read as text."""

    def __init__(self) -> None:
        self.read = 0
        self.as_text = 0


# Per inline state and range end (`posMax`), what label scans from a `[` have found:
# (end, nested), where `end` is the closing `]` or -1 when there is none, and `nested`
# says a link lies inside the label (when `end` is -1: the scan stopped at that link).
_Labels = dict[tuple[int, int], tuple[int, bool]]
_LABELS: weakref.WeakKeyDictionary[StateInline, _Labels] = weakref.WeakKeyDictionary()


def linear(md: MarkdownIt) -> MarkdownIt:
    """Give `md` the emphasis limits and the quicker link label and destination scans."""
    md.inline.ruler.before("emphasis", "emphasis_limits", _emphasis_limits)
    md.helpers = SimpleNamespace(  # type: ignore[assignment]  # this instance only
        parseLinkDestination=_destination(md.helpers.parseLinkDestination),
        parseLinkLabel=parse_link_label,
        parseLinkTitle=md.helpers.parseLinkTitle,
    )
    return md


def emphasis_read_as_text(env: MutableMapping[str, Any]) -> int:
    """How many `*` or `_` runs the limits read as plain text in the document parsed with
    `env`: every run past `MAX_DELIMITER_RUNS`, and long runs that could have opened or
    closed emphasis (a long run of `_` alone, a blank to fill in, is text anyway)."""
    limits = env.get(_ENV_KEY)
    return limits.as_text if isinstance(limits, _Limits) else 0


def _destination(parse: Callable[[str, int, int], Any]) -> Callable[[str, int, int], Any]:
    """markdown-it's `parseLinkDestination`, failing at once where its scan would find more
    than `_MAX_DESTINATION_PARENS` `(` before anything else that counts."""

    def parse_link_destination(string: str, pos: int, maximum: int) -> Any:
        if not string.startswith("<", pos):
            stretch = _OPENING_ONLY.match(string, pos, maximum)
            if stretch is not None and stretch[0].count("(") > _MAX_DESTINATION_PARENS:
                return parse(string, pos, pos)  # markdown-it's own "no destination"
        return parse(string, pos, maximum)

    return parse_link_destination


def _emphasis_limits(state: StateInline, silent: bool) -> bool:
    """Inline rule before markdown-it's emphasis: a `*` or `_` run past a limit is text."""
    run = _DELIMITER_RUN.match(state.src, state.pos, state.posMax)
    if run is None:
        return False
    limits = state.env.setdefault(_ENV_KEY, _Limits())
    long = len(run[0]) > MAX_DELIMITER_RUN
    if not long and limits.read < MAX_DELIMITER_RUNS:
        limits.read += not silent  # markdown-it makes delimiters only when not silent
        return False
    if not silent:
        state.append_pending(run[0])
        if not long or _flanking(state):
            limits.as_text += 1
    state.pos = run.end()
    return True


def _flanking(state: StateInline) -> bool:
    """Whether the `*` or `_` run at `state.pos` could open or close emphasis."""
    scanned = state.scanDelims(state.pos, state.src[state.pos] == "*")
    return scanned.can_open or scanned.can_close


def parse_link_label(state: StateInline, start: int, disable_nested: bool = False) -> int:
    """markdown-it's `parseLinkLabel` (the position of the `]` closing the `[` at `start`,
    or -1), remembering each scan so that a later scan meeting that `[` jumps to its `]`,
    or gives up at once when it has none, instead of walking the same text again.

    The walk is markdown-it's: nested `[`s that are plain text count levels, and with
    `disable_nested` a link inside the label means there is none."""
    labels = _LABELS.setdefault(state, {})
    known = _known(labels, (state.posMax, start), disable_nested)
    if known is not None:
        return known
    old_pos, level, end, nested = state.pos, 1, -1, False
    state.pos = start + 1
    while state.pos < state.posMax:
        marker = state.src[state.pos]
        if marker == "]":
            level -= 1
            if level == 0:
                end = state.pos
                break
        before = state.pos
        state.md.inline.skipToken(state)
        if marker != "[":
            continue
        if state.pos == before + 1:  # a plain `[`: its own label is scanned, or known
            inner = _known(labels, (state.posMax, before), disable_nested)
            if inner is None:
                level += 1
            elif inner < 0:  # no `]` closes it, so none closes this one either
                nested = labels[state.posMax, before][1]
                break
            else:
                nested = nested or labels[state.posMax, before][1]
                state.pos = inner + 1
        elif disable_nested:
            nested = True
            break
        else:
            nested = True
    state.pos = old_pos
    labels[state.posMax, start] = (end, nested)
    return end


def _known(labels: _Labels, key: tuple[int, int], disable_nested: bool) -> int | None:
    """A remembered scan's answer for a scan from the same `[`, or None if it has none."""
    found = labels.get(key)
    if found is None:
        return None
    end, nested = found
    if nested and disable_nested:
        return -1
    if end < 0 and nested:  # stopped at a link inside: says nothing when links may nest
        return None
    return end
