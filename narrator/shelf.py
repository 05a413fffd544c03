"""The episodes in a folder `narrator serve` serves, for its listening pages.

An episode's tags are read with mutagen once per version: the MP3's size and modification
time, and the folder's modification time, which changes when a build adds or replaces a
sidecar beside it. The sidecars themselves are small and read on each request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from narrator.errors import InputError
from narrator.feed import Episode, read_episode
from narrator.model import ChapterMark, Cue
from narrator.publish import read_chapters_json, read_webvtt

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
