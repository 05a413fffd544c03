"""Tests for markup: Essay -> spoken Script (segments, pauses, emphasis, length limits)."""

from __future__ import annotations

import time

import pytest

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
    Segment,
    Span,
    Style,
)
from narrator.text.markup import MAX_UTTERANCE_CHARS, build_script, script_to_json, script_to_text
from narrator.text.sentences import is_speakable, sentence_ends, split_long

P = Pauses()
NONE, MODERATE, STRONG = Emphasis.NONE, Emphasis.MODERATE, Emphasis.STRONG
HEADING = Style.HEADING


def para(*inlines: Inline | str, kind: BlockKind = BlockKind.PARAGRAPH) -> Block:
    """A block; plain strings stand for unemphasised spans."""
    return Block(kind, tuple(Span(i) if isinstance(i, str) else i for i in inlines))


def lead(*blocks: Block) -> Chapter:
    return Chapter("Lead", blocks, spoken_title=False)


def essay(*chapters: Chapter) -> Essay:
    return Essay(title="An Essay", chapters=chapters, author="A. Writer")


def said(script: Script) -> list[tuple[str, int, Emphasis]]:
    return [(s.text, s.pause_ms, s.emphasis) for c in script.chapters for s in c.segments]


def texts(script: Script) -> list[str]:
    return [s.text for c in script.chapters for s in c.segments]


def only_segments(script: Script) -> list[Segment]:
    return [s for c in script.chapters for s in c.segments]


def test_sentence_paragraph_chapter_and_final_pauses() -> None:
    script = build_script(
        essay(
            lead(para("One is here. Two is here."), para("Three.")),
            Chapter("Next", (para("Four. Five."),)),
        )
    )
    assert said(script) == [
        ("One is here.", P.sentence_ms, NONE),
        ("Two is here.", P.paragraph_ms, NONE),
        ("Three.", P.chapter_ms, NONE),
        ("Next", P.heading_ms, NONE),
        ("Four.", P.sentence_ms, NONE),
        ("Five.", P.paragraph_ms, NONE),
    ]


def test_list_items_and_quotes_end_with_paragraph_pause() -> None:
    script = build_script(
        essay(
            lead(
                para("First item.", kind=BlockKind.LIST_ITEM),
                para("A quote.", kind=BlockKind.QUOTE),
                para("The end."),
            )
        )
    )
    assert [s.pause_ms for s in only_segments(script)] == [P.paragraph_ms] * 3


def test_chapter_title_is_spoken_first_in_the_heading_style() -> None:
    script = build_script(essay(Chapter("The  Beginning", (para("Text."),))))
    assert script.chapters[0].title == "The  Beginning"
    assert only_segments(script)[0] == Segment("The Beginning", P.heading_ms, NONE, HEADING)
    assert only_segments(script)[1].style is Style.BODY


def test_quotes_are_voiced_in_the_quote_style() -> None:
    script = build_script(essay(lead(para("Said.", kind=BlockKind.QUOTE), para("Plain."))))
    assert [s.style for s in only_segments(script)] == [Style.QUOTE, Style.BODY]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She moved — not fast — but sure.", ["She moved", "not fast", "but sure."]),
        ("One thing: the sea; and the sky.", ["One thing:", "the sea;", "and the sky."]),
        ("He waited... then left.", ["He waited...", "then left."]),
        ("A note (brief) here.", ["A note", "(brief)", "here."]),
        ("At 10:30 we met.", ["At 10:30 we met."]),
    ],
)
def test_dashes_colons_semicolons_ellipses_and_parentheses_pause(
    text: str, expected: list[str]
) -> None:
    segments = only_segments(build_script(essay(lead(para(text)))))
    assert [s.text for s in segments] == expected
    inner = [s.pause_ms for s in segments[:-1]]
    assert all(ms in (P.clause_ms, P.ellipsis_ms) for ms in inner)
    assert (P.ellipsis_ms in inner) == ("..." in text)


def test_reading_function_turns_written_text_into_spoken_text() -> None:
    script = build_script(essay(Chapter("Part II", (para("It cost $5."),))), P, str.upper)
    assert texts(script) == ["PART II", "IT COST $5."]


def test_lead_chapter_title_is_not_spoken() -> None:
    script = build_script(essay(lead(para("Prose first.")), Chapter("Two", (para("More."),))))
    assert script.chapters[0].title == "Lead"
    assert texts(script) == ["Prose first.", "Two", "More."]


def test_inner_heading_is_spoken_whole_with_heading_pause() -> None:
    heading = para("Why? Because.", kind=BlockKind.HEADING)
    script = build_script(essay(lead(para("Before."), heading, para("After."))))
    assert said(script) == [
        ("Before.", P.paragraph_ms, NONE),
        ("Why? Because.", P.heading_ms, NONE),
        ("After.", P.paragraph_ms, NONE),
    ]


def test_emphasis_stretch_is_its_own_segment_without_pause_inside_sentence() -> None:
    block = para("This is ", Span("very", STRONG), " important. Next ", Span("one", MODERATE))
    assert said(build_script(essay(lead(block)))) == [
        ("This is", 0, NONE),
        ("very", 0, STRONG),
        ("important.", P.sentence_ms, NONE),
        ("Next", 0, NONE),
        ("one", P.paragraph_ms, MODERATE),
    ]


def test_punctuation_right_after_emphasis_stays_with_it() -> None:
    block = para("Was it ", Span("really", STRONG), "? Yes.")
    assert said(build_script(essay(lead(block)))) == [
        ("Was it", 0, NONE),
        ("really?", P.sentence_ms, STRONG),
        ("Yes.", P.paragraph_ms, NONE),
    ]


def test_break_mid_sentence_ends_the_segment_with_exactly_its_pause() -> None:
    block = para("Wait for it ", Break(1500), " now. Done.")
    assert said(build_script(essay(lead(block)))) == [
        ("Wait for it", 1500, NONE),
        ("now.", P.sentence_ms, NONE),
        ("Done.", P.paragraph_ms, NONE),
    ]


@pytest.mark.parametrize("ms", [100, 3000])
def test_break_replaces_the_pause_already_due_at_its_point(ms: int) -> None:
    script = build_script(
        essay(
            lead(para("Sentence one. ", Break(ms), "Two.", Break(ms)), para("End.", Break(ms))),
            Chapter("Last", (para("Final."),)),
        )
    )
    assert [s.pause_ms for s in only_segments(script)] == [ms, ms, ms, P.heading_ms, 900]


@pytest.mark.parametrize("ms", [200, 4000])
def test_break_opening_a_paragraph_replaces_the_paragraph_pause(ms: int) -> None:
    script = build_script(essay(lead(para("One."), para(Break(ms), " Two."))))
    assert said(script) == [("One.", ms, NONE), ("Two.", P.paragraph_ms, NONE)]


def test_long_sentence_is_cut_at_clauses_with_clause_pauses() -> None:
    clause = "the committee deliberated at length about the matter before it"
    sentence = "; ".join([clause] * 20) + "."
    script = build_script(essay(lead(para(sentence, " Short one."))))
    segments = only_segments(script)
    pieces, rest = segments[:-1], segments[-1]
    assert len(pieces) > 2
    assert all(len(s.text) <= MAX_UTTERANCE_CHARS for s in segments)
    assert all(s.text.endswith(";") and s.pause_ms == P.clause_ms for s in pieces[:-1])
    assert pieces[-1].pause_ms == P.sentence_ms
    assert " ".join(s.text for s in pieces) == sentence
    assert rest == Segment("Short one.", P.paragraph_ms)


def test_clause_cuts_prefer_semicolons_to_commas_to_spaces() -> None:
    left = "alpha, beta, gamma " * 12 + "end;"
    right = " delta, epsilon " * 20
    assert split_long(left + right, 500, 300)[0] == left
    words = "word " * 200
    assert all(len(p) <= 300 and not p.endswith(" ") for p in split_long(words, 500, 300))


def test_twenty_thousand_character_word_is_hard_split() -> None:
    word = "x" * 20_000
    segments = only_segments(build_script(essay(lead(para(word)))))
    assert all(0 < len(s.text) <= MAX_UTTERANCE_CHARS for s in segments)
    assert "".join(s.text for s in segments) == word


def test_six_thousand_word_sentence_is_fast_and_within_the_limit() -> None:
    words = ["alpha", "beta", "gamma,", "delta", "epsilon", "zeta;", "eta", "theta"]
    sentence = " ".join(words[i % len(words)] for i in range(6000)) + "."
    started = time.perf_counter()
    segments = only_segments(build_script(essay(lead(para(sentence)))))
    assert time.perf_counter() - started < 1.0  # about 0.15 s; unwindowed pysbd takes over 1 s
    assert all(len(s.text) <= MAX_UTTERANCE_CHARS for s in segments)
    assert " ".join(s.text for s in segments) == sentence
    assert {s.pause_ms for s in segments[:-1]} == {P.clause_ms}


def test_long_block_of_many_sentences_is_split_exactly_across_windows() -> None:
    sentences = [f"Mr. Smith wrote sentence number {n} today." for n in range(400)]
    text = " ".join(sentences)
    assert len(text) > 10_000
    assert sentence_ends(text)[-1] == len(text)
    assert texts(build_script(essay(lead(para(text))))) == sentences


def test_punctuation_only_segments_are_dropped_keeping_the_longer_pause() -> None:
    script = build_script(
        essay(
            lead(
                para("Wait ", Span("—", STRONG), " what? ", "..."),
                para("* * *"),
                para("Go on.", " —", Break(2500)),
                para("Last."),
            )
        )
    )
    assert said(script) == [
        ("Wait", P.clause_ms, NONE),  # the dash, though unspoken, still gives its pause
        ("what?", P.paragraph_ms, NONE),
        ("Go on.", 2500, NONE),
        ("Last.", P.paragraph_ms, NONE),
    ]


def test_chapter_with_nothing_to_say_is_dropped() -> None:
    script = build_script(
        essay(lead(para("Only words.")), Chapter("* * *", (para("—"), para("***"))))
    )
    assert [c.title for c in script.chapters] == ["Lead"]
    assert said(script) == [("Only words.", P.paragraph_ms, NONE)]


def test_emoji_and_non_latin_scripts_are_kept() -> None:
    block = para("🎉 ", "Γειά σου κόσμε. 中文句子。", Span("🙂", STRONG))  # noqa: RUF001
    assert texts(build_script(essay(lead(block)))) == [
        "🎉 Γειά σου κόσμε.",  # noqa: RUF001
        "中文句子。",
        "🙂",
    ]


@pytest.mark.parametrize(
    ("text", "speakable"),
    [
        ("—", False),
        ("...", False),
        ("*", False),
        ("* * *", False),
        ("→ ■", False),
        ("", False),
        ("🙂", True),
        ("Ωμέγα", True),
        ("中", True),
        ("42", True),
        ("a.", True),
    ],
)
def test_is_speakable(text: str, speakable: bool) -> None:
    assert is_speakable(text) is speakable


def test_script_to_json_has_exactly_the_documented_shape() -> None:
    script = build_script(essay(Chapter("Intro", (para("Say ", Span("this", STRONG)),))))
    assert script_to_json(script) == {
        "title": "An Essay",
        "author": "A. Writer",
        "chapters": [
            {
                "title": "Intro",
                "segments": [
                    {
                        "text": "Intro",
                        "pause_ms": 1000,
                        "emphasis": "none",
                        "style": "heading",
                        "display": "Intro",
                    },
                    {
                        "text": "Say",
                        "pause_ms": 0,
                        "emphasis": "none",
                        "style": "body",
                        "display": "Say",
                    },
                    {
                        "text": "this",
                        "pause_ms": 900,
                        "emphasis": "strong",
                        "style": "body",
                        "display": "this",
                    },
                ],
            }
        ],
    }


def test_script_to_text_is_a_compact_plain_listing() -> None:
    script = build_script(essay(Chapter("Intro", (para("Say ", Span("this", STRONG)),))))
    assert script_to_text(script) == "\n".join(
        [
            "An Essay",
            "by A. Writer",
            "",
            "1. Intro",
            "  [heading] Intro  ‖ 1000 ms",
            "  Say  ‖ 0 ms",
            "  [strong] this  ‖ 900 ms",
        ]
    )


def test_custom_pauses_change_every_kind_of_pause() -> None:
    pauses = Pauses(sentence_ms=11, paragraph_ms=22, heading_ms=33, chapter_ms=44, clause_ms=55)
    long_sentence = ", ".join(["a clause of several words"] * 30) + "."
    script = build_script(
        essay(
            lead(para("One. Two."), para("Three.")),
            Chapter("Next", (para(long_sentence),)),
        ),
        pauses,
    )
    pause_list = [s.pause_ms for s in only_segments(script)]
    assert pause_list[:5] == [11, 22, 44, 33, 55]
    assert pause_list[-1] == 22
    assert set(pause_list[4:-1]) == {55}


def test_paragraph_pause_is_used_even_when_shorter_than_the_sentence_pause() -> None:
    pauses = Pauses(sentence_ms=800, paragraph_ms=300)
    script = build_script(essay(lead(para("One. Two.  \n"), para("Three. "))), pauses)
    assert [s.pause_ms for s in only_segments(script)] == [800, 300, 300]


def test_spoken_text_has_no_markup_and_collapsed_whitespace() -> None:
    block = para(
        "  Some\ttext\nacross   lines, ",
        Span("stressed\u00a0here", STRONG),
        Break(700),
        " and\n\nmore. ",
        Span("Also this", MODERATE),
        ".",
    )
    script = build_script(essay(Chapter("A  title\n", (block,))))
    for segment in only_segments(script):
        text = segment.text
        assert text == " ".join(text.split())
        assert not any(mark in text for mark in ("*", "_", "<", ">"))
    assert texts(script) == [
        "A title",
        "Some text across lines,",
        "stressed here",
        "and more.",
        "Also this.",
    ]


def test_script_carries_essay_title_author_and_chapter_titles() -> None:
    script = build_script(
        Essay("T", (lead(para("x.")), Chapter("Second", (para("y."),))), author=None)
    )
    assert (script.title, script.author) == ("T", None)
    assert [c.title for c in script.chapters] == ["Lead", "Second"]
    assert script_to_text(script).splitlines()[:3] == ["T", "", "1. Lead"]


def test_opening_line_names_a_real_title_and_author() -> None:
    named = Essay("On Walking", (Chapter("On Walking", (para("Text."),), spoken_title=False),),
                  author="A. Writer", titled=True)  # fmt: skip
    script = build_script(named, P, opening=True)
    assert only_segments(script)[0] == Segment(
        "On Walking, by A. Writer.", P.heading_ms, NONE, HEADING
    )
    untitled = Essay("File Name", named.chapters, author="A. Writer", titled=False)
    assert texts(build_script(untitled, P, opening=True)) == ["Text."]
    assert texts(build_script(named, P)) == ["Text."]
