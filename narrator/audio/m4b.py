"""`--format m4b`: AAC in MP4 with chapters and cover, for audiobook apps.

The chapters are levelled as for MP3 (each on its own, see assemble.py), joined as PCM in
a file on disk and encoded in one ffmpeg run that also writes the chapters and metadata
(from an ffmetadata file) and attaches the cover. MP4 records the encoder's priming in an
edit list, so chapter times counted in samples hold exactly.
Encoded chapters are not cached for m4b.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from narrator.audio.assemble import (
    ENCODER_DELAY_MS,
    LIMITER,
    ChapterSpec,
    ClipSource,
    chapter_gain,
    chapter_pieces,
)
from narrator.audio.tag import EpisodeTags
from narrator.ffmpeg import run_ffmpeg, stream
from narrator.model import AudioFormat, ChapterMark, Cue, Timeline
from narrator.scratch import scratch_dir


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
    clip_of: ClipSource,
    sample_rate: int,
    fmt: AudioFormat,
    out: Path,
    ffmpeg: str,
    tags: EpisodeTags,
) -> Timeline:
    """Encode the episode to `out` as an m4b and say where its chapters are.

    Each chapter is levelled into one PCM file on disk, which the AAC encoder then reads:
    memory stays that of one clip however long the episode.
    """
    starts: list[int] = []
    cues: list[tuple[Cue, ...]] = []
    with scratch_dir("m4b") as work:
        levelled = Path(work) / "episode.pcm"
        with levelled.open("wb") as pcm_file:
            for spec in specs:
                gain, spans = chapter_gain(spec, clip_of, sample_rate, fmt, ffmpeg)
                pcm = stream(
                    ffmpeg,
                    ["-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0",
                     "-af", f"volume={gain:.2f}dB,{LIMITER}", "-f", "s16le", "pipe:1"],
                    chapter_pieces(spec, clip_of, sample_rate),
                )  # fmt: skip
                start = round(pcm_file.tell() // 2 * 1000 / sample_rate)
                starts.append(start)
                cues.append(
                    tuple(
                        Cue(
                            spoken.text,
                            start + round(a - ENCODER_DELAY_MS),
                            start + round(b - ENCODER_DELAY_MS),
                        )
                        for (spoken, _), (a, b) in zip(spec.parts, spans, strict=True)
                    )
                )
                pcm_file.write(pcm)
            duration = round(pcm_file.tell() // 2 * 1000 / sample_rate)
        ends = [*starts[1:], duration]
        marks = tuple(
            ChapterMark(spec.title, start, end)
            for spec, start, end in zip(specs, starts, ends, strict=True)
        )
        meta = Path(work) / "metadata.txt"
        meta.write_text(ffmetadata(tags, marks), encoding="utf-8")
        args = ["-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", str(levelled),
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
    return Timeline(marks, duration, tuple(cues))
