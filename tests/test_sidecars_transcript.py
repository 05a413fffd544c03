"""The transcript shows what the essay wrote (issue 14): each chapter's title once, and cues
with the essay's punctuation, not the normalized words (narrator.publish.sidecars)."""

from __future__ import annotations

from narrator.model import (
    Block,
    BlockKind,
    Chapter,
    ChapterMark,
    Cue,
    Essay,
    Pauses,
    Script,
    Span,
    Timeline,
)
from narrator.publish.sidecars import sentence_cues, webvtt
from narrator.text.lexicon import Reading
from narrator.text.markup import build_script, script_from_json, script_to_json

P = Pauses()


def script_of(*paragraphs: str, title: str = "Walking") -> Script:
    blocks = tuple(Block(BlockKind.PARAGRAPH, (Span(p),)) for p in paragraphs)
    return build_script(
        Essay(title, (Chapter(title, blocks),), author="Jo", titled=True), P, Reading(), True
    )


def timeline_of(script: Script) -> Timeline:
    """Each segment heard for a second, in order, as assemble.py lays them out."""
    cues, at = [], 0
    for chapter in script.chapters:
        cues.append(
            tuple(
                Cue(s.text, at + 1000 * i, at + 1000 * (i + 1))
                for i, s in enumerate(chapter.segments)
            )
        )
        at += 1000 * len(chapter.segments)
    return Timeline((ChapterMark("Walking", 0, at),), at, tuple(cues))


def cue_texts(script: Script) -> list[str]:
    return [cue.text for cue in sentence_cues(script.chapters, timeline_of(script), P.sentence_ms)]


def test_cues_keep_the_essays_dashes_commas_and_numbers() -> None:
    script = script_of(
        "Ben Sanderson \u2014 a man of note, arrived. It cost $5.50-$7.25 (plus tax); he paid."
    )
    assert cue_texts(script)[1:] == [
        "Ben Sanderson \u2014 a man of note, arrived.",
        "It cost $5.50-$7.25 (plus tax); he paid.",
    ]


def test_each_chapter_title_appears_once() -> None:
    script = script_of("It began.", title="Walking")
    text = webvtt(sentence_cues(script.chapters, timeline_of(script), P.sentence_ms))
    assert text.count("Walking") == 1
    assert cue_texts(script) == ["Walking, by Jo.", "It began."]


def test_a_script_read_back_from_json_keeps_its_written_text() -> None:
    script = script_of("Call (555) 123-4567 today.")
    again = script_from_json(script_to_json(script))
    assert (
        cue_texts(again) == cue_texts(script) == ["Walking, by Jo.", "Call (555) 123-4567 today."]
    )


def test_a_script_without_written_text_shows_what_is_said() -> None:
    """Scripts cached before segments carried their written text still make a transcript."""
    data = script_to_json(script_of("It cost $5."))
    for chapter in data["chapters"]:
        for segment in chapter["segments"]:
            del segment["display"]
    assert cue_texts(script_from_json(data)) == ["Walking, by Jo.", "It cost five dollars."]


def test_the_listening_page_shows_a_spoken_chapter_title_once() -> None:
    from datetime import datetime, timezone

    from narrator.publish.episodes import Episode
    from narrator.publish.pages import episode_page

    episode = Episode(
        name="a.mp3", title="A", author=None, year=None, duration_s=9, size=1,
        modified=datetime.now(timezone.utc), source_sha256=None, chapters=(),
        chapters_file=None, transcript_file=None, image_file=None,
    )  # fmt: skip
    marks = [ChapterMark("Opening", 0, 3000), ChapterMark("Later", 3000, 9000)]
    cues = [Cue("It began.", 0, 2000), Cue("Later", 3000, 4000), Cue("It ended.", 5000, 6000)]
    page = episode_page(episode, marks, cues)
    assert page.count("Later") == 2  # the chapter button and one heading
    assert '<h3 class="cue" data-start="3.000" data-end="4.000">Later</h3>' in page
    assert "<h3>Opening</h3>" in page  # a title that is not spoken still heads its cues
