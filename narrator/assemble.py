"""Join clips and pauses into one episode with pydub and encode it once with ffmpeg.

Encoding the PCM of the whole episode in one ffmpeg run (streamed chapter by chapter) avoids
the ~50 ms of encoder delay every separately encoded piece would add at a join. Chapter times
come from the sample counts written, and the duration from the encoded file's Info header.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from narrator.ffmpeg import pipe_to_ffmpeg
from narrator.model import AudioFormat, ChapterMark, ProgressCallback, Script, Timeline
from narrator.pcm import AudioSegment, clip, join, silence
from narrator.synthesize import Utterance

_CHAPTER_LEAD_MS = 700  # silence a chapter opens with, taken from the pause before it
_LAME_QUALITY = 7  # LAME -q 7: about twice as fast as the default, no audible loss at 64 kbps


def chapter_leads(script: Script) -> list[int]:
    """The silence each chapter opens with, cut from the previous chapter's closing pause.

    Putting the chapter boundary inside that pause means a listener who jumps to a chapter
    hears a short breath and then its heading.
    """
    leads = [0]
    for previous in script.chapters[:-1]:
        leads.append(min(_CHAPTER_LEAD_MS, previous.segments[-1].pause_ms // 2))
    return leads


def chapter_audio(
    script: Script, clips: Mapping[Utterance, bytes], sample_rate: int
) -> Iterator[tuple[str, AudioSegment]]:
    """Yield each chapter's audio: its clips with the script's pauses between them."""
    leads = chapter_leads(script)
    for index, chapter in enumerate(script.chapters):
        parts = [silence(leads[index], sample_rate)] if leads[index] else []
        next_lead = leads[index + 1] if index + 1 < len(leads) else 0
        for position, segment in enumerate(chapter.segments):
            pcm = clips[Utterance(segment.text, segment.emphasis)]
            parts.append(clip(pcm, sample_rate))
            last = position == len(chapter.segments) - 1
            pause = segment.pause_ms - (next_lead if last else 0)
            if pause > 0:
                parts.append(silence(pause, sample_rate))
        yield chapter.title, join(parts)


def encode_args(source_rate: int, fmt: AudioFormat, out: Path) -> list[str]:
    """ffmpeg arguments: raw mono PCM on stdin to a CBR MP3 with an Info header and no tags."""
    return [
        "-f", "s16le", "-ar", str(source_rate), "-ac", "1", "-i", "pipe:0",
        "-ar", str(fmt.sample_rate), "-ac", str(fmt.channels),
        "-c:a", "libmp3lame", "-b:a", f"{fmt.bitrate_kbps}k",
        "-compression_level", str(_LAME_QUALITY),
        "-write_xing", "1", "-id3v2_version", "0", "-write_id3v1", "0",
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
        "-f", "mp3", "-y", str(out),
    ]  # fmt: skip


def encoded_duration_ms(path: Path) -> int:
    """The playable duration, from the Info header's frame count less encoder delay/padding."""
    from mutagen.mp3 import MP3

    return round(MP3(path).info.length * 1000)


def assemble(
    script: Script,
    clips: Mapping[Utterance, bytes],
    sample_rate: int,
    fmt: AudioFormat,
    out: Path,
    ffmpeg: str,
    progress: ProgressCallback | None = None,
) -> Timeline:
    """Encode the episode to `out` and return where its chapters are."""
    starts: list[tuple[str, int]] = []
    frames = 0

    def stream() -> Iterator[bytes]:
        nonlocal frames
        for title, audio in chapter_audio(script, clips, sample_rate):
            starts.append((title, frames))
            frames += int(audio.frame_count())
            yield audio.raw_data
            if progress:
                progress("encoding", len(starts), len(script.chapters))

    pipe_to_ffmpeg(ffmpeg, encode_args(sample_rate, fmt, out), stream())
    duration = encoded_duration_ms(out)
    start_ms = [round(first * 1000 / sample_rate) for _, first in starts]
    ends = [*start_ms[1:], duration]
    marks = tuple(
        ChapterMark(title, start, end)
        for (title, _), start, end in zip(starts, start_ms, ends, strict=False)
    )
    return Timeline(marks, duration)
