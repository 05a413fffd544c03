"""`--format m4b`: AAC in MP4 with chapters and cover, for audiobook apps.

The producer levels each block as for MP3 (each on its own, see assemble.encode_chapter)
into PCM on disk; here the blocks are joined in one PCM file and encoded in one ffmpeg
run that also writes the chapters and metadata (from an ffmetadata file) and attaches the
cover. MP4 records the encoder's priming in an edit list, so chapter times counted in
samples hold exactly. Levelled blocks are not cached for m4b.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

from narrator.atomic import file_chunks, scratch_dir
from narrator.audio.assemble import (
    AAC_LIMITER,
    ENCODER_DELAY_MS,
    ChapterSpec,
    SpooledChapter,
    episode_timeline,
    measure_true_peak,
)
from narrator.audio.tag import EpisodeTags
from narrator.cache import AudioCache, content_key, headed, read_header
from narrator.ffmpeg import run_ffmpeg
from narrator.model import MAX_TRUE_PEAK_DBTP, AudioFormat, ChapterMark, Timeline
from narrator.speech.engine import SAMPLE_RATE


def _escape(value: str) -> str:
    """ffmetadata escaping: backslash before = ; # \\ and newlines."""
    for char in ("\\", "=", ";", "#", "\n"):
        value = value.replace(char, "\\" + char)
    return value


# AAC overshoots the levelled audio's peaks (the limiter keeps its samples below -4 dBFS):
# the encoded episode's true peak is measured, and where it is still too high the episode
# is encoded again that much quieter, at most twice more: AAC's overshoot moves with the
# level, so one more encoding may still be over (emerson's m4b took three encodings).
_ENCODINGS = 3
_PEAK_MARGIN_DB = 0.2


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
    chapters: Sequence[SpooledChapter],
    fmt: AudioFormat,
    out: Path,
    ffmpeg: str,
    tags: EpisodeTags,
) -> Timeline:
    """Encode the levelled chapters (PCM at SAMPLE_RATE, see assemble.encode_chapter) to
    `out` as an m4b and say where its chapters are.

    The chapters are joined in one PCM file on disk, which the AAC encoder then reads:
    memory stays that of one chapter file's copy buffer however long the episode.
    """
    starts: list[int] = []
    with scratch_dir("m4b") as work:
        levelled = Path(work) / "episode.pcm"
        with levelled.open("wb") as pcm_file:
            for chapter in chapters:
                starts.append(round(pcm_file.tell() // 2 * 1000 / SAMPLE_RATE))
                for chunk in chapter.audio():
                    pcm_file.write(chunk)
            duration = round(pcm_file.tell() // 2 * 1000 / SAMPLE_RATE)
        # MP4 records the encoder's priming in an edit list: no delay to count in the cues
        spans = [chapter.spans_ms for chapter in chapters]
        timeline = episode_timeline(specs, starts, spans, duration, -ENCODER_DELAY_MS)
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
        trim = 0.0
        for _ in range(_ENCODINGS):
            run_ffmpeg(
                ffmpeg,
                # -cutoff: the speech has nothing above the working rate's Nyquist
                # frequency, and the AAC encoder's noise up there lifts true peaks
                [*args, *maps, "-af", f"volume={trim:.2f}dB",
                 "-c:a", "aac", "-cutoff", str(SAMPLE_RATE // 2), "-b:a", f"{fmt.bitrate_kbps}k",
                 "-ar", str(fmt.sample_rate), "-ac", str(fmt.channels),
                 "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "mp4", "-y", str(out)],
            )  # fmt: skip
            over = measure_true_peak(ffmpeg, out) - (MAX_TRUE_PEAK_DBTP - _PEAK_MARGIN_DB)
            if over <= 0:
                break
            trim -= over
    return timeline


EPISODES = "m4b"  # cache kind: a whole encoded m4b episode and its timeline
_EPISODE_FORMAT = 2  # of a cached episode (episode_entry): 2 checks its true peak


def episode_key(
    specs: Sequence[ChapterSpec], fmt: AudioFormat, tags: EpisodeTags, encoder: str
) -> str:
    """The cache key of an m4b episode: every chapter's key (which covers its segments,
    pauses, levelling and framing), the format, the tags and cover, and the encoder."""
    cover = hashlib.sha256(tags.cover.data).hexdigest() if tags.cover is not None else ""
    return content_key(
        "m4b episode",
        _EPISODE_FORMAT,
        AAC_LIMITER,
        encoder,
        asdict(fmt),
        [spec.key for spec in specs],
        ffmetadata(tags, ()),
        cover,
    )


def episode_entry(m4b: Path, timeline: Timeline) -> Iterator[bytes]:
    """An encoded episode and its timeline, as the cache keeps them."""
    return headed(timeline.to_json(), file_chunks(m4b))


def cached_episode(cache: AudioCache, key: str, out: Path) -> tuple[int, Timeline] | None:
    """When an unchanged episode was built before: its timeline, and where its m4b starts
    in `out`, where the cache entry is copied (None when it is missing or unreadable)."""
    if not cache.get_file(EPISODES, key, out):
        return None
    try:
        header, offset = read_header(out)
        return offset, Timeline.from_json(header)
    except (ValueError, KeyError, TypeError):
        cache.discard(EPISODES, key)
        return None
