"""parse_essay on the corpus (tests/data) and on small Markdown and plain-text essays."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from helpers import EMERSON, SEED, SEED_HEADINGS, THOREAU

from narrator.errors import InputError
from narrator.model import Block, BlockKind, Break, Emphasis, Essay, SourceText, Span
from narrator.text.parse import parse_essay
from narrator.text.plain import is_heading
from narrator.text.source import read_source, readable_name


def essay(text: str, name: str = "my_essay.md", title: str | None = None) -> Essay:
    source = SourceText(
        path=Path(name),
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        markdown=name.endswith(".md"),
    )
    return parse_essay(source, title=title)


def only_block(text: str) -> Block:
    (chapter,) = essay(text).chapters
    (block,) = chapter.blocks
    return block


def titles(parsed: Essay) -> list[str]:
    return [chapter.title for chapter in parsed.chapters]


# The corpus (tests/data)


def test_emerson_has_nine_chapters_and_no_lead() -> None:
    parsed = parse_essay(read_source(EMERSON))
    assert titles(parsed) == [
        "INTRODUCTION",
        "CHAPTER I",
        "CHAPTER II - COMMODITY",
        "CHAPTER III - BEAUTY",
        "CHAPTER IV - LANGUAGE",
        "CHAPTER V - DISCIPLINE",
        "CHAPTER VI - IDEALISM",
        "CHAPTER VII - SPIRIT",
        "CHAPTER VIII - PROSPECTS",
    ]
    assert all(chapter.spoken_title for chapter in parsed.chapters)
    assert parsed.title == "Emerson Nature"
    assert parsed.chapters[0].blocks[0].text.startswith("Our age is retrospective.")


def test_emerson_parses_well_under_a_second() -> None:
    source = read_source(EMERSON)
    start = time.perf_counter()
    parse_essay(source)
    assert time.perf_counter() - start < 0.5


def test_thoreau_is_one_chapter_and_its_verses_are_emphasis() -> None:
    parsed = parse_essay(read_source(THOREAU))
    (chapter,) = parsed.chapters
    assert (chapter.title, chapter.spoken_title) == ("Introduction", False)
    verses = [
        span
        for block in chapter.blocks
        for span in block.inlines
        if isinstance(span, Span) and span.text.startswith('"Not a drum was heard')
    ]
    assert len(verses) == 1
    assert verses[0].emphasis is Emphasis.MODERATE
    # The four emphasised lines of the verse are one run, not four.
    assert verses[0].text.endswith("O'er the grave where our hero we buried.\"")


def test_seed_has_a_lead_chapter_and_seven_headings() -> None:
    parsed = parse_essay(read_source(SEED))
    assert titles(parsed) == ["Introduction", *SEED_HEADINGS]
    assert [c.spoken_title for c in parsed.chapters] == [False] + [True] * 7
    assert parsed.chapters[0].blocks[0].text.startswith("Mike Figgis\u2019s Leaving Las Vegas")
    assert [len(c.blocks) for c in parsed.chapters] == [1, 3, 4, 4, 4, 3, 3, 3]


def test_a_title_argument_names_the_episode_and_the_lead_chapter() -> None:
    parsed = parse_essay(read_source(SEED), title="Sera")
    assert parsed.title == "Sera"
    assert parsed.chapters[0].title == "Sera"
    assert not parsed.chapters[0].spoken_title


@pytest.mark.parametrize("name", ["essay.md", "essay.txt"])
def test_bom_crlf_and_lone_cr_parse_like_lf(tmp_path: Path, name: str) -> None:
    text = "Title Here\n\nLead prose, *here*.\n\n## Part One\n\nFirst.\nStill first.\n"
    if name.endswith(".txt"):
        text = text.replace("## ", "").replace("*", "")
    parsed = []
    for encoded in (
        text.encode(),
        b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(),
        text.replace("\n", "\r").encode(),
    ):
        path = tmp_path / name
        path.write_bytes(encoded)
        parsed.append(parse_essay(read_source(path)))
    assert parsed[0] == parsed[1] == parsed[2]
    assert len(parsed[0].chapters) == 2


# Markdown structure


def test_front_matter_gives_title_author_date_and_keeps_every_key() -> None:
    parsed = essay(
        "---\ntitle: Walking\nauthor: H. D. Thoreau\ndate: 1862-06-01\nvoice: en-us\n"
        "Tags: [a, b]\n---\n# Walking\n\nI wish to speak a word for Nature.\n"
    )
    assert (parsed.title, parsed.author, parsed.date) == ("Walking", "H. D. Thoreau", "1862-06-01")
    assert parsed.front_matter["voice"] == "en-us"
    assert parsed.front_matter["Tags"] == ["a", "b"]
    assert set(parsed.front_matter) == {"title", "author", "date", "voice", "Tags"}
    (chapter,) = parsed.chapters
    assert (chapter.title, chapter.spoken_title) == ("Walking", False)


@pytest.mark.parametrize(
    ("front_matter", "message"),
    [("title: [unclosed\n", "not valid YAML"), ("- just\n- a list\n", "key: value")],
)
def test_bad_front_matter_is_refused(front_matter: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        essay(f"---\n{front_matter}---\n\nText.\n")
    assert info.value.hint


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("Given", "---\ntitle: Front\n---\n# Heading\n\nText.\n", "Given"),
        (None, "---\ntitle: Front\n---\n# Heading\n\nText.\n", "Front"),
        (None, "# Heading\n\nText.\n", "Heading"),
        (None, "Text.\n", "My Essay"),
    ],
)
def test_title_order(title: str | None, text: str, expected: str) -> None:
    assert essay(text, title=title).title == expected


def test_title_heading_above_sections_is_not_a_chapter() -> None:
    parsed = essay(
        "# The Essay\n\nA lead paragraph.\n\n## First\n\nOne.\n\n### Detail\n\nDeep.\n\n"
        "## Second\n\nTwo.\n"
    )
    assert parsed.title == "The Essay"
    assert titles(parsed) == ["The Essay", "First", "Second"]
    assert [c.spoken_title for c in parsed.chapters] == [False, True, True]
    first = parsed.chapters[1]
    assert [(b.kind, b.text) for b in first.blocks] == [
        (BlockKind.PARAGRAPH, "One."),
        (BlockKind.HEADING, "Detail"),
        (BlockKind.PARAGRAPH, "Deep."),
    ]


def test_without_any_title_the_lead_chapter_is_introduction() -> None:
    parsed = essay("Lead prose.\n\n## One\n\nText.\n\n## Two\n\nMore.\n")
    assert parsed.title == "My Essay"
    assert titles(parsed) == ["Introduction", "One", "Two"]


def test_setext_headings() -> None:
    parsed = essay("The Title\n=========\n\nLead.\n\nOne\n---\n\nText.\n\nTwo\n---\n\nMore.\n")
    assert parsed.title == "The Title"
    assert titles(parsed) == ["The Title", "One", "Two"]


def test_chapter_titles_drop_markup_and_keep_typographic_quotes() -> None:
    parsed = essay(
        "## \u201cNature\u2019s\u201d *Design* and `code`\n\nText.\n\n## [Linked](http://x)\n\nMore.\n"
    )
    assert titles(parsed) == ["\u201cNature\u2019s\u201d Design and code", "Linked"]


def test_heading_without_prose_is_dropped_but_others_kept() -> None:
    parsed = essay("## Empty\n\n## Full\n\nText.\n\n## Trailing\n")
    assert titles(parsed) == ["Full"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("## One\n\n## Two\n\n```\ncode\n```\n", "has headings but no prose to read"),
        ("```python\nprint('hi')\n```\n\n![a picture](a.png)\n", "has no prose to read"),
        ("| a | b |\n|---|---|\n| 1 | 2 |\n\n<!-- note -->\n", "has no prose to read"),
    ],
)
def test_essays_with_nothing_to_read_are_refused(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        essay(text)
    assert info.value.hint


# Markdown blocks and inlines


def test_lists_and_quotes_are_spoken_block_by_block() -> None:
    (chapter,) = essay(
        "- first item\n- second item\n\n  its second paragraph\n  - nested\n\n"
        "1. numbered\n\n> quoted one\n> still one\n>\n> quoted two\n"
    ).chapters
    assert [(b.kind, b.text) for b in chapter.blocks] == [
        (BlockKind.LIST_ITEM, "first item"),
        (BlockKind.LIST_ITEM, "second item its second paragraph"),
        (BlockKind.LIST_ITEM, "nested"),
        (BlockKind.LIST_ITEM, "numbered"),
        (BlockKind.QUOTE, "quoted one still one"),
        (BlockKind.QUOTE, "quoted two"),
    ]


def test_unspoken_markdown_is_skipped() -> None:
    (chapter,) = essay(
        "Before.\n\n```\nfenced = 1\n```\n\n    indented = 2\n\n![alt text](pic.png)\n\n"
        "| h1 | h2 |\n|----|----|\n| c1 | c2 |\n\n<div>\nhtml block\n</div>\n\n"
        "<!-- a comment -->\n\n---\n\nAfter, with `inline code`, a [link](https://x.org)"
        " and <span>tagged</span> text<!-- gone -->.\n"
    ).chapters
    assert [b.text for b in chapter.blocks] == [
        "Before.",
        "After, with inline code, a link and tagged text.",
    ]


def test_line_breaks_and_whitespace_collapse_to_single_spaces() -> None:
    block = only_block("One  line\nsoft   break  \nhard break\\\nand   more.\n")
    assert block.inlines == (Span("One line soft break hard break and more."),)


def test_emphasis_levels_and_merging() -> None:
    block = only_block(
        "Plain *em* **strong** ***both*** _under_ "
        '<emphasis>tag</emphasis> <emphasis level="strong">loud *still*</emphasis> '
        '<emphasis level="reduced">soft</emphasis> <emphasis level="none">flat</emphasis>.\n'
    )
    assert block.inlines == (
        Span("Plain "),
        Span("em ", Emphasis.MODERATE),
        Span("strong both ", Emphasis.STRONG),
        Span("under tag ", Emphasis.MODERATE),
        Span("loud still ", Emphasis.STRONG),
        Span("soft flat."),
    )


def test_breaks_become_pauses_and_are_never_spoken() -> None:
    parsed = essay(
        "One.<break time=\"1.5s\"/> Two. <break time='700ms'/>Three.\n\n"
        '<break time="2s"/>\n\n## Next\n\n<break time="0.25s" />\n\nFour.\n'
    )
    first, second = parsed.chapters
    assert first.blocks[0].inlines == (
        Span("One."),
        Break(1500),
        Span(" Two. "),
        Break(700),
        Span("Three."),
        Break(2000),  # a pause on its own line follows the paragraph before it
    )
    assert second.blocks[0].inlines == (Break(250), Span("Four."))
    assert "break" not in first.blocks[0].text


@pytest.mark.parametrize(
    "tag", ['<break time="soon"/>', "<break/>", '<emphasis level="loud">x</emphasis>']
)
def test_unreadable_speech_tags_are_refused(tag: str) -> None:
    with pytest.raises(InputError) as info:
        essay(f"Text {tag} here.\n")
    assert info.value.hint


# Plain text


def test_plain_title_line_then_numbered_headings() -> None:
    parsed = essay(
        "A Field Guide\n\n1. Birds\n\nBirds fly\nand sing.\n\n2. Trees\n\nTrees grow.\n",
        name="guide.txt",
    )
    assert parsed.title == "A Field Guide"
    assert titles(parsed) == ["1. Birds", "2. Trees"]
    assert parsed.chapters[0].blocks == (
        Block(BlockKind.PARAGRAPH, (Span("Birds fly and sing."),)),
    )


def test_plain_numbered_first_heading_is_a_chapter_not_the_title() -> None:
    parsed = essay("Chapter 1\n\nOne.\n\nChapter 2\n\nTwo.\n", name="story.txt")
    assert parsed.title == "Story"
    assert titles(parsed) == ["Chapter 1", "Chapter 2"]


def test_plain_capitalised_headings_one_paragraph_per_line() -> None:
    parsed = essay(
        "It begins here, before any heading.\nA second opening line.\n"
        "PART ONE\nThe first part.\nTHE SECOND PART\nThe second part.\n",
        name="caps.txt",
    )
    assert titles(parsed) == ["Introduction", "PART ONE", "THE SECOND PART"]
    assert len(parsed.chapters[0].blocks) == 2


def test_plain_text_without_headings_is_one_chapter() -> None:
    parsed = essay("First paragraph,\nwrapped.\n\nSecond paragraph.\n", name="notes.txt")
    assert parsed.title == "Notes"
    (chapter,) = parsed.chapters
    assert (chapter.title, chapter.spoken_title) == ("Introduction", False)
    assert [b.text for b in chapter.blocks] == ["First paragraph, wrapped.", "Second paragraph."]


def test_plain_heading_like_lines_after_the_last_prose_are_read_as_prose() -> None:
    parsed = essay("Some Title\n\nProse here.\n\nThe End\n", name="x.txt")
    assert [b.text for b in parsed.chapters[0].blocks] == ["Prose here.", "The End"]


def test_plain_headings_without_prose_are_refused() -> None:
    with pytest.raises(InputError, match="headings but no prose"):
        essay("My Title\n\nPart One\n\nPart Two\n", name="x.txt")


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("The Introduction: A Woman in Control of Nothing and Everything", True),
        ("Elisabeth Shue\u2019s Masterpiece", True),
        ("1995 and All That", True),
        ("II. The Return", True),
        ("CHAPTER IV - LANGUAGE", True),
        ("It was a dark night", False),  # not title case
        ("I Went Home.", False),  # closing punctuation
        ("\u201cGo Home Now!\u201d", False),  # closing punctuation inside a quote
        ("Then Came the Dawn, and Then", True),  # punctuation mid-line is fine
        ("She said nothing", False),
        ("the Lower-Case Start", False),
        ("One Two Three Four Five Six Seven Eight Nine Ten Eleven Twelve Thirteen", False),
        ("1914", False),  # no words
    ],
)
def test_is_heading(line: str, heading: bool) -> None:
    assert is_heading(line) is heading


@pytest.mark.parametrize(
    ("name", "readable"),
    [
        ("my_essay-draft.md", "My Essay Draft"),
        ("walking.txt", "Walking"),
        ("NASA  report.md", "NASA Report"),
        ("__.md", "Untitled"),
    ],
)
def test_readable_name(name: str, readable: str) -> None:
    assert readable_name(Path(name).stem) == readable
