"""Segmenting (issue 14): brackets, quotes and dashes never cut a sentence mid-phrase, and
normalization sees the whole sentence (narrator.text.markup with the real reading)."""

from __future__ import annotations

import pytest

from narrator.model import Block, BlockKind, Chapter, Emphasis, Essay, Pauses, Span
from narrator.text.lexicon import Reading
from narrator.text.markup import build_script

P = Pauses()


def script_of(*inlines: Span | str) -> list[tuple[str, int]]:
    """What is said for one paragraph, with the pause after each segment."""
    block = Block(BlockKind.PARAGRAPH, tuple(Span(i) if isinstance(i, str) else i for i in inlines))
    essay = Essay("An Essay", (Chapter("Lead", (block,), spoken_title=False),))
    return [
        (s.text, s.pause_ms) for c in build_script(essay, P, Reading()).chapters for s in c.segments
    ]


SEGMENTS = [
    (
        "Call (555) 123-4567 today.",
        ["Call five five five, one two three, four five six seven today."],
    ),
    ("My 401(k) grew.", ["My four oh one k grew."]),
    ("Section 501(c)(3) applies.", ["Section five oh one c three applies."]),
    (
        "Nancy lived on 1428 Elm St. It was late.",
        ["Nancy lived on fourteen twenty-eight Elm Street.", "It was late."],
    ),
    ("They met at 5th Ave. Then they left.", ["They met at fifth Avenue.", "Then they left."]),
    ("We flew to St. Louis on Monday.", ["We flew to Saint Louis on Monday."]),
    (
        "Dr. Smith lives on Mulholland Dr. He is kind.",
        ["Doctor Smith lives on Mulholland Drive.", "He is kind."],
    ),
    ("He said (quietly) that it was late.", ["He said", "(quietly)", "that it was late."]),
    ("Prices [sharply] rose.", ["Prices [sharply] rose."]),
    ("\u201cStop,\u201d she said.", ["\u201cStop,\u201d she said."]),
    (
        "Ben Sanderson \u2014 a man of note \u2014 arrived.",
        ["Ben Sanderson", "a man of note", "arrived."],
    ),
    (
        "The war (1939\u20131945) ended.",
        ["The war", "(nineteen thirty-nine to nineteen forty-five)", "ended."],
    ),
    ("Open 4:00 am - 8:12 pm daily.", ["Open four AM to eight twelve PM daily."]),
    (
        "Call +44 20 7946 0958 today.",
        ["Call plus four four, two zero, seven nine four six, zero nine five eight today."],
    ),
    (
        "It costs $20/mo, or $200/yr.",
        ["It costs twenty dollars a month, or two hundred dollars a year."],
    ),
    (
        "Pay $5.50-$7.25 (plus tax).",
        ["Pay five dollars and fifty cents to seven dollars and twenty-five cents", "(plus tax)."],
    ),
    ("Read pp. 10-20: the core.", ["Read pages ten to twenty:", "the core."]),
    ("Wait... then go.", ["Wait...", "then go."]),
]


@pytest.mark.parametrize(("text", "segments"), SEGMENTS)
def test_sentence_is_read_whole_then_paced(text: str, segments: list[str]) -> None:
    assert [said for said, _ in script_of(text)] == segments


def test_pauses_fall_where_the_written_marks_are() -> None:
    assert script_of("He said (quietly) that it was late.") == [
        ("He said", P.clause_ms),
        ("(quietly)", P.clause_ms),
        ("that it was late.", P.paragraph_ms),
    ]


def test_a_mark_closing_an_emphasis_still_pauses() -> None:
    """ "*wind*; and": the semicolon ends the emphasised stretch and still pauses there."""
    spoken = script_of("the ", Span("wind", Emphasis.MODERATE), "; and the rain.")
    assert spoken[1] == ("wind;", P.clause_ms)


def test_each_segment_cut_from_a_sentence_carries_the_written_sentence_once() -> None:
    block = Block(BlockKind.PARAGRAPH, (Span("Ben Sanderson \u2014 a man, paid $5."),))
    essay = Essay("An Essay", (Chapter("Lead", (block,), spoken_title=False),))
    segments = build_script(essay, P, Reading()).chapters[0].segments
    assert [s.text for s in segments] == ["Ben Sanderson", "a man, paid five dollars."]
    assert [s.display for s in segments] == ["Ben Sanderson \u2014 a man, paid $5.", ""]
