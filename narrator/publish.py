"""Sidecar files for podcast apps: Podcasting 2.0 JSON chapters and a WebVTT transcript.

Pure: timelines in, text out. The pipeline writes the files next to the MP3.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence

from narrator.model import Cue, ScriptChapter, Timeline

VTT_LINE_CHARS = 65


def chapters_json(timeline: Timeline) -> str:
    """The chapters as Podcasting 2.0 JSON chapters (version 1.2.0), equal to the ID3 ones."""
    return json.dumps(
        {
            "version": "1.2.0",
            "chapters": [
                {"startTime": mark.start_ms / 1000, "title": mark.title}
                for mark in timeline.chapters
            ],
        },
        ensure_ascii=False,
        indent=2,
    )


def sentence_cues(
    chapters: Sequence[ScriptChapter], timeline: Timeline, sentence_ms: int
) -> list[Cue]:
    """One cue per sentence: segments cut inside a sentence (at emphasis, a dash, a long
    clause; their pause is shorter than a sentence pause) are joined back together."""
    cues: list[Cue] = []
    for chapter, chapter_cues in zip(chapters, timeline.cues, strict=True):
        pending: list[Cue] = []
        for segment, cue in zip(chapter.segments, chapter_cues, strict=True):
            pending.append(cue)
            if segment.pause_ms >= sentence_ms or cue is chapter_cues[-1]:
                text = " ".join(part.text for part in pending)
                cues.append(Cue(text, pending[0].start_ms, pending[-1].end_ms))
                pending = []
    return cues


def _clock(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def webvtt(cues: Sequence[Cue]) -> str:
    """A WebVTT transcript, one cue per sentence, lines of at most 65 characters."""
    blocks = ["WEBVTT"]
    for number, cue in enumerate(cues, 1):
        lines = textwrap.wrap(cue.text, VTT_LINE_CHARS, break_long_words=True) or [""]
        blocks.append(
            f"{number}\n{_clock(cue.start_ms)} --> {_clock(cue.end_ms)}\n" + "\n".join(lines)
        )
    return "\n\n".join(blocks) + "\n"
