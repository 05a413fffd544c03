"""Sidecar files for podcast apps: Podcasting 2.0 JSON chapters and a WebVTT transcript.

Pure: timelines in, text out, and back (for the listening page `narrator serve` shows).
The pipeline writes the files next to the MP3.
"""

from __future__ import annotations

import html
import json
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from narrator.atomic import atomic_output
from narrator.model import ChapterMark, Cue, Script, ScriptChapter, Timeline, clock

if TYPE_CHECKING:
    from narrator.audio.cover import Cover

VTT_LINE_CHARS = 65
_VTT_TIME = r"(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})"
_VTT_TIMING = re.compile(rf"{_VTT_TIME}[ \t]+-->[ \t]+{_VTT_TIME}")
_VTT_TAG = re.compile(r"<[^>]*>")


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


def read_chapters_json(text: str, duration_ms: int) -> list[ChapterMark]:
    """The chapters of a Podcasting 2.0 JSON chapters file, in start order; each ends where
    the next starts, the last at `duration_ms`. Raises ValueError for anything else."""
    try:
        marks = sorted(
            (round(float(item["startTime"]) * 1000), str(item.get("title", "")))
            for item in json.loads(text)["chapters"]
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a JSON chapters file ({exc!r})") from None
    if not marks:
        return []
    ends = [start for start, _ in marks[1:]] + [max(duration_ms, marks[-1][0])]
    return [ChapterMark(title, start, end) for (start, title), end in zip(marks, ends, strict=True)]


def read_webvtt(text: str) -> list[Cue]:
    """The cues of a WebVTT file, their lines joined by spaces, tags dropped and character
    references decoded. Blocks without a timing line (the header, NOTE, STYLE) are skipped."""
    cues = []
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.strip("\n").split("\n")
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        match = _VTT_TIMING.match(lines[timing].strip()) if timing is not None else None
        if timing is None or match is None:
            continue
        words = " ".join(line.strip() for line in lines[timing + 1 :] if line.strip())
        start, end = _vtt_ms(*match.groups()[:4]), _vtt_ms(*match.groups()[4:])
        cues.append(Cue(html.unescape(_VTT_TAG.sub("", words)), start, end))
    return cues


def _vtt_ms(hours: str | None, minutes: str, seconds: str, millis: str) -> int:
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


def webvtt(cues: Sequence[Cue]) -> str:
    """A WebVTT transcript, one cue per sentence, lines of at most 65 characters (before
    "&", "<" and ">" are escaped, as cue text requires: "<" would start a tag)."""
    blocks = ["WEBVTT"]
    for number, cue in enumerate(cues, 1):
        lines = textwrap.wrap(cue.text, VTT_LINE_CHARS, break_long_words=True) or [""]
        text = "\n".join(html.escape(line, quote=False) for line in lines)
        timing = f"{clock(cue.start_ms, fixed=True)} --> {clock(cue.end_ms, fixed=True)}"
        blocks.append(f"{number}\n{timing}\n{text}")
    return "\n\n".join(blocks) + "\n"


def write_sidecars(
    output: Path, script: Script, timeline: Timeline, sentence_ms: int, cover: Cover
) -> tuple[Path, ...]:
    """NAME.chapters.json, NAME.vtt and the cover image (NAME.jpg or .png) beside the MP3,
    each written atomically; `narrator feed` links them."""
    cues = sentence_cues(script.chapters, timeline, sentence_ms)
    files = {
        output.with_suffix(".chapters.json"): chapters_json(timeline).encode(),
        output.with_suffix(".vtt"): webvtt(cues).encode(),
        output.with_suffix(".png" if cover.mime == "image/png" else ".jpg"): cover.data,
    }
    for path, data in files.items():
        with atomic_output(path) as temp:
            temp.write_bytes(data)
    return tuple(files)
