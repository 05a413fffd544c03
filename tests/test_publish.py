"""The sidecars read back: what `narrator serve`'s listening page shows is what was written."""

from __future__ import annotations

import json

import pytest

from narrator.model import ChapterMark, Cue
from narrator.publish.sidecars import read_chapters_json, read_webvtt, webvtt


def test_webvtt_escapes_cue_text_and_reads_back() -> None:
    cues = [Cue("<script>alert(1)</script> & x<y", 0, 1500), Cue("Two.", 1500, 3_723_456)]
    text = webvtt(cues)
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; x&lt;y" in text
    assert "01:02:03.456" in text
    assert read_webvtt(text) == cues


def test_read_webvtt_joins_lines_drops_tags_and_skips_notes() -> None:
    text = (
        "WEBVTT - a title\r\n\r\nNOTE a comment\r\n\r\n"
        "00:01.000 --> 00:02.500 align:start\r\n<v Ann>Hello</v>\r\nthere &amp; then\r\n\r\n"
        "intro\n00:00:03.000 --> 00:00:04.000\nBye.\n"
    )
    assert read_webvtt(text) == [Cue("Hello there & then", 1000, 2500), Cue("Bye.", 3000, 4000)]


def test_read_chapters_json_ends_each_where_the_next_starts() -> None:
    chapters = [{"startTime": 5.5, "title": "B"}, {"startTime": 0, "title": "A"}]
    marks = read_chapters_json(json.dumps({"chapters": chapters}), 9000)
    assert marks == [ChapterMark("A", 0, 5500), ChapterMark("B", 5500, 9000)]


@pytest.mark.parametrize("text", ["", "[]", '{"chapters": [{"title": "x"}]}', '{"chapters": 3}'])
def test_read_chapters_json_refuses_other_files(text: str) -> None:
    with pytest.raises(ValueError):
        read_chapters_json(text, 1000)
