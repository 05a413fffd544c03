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
from narrator.text.markdown_linear import (
    MAX_DELIMITER_RUN,
    MAX_DELIMITER_RUNS,
    emphasis_read_as_text,
    linear,
)

# Tables are enabled only so that they are recognised, and then skipped.
# markdown-it silently skips whatever lies deeper than maxNesting (CommonMark preset: 20,
# that is 10 nested lists); 200 reads 100 nested lists or 200 quotes and stays far from
# Python's recursion limit, and `_check_depth` refuses anything deeper, naming its line.
_MAX_NESTING = 200
_COMMONMARK = linear(MarkdownIt("commonmark", {"maxNesting": _MAX_NESTING}).enable("table"))
_MARKDOWN = linear(MarkdownIt("commonmark", {"maxNesting": _MAX_NESTING}).enable("table"))
_MARKDOWN.use(front_matter_plugin)
# Front matter is a few lines of metadata and settings; anything bigger is a mistake.
_MAX_FRONT_MATTER = 64 * 1024
_MAX_FRONT_MATTER_DEPTH = 20
_MAX_NUMBER_CHARS = 100

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
_CONTAINERS = frozenset({"blockquote_open", "list_item_open"})

_BREAK_HINT = 'write it like <break time="1.5s"/> or <break time="700ms"/>'


@dataclass(frozen=True)
class _Heading:
    """A heading outside any list or quote: the title, a chapter, or an inner heading."""

    level: int
    block: Block


def parse_markdown(text: str) -> Essay:
    """Parse Markdown `text` into a draft essay (see the module docstring)."""
    env: dict[str, Any] = {}
    tokens = _MARKDOWN.parse(text, env)
    front_matter = _front_matter(tokens)
    if front_matter is None:  # an opening rule, not front matter
        env = {}
        tokens, front_matter = _COMMONMARK.parse(text, env), {}
    _check_depth(tokens)
    heading_title, items = _split_title(_Reader(env).read(tokens))
    return Essay(
        title=_metadata(front_matter.get("title")) or heading_title,
        chapters=_chapters(items),
        author=_metadata(front_matter.get("author")),
        date=_metadata(front_matter.get("date")),
        front_matter=MappingProxyType(front_matter),
        warnings=_emphasis_warnings(env),
    )


def _emphasis_warnings(env: dict[str, Any]) -> tuple[str, ...]:
    """Say so when markdown-it's emphasis limits read `*` or `_` as text (they keep parsing
    linear; see `markdown_linear`), since emphasis the author wrote is then not heard."""
    plain = emphasis_read_as_text(env)
    if not plain:
        return ()
    return (
        f"read {plain:,} runs of * or _ as plain text, not emphasis (runs longer than"
        f" {MAX_DELIMITER_RUN}, and all after the first {MAX_DELIMITER_RUNS:,} in the essay)",
    )


def _check_depth(tokens: Sequence[Token]) -> None:
    """Refuse a list or quote whose content markdown-it left out for being too deep."""
    for token in tokens:
        if token.type in _CONTAINERS and token.level + 1 >= _MAX_NESTING:
            line = token.map[0] + 1 if token.map else 0
            raise InputError(
                f"Line {line} is nested more than {_MAX_NESTING // 2} lists or quotes deep,"
                " deeper than narrator reads",
                "flatten that list or quote",
            )


def _front_matter(tokens: Sequence[Token]) -> dict[Any, Any] | None:
    """The opening `---` block as a mapping, or None when it is not one (then the `---`
    lines are CommonMark rules and the text between them is read)."""
    token = next((t for t in tokens if t.type == "front_matter"), None)
    if token is None:
        return {}
    if len(token.content) > _MAX_FRONT_MATTER:
        raise InputError(
            f"The front matter is too long ({len(token.content):,} characters; at most"
            f" {_MAX_FRONT_MATTER:,})",
            "keep only short key: value lines between the --- lines",
        )
    loader = _FrontMatterLoader(token.content)
    try:
        data = loader.get_single_data()
    except _Refused as exc:
        line = f" on line {exc.mark.line + 2}" if exc.mark is not None else ""
        # +2: marks count from 0, and the YAML starts below the opening `---` line.
        raise InputError(
            f"The front matter uses {exc.what}{line}",
            "write each value out as plain text, numbers or lists: front matter is plain data",
        ) from None
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    return data if isinstance(data, dict) else None


class _Refused(Exception):
    """YAML that is valid but not plain data: what it uses, and where."""

    def __init__(self, what: str, mark: Any) -> None:  # a yaml Mark (Python or C), or None
        super().__init__(what)
        self.what = what
        self.mark = mark


class _FrontMatterLoader(yaml.SafeLoader):
    """A safe loader for small plain data: no anchors or aliases (a few bytes of them can
    expand to gigabytes, or refer to themselves), no explicit tags, no deep nesting, and
    no integers too long to convert."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(f"a YAML alias (*{event.anchor})", event.start_mark)
        if getattr(event, "anchor", None):
            raise _Refused(f"a YAML anchor for aliases (&{event.anchor})", event.start_mark)
        if getattr(event, "tag", None) not in (None, "!"):
            raise _Refused(f"a YAML tag ({event.tag})", event.start_mark)
        if self._depth >= _MAX_FRONT_MATTER_DEPTH:
            raise _Refused(
                f"values nested more than {_MAX_FRONT_MATTER_DEPTH} deep", event.start_mark
            )
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
            assert node is not None  # called where an event opens a node
            return node
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        if len(node.value) > _MAX_NUMBER_CHARS:
            raise _Refused(f"a number of {len(node.value):,} characters", node.start_mark)
        return super().construct_yaml_int(node)


_FrontMatterLoader.add_constructor("tag:yaml.org,2002:int", _FrontMatterLoader.construct_yaml_int)


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

    def __init__(self, env: dict[str, Any]) -> None:
        self._env = env  # markdown-it's, for the document's emphasis limits
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
                (inline,) = _MARKDOWN.parseInline(token.content, self._env)
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
    """Inline tokens -> spans and breaks; links and code read as their text, images skipped.

    Neighbouring text of one emphasis level becomes one span: nested emphasis can make
    hundreds of thousands of tokens, and a span (then `_tidy`'s work) for each costs more
    than markdown-it's parse of them."""
    out: list[Inline] = []
    stack = _EmphasisStack()
    level = Emphasis.NONE
    texts: list[str] = []  # text at `level` not yet in `out`

    def flush() -> None:
        if text := "".join(texts):
            out.append(Span(text, level))
        texts.clear()

    for token in children:
        match token.type:
            case "text" | "text_special" | "code_inline" | "softbreak" | "hardbreak":
                text = " " if token.type.endswith("break") else token.content
                previous = out[-1] if out and not texts else None
                if isinstance(previous, Span) and text.isspace():
                    # Whitespace alone after a change of emphasis joins the span before
                    # it, as `_tidy` joins a span of only whitespace.
                    out[-1] = Span(previous.text + text, previous.emphasis)
                elif text:
                    texts.append(text)
                continue
            case "em_open":
                stack.open("em", Emphasis.MODERATE)
            case "strong_open":
                stack.open("strong", Emphasis.STRONG)
            case "em_close" | "strong_close":
                stack.close(token.type.removesuffix("_close"))
            case "html_inline":
                pause = _html(token.content, stack)
                if pause is not None:
                    flush()
                    out.append(pause)
            case _:
                continue
        if (new := stack.level()) is not level:
            flush()
            level = new
    flush()
    return out


def _html(tag: str, stack: _EmphasisStack) -> Break | None:
    """Apply an inline HTML tag: <emphasis> changes `stack`, <break> is returned as a pause,
    and any other tag is dropped."""
    match = _TAG.match(tag)
    if match is None:  # a comment, declaration or processing instruction
        return None
    name = match["name"].lower()
    attrs = {m[1].lower(): m[2] or m[3] or m[4] or "" for m in _ATTR.finditer(match["attrs"])}
    if name == "break" and not match["close"]:
        return _break(tag, attrs.get("time", ""))
    if name == "emphasis" and match["close"]:
        stack.close("emphasis")
    elif name == "emphasis" and not tag.endswith("/>"):
        level = attrs.get("level", "moderate").strip().lower()
        if level not in _LEVELS:
            raise InputError(
                f"Unknown emphasis level in {tag}",
                'use level="strong", "moderate", "reduced" or "none"',
            )
        stack.open("emphasis", _LEVELS[level])
    return None


def _break(tag: str, time: str) -> Break:
    match = _TIME.fullmatch(time.strip())
    if match is None:
        raise InputError(f"The pause {tag} has no time it can read", _BREAK_HINT)
    amount, unit = float(match[1]), match[2].lower()
    return Break(round(amount * 1000 if unit == "s" else amount))


class _EmphasisStack:
    """The open emphasis (Markdown `em`, `strong`, and <emphasis> tags), in constant time
    per step however deep it is nested.

    Markdown emphasis only ever adds stress; an <emphasis> tag sets its level outright. So
    the level is the innermost open tag's level, raised by any Markdown emphasis opened
    after it; and a close ends the innermost open one of its kind, even when others were
    opened after it (HTML tags and Markdown need not nest). One stack per kind, with the
    order of opening, is all that takes."""

    def __init__(self) -> None:
        self._opened = 0
        self._open: dict[str, list[tuple[int, Emphasis]]] = {"em": [], "strong": [], "emphasis": []}

    def open(self, kind: str, level: Emphasis) -> None:
        self._opened += 1
        self._open[kind].append((self._opened, level))

    def close(self, kind: str) -> None:
        if self._open[kind]:
            self._open[kind].pop()

    def level(self) -> Emphasis:
        tags = self._open["emphasis"]
        since, level = tags[-1] if tags else (0, Emphasis.NONE)
        for kind in ("strong", "em"):
            inner = self._open[kind]
            if inner and inner[-1][0] > since:
                return max(level, inner[-1][1], key=_RANK.__getitem__)
        return level


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
    runs: list[Break | list[Span]] = []  # joined once each: linear however many spans
    for inline in collapsed:
        previous = runs[-1] if runs else None
        if (
            isinstance(inline, Span)
            and isinstance(previous, list)
            and (previous[0].emphasis == inline.emphasis or inline.text == " ")
        ):
            previous.append(inline)
        else:
            runs.append([inline] if isinstance(inline, Span) else inline)
    return tuple(
        Span("".join(s.text for s in run), run[0].emphasis) if isinstance(run, list) else run
        for run in runs
    )


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
