"""`--format m4b`: AAC in MP4 with chapters and cover, for audiobook apps.

The producer levels each unit as for MP3 (each on its own, see assemble.make_unit) but
keeps it as PCM; here the units and the silences between them are joined in one PCM file
on disk and encoded in one ffmpeg run that also writes the chapters and metadata (from an
ffmetadata file) and attaches the cover. MP4 records the encoder's priming in an edit
list, so chapter times counted in samples hold exactly. Levelled PCM is not cached: an
m4b build encodes the whole episode to AAC each time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from narrator.audio.assemble import PCM, ChapterSpec, Grid, UnitSource, write_episode
from narrator.audio.tag import EpisodeTags
from narrator.ffmpeg import run_ffmpeg
from narrator.model import AudioFormat, ChapterMark, Timeline
from narrator.speech.engine import SAMPLE_RATE


def _escape(value: str) -> str:
    """ffmetadata escaping: backslash before = ; # \\ and newlines."""
    for char in ("\\", "=", ";", "#", "\n"):
        value = value.replace(char, "\\" + char)
    return value


def ffmetadata(tags: EpisodeTags, chapters: Sequence[ChapterMark]) -> str:
    """The episode's metadata and chapters in ffmpeg's ffmetadata format (pure)."""
    lines = [";FFMETADATA1", f"title={_escape(tags.title)}", f"album={_escape(tags.album)}"]
    if tags.author:
        lines.append(f"artist={_escape(tags.author)}")
    if tags.year:
        lines.append(f"date={tags.year}")
    lines += ["genre=Podcast", f"comment={_escape(tags.generator)} {tags.source_sha256}"]
    for mark in chapters:
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={mark.start_ms}", f"END={mark.end_ms}"]
        lines.append(f"title={_escape(mark.title)}")
    return "\n".join(lines) + "\n"


def write_m4b(
    specs: Sequence[ChapterSpec],
    encoded: UnitSource,
    fmt: AudioFormat,
    out: Path,
    ffmpeg: str,
    tags: EpisodeTags,
) -> Timeline:
    """Encode the levelled units (PCM at SAMPLE_RATE, see assemble.make_unit) to `out`
    as an m4b and say where its chapters are.

    The units are joined in one PCM file on disk, which the AAC encoder then reads:
    memory stays that of one unit however long the episode.
    """
    with tempfile.TemporaryDirectory(prefix="narrator-m4b-") as work:
        levelled = Path(work) / "episode.pcm"
        with levelled.open("wb") as pcm_file:
            grid = Grid.of(fmt, PCM, SAMPLE_RATE)
            timeline, _ = write_episode(specs, encoded, grid, pcm_file)
        meta = Path(work) / "metadata.txt"
        meta.write_text(ffmetadata(tags, timeline.chapters), encoding="utf-8")
        args = ["-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", str(levelled),
                "-i", str(meta)]  # fmt: skip
        maps = ["-map", "0:a", "-map_metadata", "1", "-map_chapters", "1"]
        if tags.cover is not None:
            cover = Path(work) / ("cover.png" if tags.cover.mime == "image/png" else "cover.jpg")
            cover.write_bytes(tags.cover.data)
            args += ["-i", str(cover)]
            maps += ["-map", "2:v", "-c:v", "copy", "-disposition:v:0", "attached_pic"]
        run_ffmpeg(
            ffmpeg,
            [*args, *maps, "-c:a", "aac", "-b:a", f"{fmt.bitrate_kbps}k",
             "-ar", str(fmt.sample_rate), "-ac", str(fmt.channels),
             "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "mp4", "-y", str(out)],
        )  # fmt: skip
    return timeline
