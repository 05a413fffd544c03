"""The sidecars read back: what `narrator serve`'s listening page shows is what was written."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from helpers import SEED, chapters_of
from mutagen.mp3 import MP3

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


def test_chapters_json_matches_the_id3_chapters(seed_mp3: Path) -> None:
    import json

    data = json.loads(seed_mp3.with_suffix(".chapters.json").read_text("utf-8"))
    assert data["version"] == "1.2.0"
    ours = chapters_of(seed_mp3)
    assert [c["title"] for c in data["chapters"]] == [title for title, _, _ in ours]
    for chapter, (_, start, _) in zip(data["chapters"], ours, strict=True):
        assert abs(chapter["startTime"] * 1000 - start) <= 2


def test_transcript_cues_are_ordered_and_cover_the_essay(seed_mp3: Path) -> None:
    text = seed_mp3.with_suffix(".vtt").read_text("utf-8")
    assert text.startswith("WEBVTT\n")
    times = re.findall(
        r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})$", text, re.M
    )
    spans = [
        (
            ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms),
            ((int(h2) * 60 + int(m2)) * 60 + int(s2)) * 1000 + int(ms2),
        )
        for h, m, s, ms, h2, m2, s2, ms2 in times
    ]
    duration_ms = MP3(seed_mp3).info.length * 1000
    assert all(start < end for start, end in spans)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    assert spans[-1][1] <= duration_ms
    lines = [
        line for line in text.splitlines() if line and not re.match(r"^\d+$|^\d\d:|^WEBVTT", line)
    ]
    assert max(map(len, lines)) <= 65
    spoken = len(" ".join(lines).split())
    assert spoken >= 0.9 * len(SEED.read_text("utf-8").split())
