"""The episodes in a folder `narrator serve` serves, for its listening pages.

An episode's tags are read with mutagen once per version: the MP3's size and modification
time, and the folder's modification time, which changes when a build adds or replaces a
sidecar beside it. The sidecars themselves are small and read on each request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import cast

from mutagen import MutagenError
from mutagen.id3 import ID3, CTOCFlags
from mutagen.mp3 import MP3, MPEGInfo

from narrator.errors import InputError
from narrator.model import ChapterMark, Cue
from narrator.publish.sidecars import read_chapters_json, read_webvtt

IMAGE_SUFFIXES = (".jpg", ".png")


@dataclass(frozen=True)
class Episode:
    """One MP3 in the folder, as its tags, its file and the sidecars beside it tell."""

    name: str  # the file name in the folder
    title: str
    author: str | None
    year: str | None
    duration_s: int
    size: int
    modified: datetime  # UTC
    source_sha256: str | None
    chapters: tuple[str, ...]
    chapters_file: str | None  # NAME.chapters.json
    transcript_file: str | None  # NAME.vtt
    image_file: str | None  # NAME.jpg or NAME.png


def read_episode(path: Path) -> Episode:
    """Read an episode's tags, duration, size and time, and find its sidecar files."""
    try:
        audio = MP3(path)
        stat = path.stat()
    except (MutagenError, OSError) as exc:
        raise InputError(f"{path.name} is not a readable MP3 ({exc})") from None
    tags = audio.tags if isinstance(audio.tags, ID3) else ID3()
    year = _text(tags, "TDRC")  # mutagen reads ID3v2.3's TYER as TDRC

    def sidecar(*suffixes: str) -> str | None:
        return next(
            (name for s in suffixes if (path.parent / (name := path.stem + s)).is_file()), None
        )

    return Episode(
        name=path.name,
        title=_text(tags, "TIT2") or path.stem,
        author=_text(tags, "TPE1"),
        year=year[:4] if year else None,
        duration_s=round(cast(MPEGInfo, audio.info).length),
        size=stat.st_size,
        modified=datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc),
        source_sha256=_text(tags, "TXXX:source_sha256"),
        chapters=_chapter_titles(tags),
        chapters_file=sidecar(".chapters.json"),
        transcript_file=sidecar(".vtt"),
        image_file=sidecar(*IMAGE_SUFFIXES),
    )


def _text(tags: ID3, key: str) -> str | None:
    frame = tags.get(key)
    return str(frame.text[0]) if frame is not None and frame.text else None


def _chapter_titles(tags: ID3) -> tuple[str, ...]:
    """Chapter titles in the order of the top-level table of contents, else by start time."""
    chapters = {chap.element_id: chap for chap in tags.getall("CHAP")}
    tocs = [toc for toc in tags.getall("CTOC") if toc.flags & CTOCFlags.TOP_LEVEL]
    if tocs:
        ordered = [chapters[i] for i in tocs[0].child_element_ids if i in chapters]
    else:
        ordered = sorted(chapters.values(), key=lambda chap: chap.start_time)
    titles = (_text(chap.sub_frames, "TIT2") for chap in ordered)
    return tuple(title for title in titles if title)


Servable = Callable[[str], Path | None]  # a file name -> the file, if the server serves it
_Version = tuple[int, int, int]


class Shelf:
    """The episodes in `root`, seen through `servable`: an MP3 or a sidecar the server
    would not serve (hidden, a symlink out of the folder) is not read either."""

    def __init__(self, root: Path, servable: Servable) -> None:
        self.root = root
        self._servable = servable
        self._lock = threading.Lock()  # the server answers requests in threads
        self._read: dict[str, tuple[_Version, Episode]] = {}

    def episodes(self, names: list[str]) -> list[Episode]:
        """The readable episodes among the file `names`, in their order."""
        found = [e for name in names if (e := self.episode(name)) is not None]
        present = set(names)
        with self._lock:  # forget files that are gone
            self._read = {k: v for k, v in self._read.items() if k in present}
        return found

    def episode(self, name: str) -> Episode | None:
        """The MP3 called `name`, with only servable sidecars, or None if there is none."""
        path = self._servable(name)
        if path is None or not name.lower().endswith(".mp3"):
            return None
        try:
            stat, folder = path.stat(), self.root.stat()
        except OSError:
            return None
        version = (stat.st_mtime_ns, stat.st_size, folder.st_mtime_ns)
        with self._lock:
            known = self._read.get(name)
        if known and known[0] == version:
            return known[1]
        try:
            episode = read_episode(self.root / name)  # not `path`: a symlink keeps its name
        except InputError:
            return None
        episode = replace(
            episode,
            chapters_file=self._vetted(episode.chapters_file),
            transcript_file=self._vetted(episode.transcript_file),
            image_file=self._vetted(episode.image_file),
        )
        with self._lock:
            self._read[name] = (version, episode)
        return episode

    def chapters(self, episode: Episode) -> list[ChapterMark]:
        """The chapters from the episode's JSON chapters, or none if it has no usable one."""
        text = self._text(episode.chapters_file)
        try:
            return read_chapters_json(text, episode.duration_s * 1000) if text else []
        except ValueError:
            return []

    def cues(self, episode: Episode) -> list[Cue]:
        """The transcript's cues from the episode's WebVTT file, or none."""
        text = self._text(episode.transcript_file)
        return read_webvtt(text) if text else []

    def _vetted(self, name: str | None) -> str | None:
        return name if name and self._servable(name) else None

    def _text(self, name: str | None) -> str | None:
        path = self._servable(name) if name else None
        try:
            return path.read_text(encoding="utf-8") if path else None
        except (OSError, UnicodeDecodeError):
            return None
