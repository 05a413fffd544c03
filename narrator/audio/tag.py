"""ID3v2.3 tags with chapters (CHAP + CTOC), written with mutagen.

Version 2.3 because ffmpeg misreads v2.4 chapter sub-frame sizes and then lists no chapters
at all, and Apple Podcasts has shown v2.4 chapter-title problems (REFERENCE.md).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from mutagen.id3 import (
    APIC,
    CHAP,
    CTOC,
    ID3,
    TALB,
    TCON,
    TDRC,
    TIT2,
    TLEN,
    TPE1,
    TXXX,
    CTOCFlags,
    Encoding,
    PictureType,
)
from mutagen.id3._tags import save_frame  # private, but the only way to control order

from narrator.audio.cover import Cover
from narrator.model import Timeline

MAX_CHAPTERS = 255  # a CTOC lists at most 255 children
_NO_OFFSET = 0xFFFFFFFF  # "use the times", per the chapter frame addendum


class _InOrderID3(ID3):
    """An ID3 tag that writes frames in the order they were added.

    mutagen sorts frames by size when it saves, so CHAP frames came out of time order,
    and readers that ignore the CTOC's order (ffmpeg among them) listed chapters shuffled.
    """

    def _write(self, config: Any) -> bytearray:
        return bytearray().join(save_frame(frame, config=config) for frame in self.values())


# an ID3 timestamp: a year, maybe a month and day, maybe a time (as ISO 8601 writes them)
_TIMESTAMP = re.compile(r"\d{4}(?:-\d\d(?:-\d\d(?:[T ]\d\d:\d\d(?::\d\d)?)?)?)?")


@dataclass(frozen=True)
class EpisodeTags:
    title: str
    author: str | None
    album: str
    date: str | None  # the essay's front matter date, as written (see tag_date)
    generator: str
    source_sha256: str
    cover: Cover | None = None
    language: str | None = None  # a language tag, e.g. "en-us"; podcast feeds carry it

    @property
    def year(self) -> str | None:
        stamp = tag_date(self.date)
        return stamp[:4] if stamp else None


def tag_date(text: str | None) -> str | None:
    """The leading ISO 8601 date (and time) of `text` as an ID3 timestamp, e.g.
    "2024-03-01", "2024-03-01 09:30", "1862"; None if it does not start with a year.
    Written as TYER, TDAT and TIME in ID3v2.3; the feed dates an episode by it."""
    found = _TIMESTAMP.match((text or "").strip())
    return found[0].replace("T", " ") if found else None


def chapter_frames(timeline: Timeline) -> list[CHAP | CTOC]:
    """One top-level, ordered CTOC and one CHAP with a TIT2 per chapter, in time order."""
    ids = [f"chp{index}" for index in range(len(timeline.chapters))]
    frames: list[CHAP | CTOC] = [
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            sub_frames=[TIT2(encoding=Encoding.UTF16, text=["Chapters"])],
        )
    ]
    for element_id, mark in zip(ids, timeline.chapters, strict=False):
        frames.append(
            CHAP(
                element_id=element_id,
                start_time=mark.start_ms,
                end_time=mark.end_ms,
                start_offset=_NO_OFFSET,
                end_offset=_NO_OFFSET,
                sub_frames=[TIT2(encoding=Encoding.UTF16, text=[mark.title])],
            )
        )
    return frames


def id3_tag(tags: EpisodeTags, timeline: Timeline) -> bytes:
    """The episode's whole ID3 tag, to write before its first frame (so that tagging a long
    episode never rewrites its audio); the same input always gives the same bytes."""
    id3 = _InOrderID3()
    utf16 = Encoding.UTF16
    id3.add(TIT2(encoding=utf16, text=[tags.title]))
    if tags.author:
        id3.add(TPE1(encoding=utf16, text=[tags.author]))
    id3.add(TALB(encoding=utf16, text=[tags.album]))
    if stamp := tag_date(tags.date):
        id3.add(TDRC(encoding=utf16, text=[stamp]))
    id3.add(TCON(encoding=utf16, text=["Podcast"]))
    id3.add(TLEN(encoding=utf16, text=[str(timeline.duration_ms)]))
    id3.add(TXXX(encoding=utf16, desc="generator", text=[tags.generator]))
    id3.add(TXXX(encoding=utf16, desc="source_sha256", text=[tags.source_sha256]))
    if tags.language:  # not TLAN: that holds ISO 639-2 codes, and feeds want a language tag
        id3.add(TXXX(encoding=utf16, desc="language", text=[tags.language]))
    if tags.cover is not None:
        id3.add(
            APIC(
                encoding=Encoding.UTF16,
                mime=tags.cover.mime,
                type=PictureType.COVER_FRONT,
                desc="Cover",
                data=tags.cover.data,
            )
        )
    for frame in chapter_frames(timeline):
        id3.add(frame)
    id3.update_to_v23()  # TDRC becomes TYER, and so on, also inside CHAP frames
    rendered = io.BytesIO()  # mutagen writes into a file: an empty one holds just the tag
    id3.save(rendered, v2_version=3, v1=0, padding=lambda info: 0)
    return rendered.getvalue()
