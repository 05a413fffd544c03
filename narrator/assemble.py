"""Join clips and pauses into chapters with pydub, encode each chapter with ffmpeg, and
join the encoded chapters frame for frame into one MP3 behind an Info header.

Each chapter is encoded on its own so that an edit re-encodes only its chapter: encoded
chapters are cached under a key of everything that shapes them. A separately encoded
piece opens with the encoder's delay (about 25 ms of silence) and ends padded to a whole
frame; both fall inside the pause between chapters, where nobody hears them. Chapter
start times are counted from the frames each piece really holds, so they are exact for
the file as written, and the file is the same whichever chapters came from the cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from narrator.cache import AudioCache, content_key
from narrator.ffmpeg import convert
from narrator.model import AudioFormat, ChapterMark, ProgressCallback, Script, Timeline
from narrator.mp3frames import count_frames, info_frame, samples_per_frame
from narrator.pcm import clip, join, silence
from narrator.synthesize import Utterance, utterance_of

CHAPTERS = "chapters"  # cache kind: one chapter's MP3 frames
_CHAPTER_LEAD_MS = 700  # silence a chapter opens with, taken from the pause before it
_LAME_QUALITY = 7  # LAME -q 7: about twice as fast as the default, no audible loss at 64 kbps
_QUIET = ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact"]


@dataclass(frozen=True)
class ChapterSpec:
    """What one chapter's audio is made of: opening silence, then clips and the pause
    after each. `key` names its encoding in the cache."""

    title: str
    lead_ms: int
    parts: tuple[tuple[Utterance, int], ...]
    key: str


def chapter_leads(script: Script) -> list[int]:
    """The silence each chapter opens with, cut from the previous chapter's closing pause.

    Putting the chapter boundary inside that pause means a listener who jumps to a chapter
    hears a short breath and then its heading.
    """
    leads = [0]
    for previous in script.chapters[:-1]:
        leads.append(min(_CHAPTER_LEAD_MS, previous.segments[-1].pause_ms // 2))
    return leads


def chapter_specs(
    script: Script, keys: Mapping[Utterance, str], fmt: AudioFormat, encoder: str
) -> list[ChapterSpec]:
    """Each chapter's parts and cache key (pure: the key hashes segment keys, not audio)."""
    leads = chapter_leads(script)
    specs = []
    for index, chapter in enumerate(script.chapters):
        next_lead = leads[index + 1] if index + 1 < len(leads) else 0
        parts = tuple(
            (
                utterance_of(segment),
                segment.pause_ms - (next_lead if position == len(chapter.segments) - 1 else 0),
            )
            for position, segment in enumerate(chapter.segments)
        )
        key = content_key(
            "chapter",
            encoder,
            _LAME_QUALITY,
            asdict(fmt),
            leads[index],
            [(keys[utterance], pause) for utterance, pause in parts],
        )
        specs.append(ChapterSpec(chapter.title, leads[index], parts, key))
    return specs


def chapter_pcm(spec: ChapterSpec, clips: Mapping[Utterance, bytes], sample_rate: int) -> bytes:
    """The chapter's mono PCM: opening silence, then each clip and the pause after it."""
    parts = [silence(spec.lead_ms, sample_rate)] if spec.lead_ms else []
    for spoken, pause in spec.parts:
        parts.append(clip(clips[spoken], sample_rate))
        if pause > 0:
            parts.append(silence(pause, sample_rate))
    return join(parts).raw_data


def encode_args(source_rate: int, fmt: AudioFormat) -> list[str]:
    """ffmpeg arguments: raw mono PCM on stdin to bare CBR MP3 frames on stdout."""
    return [
        "-f", "s16le", "-ar", str(source_rate), "-ac", "1", "-i", "pipe:0",
        "-ar", str(fmt.sample_rate), "-ac", str(fmt.channels),
        "-c:a", "libmp3lame", "-b:a", f"{fmt.bitrate_kbps}k",
        "-compression_level", str(_LAME_QUALITY),
        "-write_xing", "0", "-id3v2_version", "0", "-write_id3v1", "0", *_QUIET,
        "-f", "mp3", "pipe:1",
    ]  # fmt: skip


def chapter_marks(
    specs: Sequence[ChapterSpec], frames: Sequence[int], fmt: AudioFormat, duration_ms: int
) -> tuple[ChapterMark, ...]:
    """Chapter times from the frames each encoded chapter holds; they tile the file."""
    per_frame = samples_per_frame(fmt.sample_rate)
    starts, total = [], 0
    for count in frames:
        starts.append(round(total * per_frame * 1000 / fmt.sample_rate))
        total += count
    ends = [*starts[1:], duration_ms]
    return tuple(
        ChapterMark(spec.title, start, end)
        for spec, start, end in zip(specs, starts, ends, strict=True)
    )


def cached_chapters(specs: Sequence[ChapterSpec], cache: AudioCache | None) -> list[bytes | None]:
    """Each chapter's encoding from the cache, or None where it must be encoded."""
    return [cache.get(CHAPTERS, spec.key) if cache is not None else None for spec in specs]


def assemble(
    specs: Sequence[ChapterSpec],
    cached: Sequence[bytes | None],
    clips: Mapping[Utterance, bytes],
    sample_rate: int,
    fmt: AudioFormat,
    out: Path,
    ffmpeg: str,
    jobs: int = 1,
    cache: AudioCache | None = None,
    progress: ProgressCallback | None = None,
) -> Timeline:
    """Encode the chapters not `cached`, write the episode to `out`, say where chapters are.

    `clips` must hold every clip of the chapters to encode.
    """
    encoded = list(cached)
    missing = [index for index, data in enumerate(encoded) if data is None]

    def encode(index: int) -> bytes:
        pcm = chapter_pcm(specs[index], clips, sample_rate)
        return convert(ffmpeg, encode_args(sample_rate, fmt), pcm)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for done, (index, data) in enumerate(
            zip(missing, pool.map(encode, missing), strict=True), 1
        ):
            encoded[index] = data
            if cache is not None:
                cache.put(CHAPTERS, specs[index].key, data)
            if progress:
                progress("encoding", done, len(missing))
    pieces = [data for data in encoded if data is not None]
    frames = [count_frames(data) for data in pieces]
    with out.open("wb") as file:
        file.write(info_frame(pieces[0], sum(frames), sum(map(len, pieces))))
        for data in pieces:
            file.write(data)
    duration = round(sum(frames) * samples_per_frame(fmt.sample_rate) * 1000 / fmt.sample_rate)
    return Timeline(chapter_marks(specs, frames, fmt, duration), duration)
