"""Markdown -> draft `Essay`, via markdown-it-py (CommonMark, tables, YAML front matter).

The draft's title is "" when neither the front matter nor an opening heading names the
essay, and its lead chapter (prose before the first chapter heading) has the title "";
`narrator.text.parse.parse_essay` settles both and drops chapters with nothing to read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

from narrator.errors import InputError
from narrator.model import Block, BlockKind, Break, Chapter, Emphasis, Essay, Inline, Span
from narrator.text.chapters import group_chapters

# Tables are enabled only so that they are recognised, and then skipped.
_MARKDOWN = MarkdownIt("commonmark").enable("table").use(front_matter_plugin)

# Our model has no "reduced" level: a reduced stretch is simply read without stress.
_LEVELS = {
    "strong": Emphasis.STRONG,
    "moderate": Emphasis.MODERATE,
    "reduced": Emphasis.NONE,
    "none": Emphasis.NONE,
}
_RANK = {Emphasis.NONE: 0, Emphasis.MODERATE: 1, Emphasis.STRONG: 2}

_TAG = re.compile(r"<(?P<close>/)?(?P<name>[A-Za-z][\w-]*)(?P<attrs>[^>]*?)/?>\Z", re.DOTALL)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`/]+))""")
_TIME = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)", re.IGNORECASE)
# An HTML block that is really the author's speech markup, e.g. a pause on its own line.
_SPOKEN_HTML = re.compile(r"\s*<(?:break|emphasis)\b", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")

_BREAK_HINT = 'write it like <break time="1.5s"/> or <break time="700ms"/>'


@dataclass(frozen=True)
class _Heading:
    """A heading outside any list or quote: the title, a chapter, or an inner heading."""

    level: int
    block: Block


def parse_markdown(text: str) -> Essay:
    """Parse Markdown `text` into a draft essay (see the module docstring)."""
    tokens = _MARKDOWN.parse(text)
    front_matter = _front_matter(tokens)
    heading_title, items = _split_title(_Reader().read(tokens))
    return Essay(
        title=_metadata(front_matter.get("title")) or heading_title,
        chapters=_chapters(items),
        author=_metadata(front_matter.get("author")),
        date=_metadata(front_matter.get("date")),
        front_matter=MappingProxyType(front_matter),
    )


def _front_matter(tokens: Sequence[Token]) -> dict[Any, Any]:
    token = next((t for t in tokens if t.type == "front_matter"), None)
    if token is None:
        return {}
    try:
        data = yaml.safe_load(token.content)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # +2: marks count from 0, and the YAML starts below the opening `---` line.
        where = f" on line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        raise InputError(
            f"The front matter is not valid YAML{where}" + (f" ({problem})" if problem else ""),
            "fix the YAML between the two --- lines, or remove it",
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(
            "The front matter is not a set of key: value lines",
            "write it like `title: My Essay`, one key per line, between the --- lines",
        )
    return data


def _metadata(value: Any) -> str | None:
    """A front matter value as one line of text: dates in ISO form, lists joined."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(filter(None, map(_metadata, value))) or None
    return " ".join(str(value).split()) or None


class _Reader:
    """Walks markdown-it's token stream in order, collecting headings and spoken blocks."""

    def __init__(self) -> None:
        self._items: list[_Heading | Block] = []
        self._containers: list[BlockKind] = []  # QUOTE or LIST_ITEM, innermost last
        self._item: list[Inline] = []  # text of the list item being read, not yet a Block
        self._breaks: list[Break] = []  # pauses waiting for the next spoken block
        self._tables = 0

    def read(self, tokens: Sequence[Token]) -> list[_Heading | Block]:
        opener: Token | None = None
        for token in tokens:
            self._token(token, opener)
            opener = token
        return self._items

    def _token(self, token: Token, opener: Token | None) -> None:
        match token.type:
            case "blockquote_open":
                self._end_item()
                self._containers.append(BlockKind.QUOTE)
            case "bullet_list_open" | "ordered_list_open":
                self._end_item()
            case "list_item_open":
                self._containers.append(BlockKind.LIST_ITEM)
            case "list_item_close":
                self._end_item()
                self._containers.pop()
            case "blockquote_close":
                self._containers.pop()
            case "table_open":
                self._tables += 1
            case "table_close":
                self._tables -= 1
            case "inline" if not self._tables:
                self._inline(token, opener)
            case "html_block" if _SPOKEN_HTML.match(token.content):
                (inline,) = _MARKDOWN.parseInline(token.content)
                self._add(_inlines(inline.children or []))
            # Everything else (code, HTML blocks and comments, rules...) is not spoken.

    def _inline(self, token: Token, opener: Token | None) -> None:
        inlines = _inlines(token.children or [])
        if opener is not None and opener.type == "heading_open" and not self._containers:
            block = Block(BlockKind.HEADING, _tidy(inlines))
            if _spoken(block.inlines):
                self._items.append(_Heading(int(opener.tag[1:]), block))
        else:
            self._add(inlines)

    def _add(self, inlines: list[Inline]) -> None:
        kind = self._containers[-1] if self._containers else BlockKind.PARAGRAPH
        if kind is BlockKind.LIST_ITEM:  # one block per item, however many paragraphs
            self._item += [Span(" "), *inlines] if self._item else inlines
        else:
            self._emit(kind, inlines)

    def _end_item(self) -> None:
        if self._item:
            self._emit(BlockKind.LIST_ITEM, self._item)
            self._item = []

    def _emit(self, kind: BlockKind, inlines: list[Inline]) -> None:
        tidy = _tidy([*self._breaks, *inlines])
        self._breaks = []
        if _spoken(tidy):
            self._items.append(Block(kind, tidy))
            return
        # Nothing to say, but maybe pauses: they follow the block before, or else wait
        # to open the next one (after a heading, say).
        breaks = [i for i in tidy if isinstance(i, Break)]
        previous = self._items[-1] if self._items else None
        if isinstance(previous, Block):
            self._items[-1] = Block(previous.kind, (*previous.inlines, *breaks))
        else:
            self._breaks = breaks


def _inlines(children: Sequence[Token]) -> list[Inline]:
    """Inline tokens -> spans and breaks; links and code read as their text, images skipped."""
    out: list[Inline] = []
    stack: list[tuple[str, Emphasis]] = []  # open emphasis: (what opened it, its level)
    for token in children:
        match token.type:
            case "text" | "text_special" | "code_inline":
                out.append(Span(token.content, _level(stack)))
            case "softbreak" | "hardbreak":
                out.append(Span(" ", _level(stack)))
            case "em_open":
                stack.append(("em", Emphasis.MODERATE))
            case "strong_open":
                stack.append(("strong", Emphasis.STRONG))
            case "em_close" | "strong_close":
                _close(stack, token.type.removesuffix("_close"))
            case "html_inline":
                _html(token.content, out, stack)
    return out


def _html(tag: str, out: list[Inline], stack: list[tuple[str, Emphasis]]) -> None:
    """Apply an inline HTML tag: <break> and <emphasis> act, any other tag is dropped."""
    match = _TAG.match(tag)
    if match is None:  # a comment, declaration or processing instruction
        return
    name = match["name"].lower()
    attrs = {m[1].lower(): m[2] or m[3] or m[4] or "" for m in _ATTR.finditer(match["attrs"])}
    if name == "break" and not match["close"]:
        out.append(_break(tag, attrs.get("time", "")))
    elif name == "emphasis" and match["close"]:
        _close(stack, "emphasis")
    elif name == "emphasis" and not tag.endswith("/>"):
        level = attrs.get("level", "moderate").strip().lower()
        if level not in _LEVELS:
            raise InputError(
                f"Unknown emphasis level in {tag}",
                'use level="strong", "moderate", "reduced" or "none"',
            )
        stack.append(("emphasis", _LEVELS[level]))


def _break(tag: str, time: str) -> Break:
    match = _TIME.fullmatch(time.strip())
    if match is None:
        raise InputError(f"The pause {tag} has no time it can read", _BREAK_HINT)
    amount, unit = float(match[1]), match[2].lower()
    return Break(round(amount * 1000 if unit == "s" else amount))


def _level(stack: list[tuple[str, Emphasis]]) -> Emphasis:
    """Markdown emphasis only ever adds stress; an <emphasis> tag sets its level outright."""
    level = Emphasis.NONE
    for opener, value in stack:
        level = value if opener == "emphasis" else max(level, value, key=_RANK.__getitem__)
    return level


def _close(stack: list[tuple[str, Emphasis]], opener: str) -> None:
    for index in range(len(stack) - 1, -1, -1):
        if stack[index][0] == opener:
            del stack[index]
            return


def _tidy(inlines: Sequence[Inline]) -> tuple[Inline, ...]:
    """Collapse whitespace to single spaces (across span edges too), trim the ends, and merge
    neighbouring spans of one emphasis. A space between spans joins the span before it."""
    collapsed: list[Inline] = []
    after_space = True
    for inline in inlines:
        if isinstance(inline, Break):
            collapsed.append(inline)
            continue
        text = _WHITESPACE.sub(" ", inline.text)
        if after_space:
            text = text.lstrip(" ")
        if text:
            collapsed.append(Span(text, inline.emphasis))
            after_space = text.endswith(" ")
    for index in reversed(range(len(collapsed))):  # trim the last span's trailing space
        span = collapsed[index]
        if isinstance(span, Span):
            if span.text == " ":
                del collapsed[index]
            else:
                collapsed[index] = Span(span.text.rstrip(" "), span.emphasis)
            break
    merged: list[Inline] = []
    for inline in collapsed:
        previous = merged[-1] if merged else None
        if (
            isinstance(inline, Span)
            and isinstance(previous, Span)
            and (previous.emphasis == inline.emphasis or inline.text == " ")
        ):
            merged[-1] = Span(previous.text + inline.text, previous.emphasis)
        else:
            merged.append(inline)
    return tuple(merged)


def _spoken(inlines: Sequence[Inline]) -> bool:
    return any(isinstance(i, Span) and i.text.strip() for i in inlines)


def _split_title(items: list[_Heading | Block]) -> tuple[str, list[_Heading | Block]]:
    """An opening heading with no other heading at its level or above is the title."""
    if items and isinstance(items[0], _Heading):
        first = items[0]
        if all(i.level > first.level for i in items[1:] if isinstance(i, _Heading)):
            return first.block.text, items[1:]
    return "", items


def _chapters(items: list[_Heading | Block]) -> tuple[Chapter, ...]:
    """Chapters start at the highest heading level used; deeper headings stay inside."""
    chapter_level = min((i.level for i in items if isinstance(i, _Heading)), default=0)
    return group_chapters(
        (item.block.text if item.level == chapter_level else item.block)
        if isinstance(item, _Heading)
        else item
        for item in items
    )
