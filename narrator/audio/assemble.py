"""The segment is the unit of encoding: each is levelled and encoded on its own (in the
worker that spoke it), and a chapter is its segments' MP3 frames with runs of silent
frames between them.

Segments that follow each other with no pause (an emphasized word inside a sentence), or
with a pause too short to hold the encoder's delay and padding, are one *unit*, levelled
and encoded together, so every join falls in a pause. A separately encoded unit opens with
the encoder's delay (about 25 ms of silence) and ends padded to a whole frame; both fall
inside the pause around it, and the silent frames between two units are counted so that
the pause the listener hears keeps its length (to within half a frame, 13 ms). A unit's
first frame takes nothing from a bit reservoir (nothing comes before it in its encoding),
and silent frames carry no audio data, so units join at any frame boundary: the episode
is a byte copy of cached units and silent frames, the same whichever came from the cache.
Chapter marks, cues and the duration are counted from frames.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from narrator.audio import level
from narrator.audio.mp3frames import (
    count_frames,
    info_frame,
    mean_frame_bytes,
    samples_per_frame,
    silent_frame,
)
from narrator.cache import content_key
from narrator.errors import InputError
from narrator.ffmpeg import convert
from narrator.model import AudioFormat, ChapterMark, Cue, Script, Timeline, Utterance, utterance_of

if TYPE_CHECKING:
    import numpy as np

UNITS = "units"  # cache kind: one unit's levelled MP3 frames, and what joining needs to know
_UNIT_FORMAT = 1  # of a stored unit (`Encoded.to_bytes`)
_CHAPTER_LEAD_MS = 700  # silence a chapter opens with, taken from the pause before it
# Below this a pause cannot hold a unit's padding and the next one's delay (up to about
# 65 ms together) with room to place the next unit: segments so close are one unit.
JOIN_BELOW_MS = 100
_LAME_QUALITY = 7  # LAME -q 7: about twice as fast as the default, no audible loss at 64 kbps
_RESAMPLER = "MQ"  # soxr's medium quality: flat to 20 kHz from 22.05 kHz speech, and cheap
ENCODER_DELAY = 576 + 529  # LAME's encoder delay and the decoder's, in samples
# LAME at low bitrates drops some of the weak high partials of synthetic speech, which
# K-weighting favours: an encoded unit measures about this much below its PCM (64 kbps).
MP3_LOSS_DB = 0.45
MP3, PCM = "mp3", "pcm"  # what a unit is made into: MP3 frames, or levelled PCM (for m4b)


@lru_cache(maxsize=1)
def encoder_identity() -> tuple[str, ...]:
    """The versions of what shapes a unit's bytes (part of its cache key)."""
    return tuple(f"{name} {version(name)}" for name in ("lameenc", "soxr", "numpy"))


@dataclass(frozen=True)
class Unit:
    """Audio levelled and encoded as one piece: segments with the (short) pause after
    each but the last, or a jingle's PCM (`pcm`; the intro or outro). `key` names it in
    the store."""

    parts: tuple[tuple[Utterance, int], ...]
    key: str
    pcm: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class ChapterSpec:
    """What one chapter's audio is made of: units, and the silences between them (in ms)."""

    title: str
    items: tuple[Unit | int, ...]

    @property
    def units(self) -> tuple[Unit, ...]:
        return tuple(item for item in self.items if isinstance(item, Unit))

    @property
    def utterances(self) -> tuple[Utterance, ...]:
        """The chapter's segments in order, one cue each."""
        return tuple(spoken for unit in self.units for spoken, _ in unit.parts)


def chapter_leads(script: Script) -> list[int]:
    """The silence each chapter opens with, cut from the previous chapter's closing pause.

    Putting the chapter boundary inside that pause means a listener who jumps to a chapter
    hears a short breath and then its heading.
    """
    leads = [0]
    for previous in script.chapters[:-1]:
        leads.append(min(_CHAPTER_LEAD_MS, previous.segments[-1].pause_ms // 2))
    return leads


@dataclass(frozen=True)
class Framing:
    """Intro and outro audio of the episode, as PCM at the engine's rate (already faded)."""

    intro: bytes = b""
    outro: bytes = b""


def framing_pcm(
    path: Path, ffmpeg: str, sample_rate: int, fade_in_s: float, fade_out_s: float
) -> bytes:
    """A jingle decoded to mono PCM, faded in and out (the fade out ends at its end)."""
    if not path.is_file():
        raise InputError(f"intro or outro audio {path} does not exist", "fix the setting")
    from mutagen import File as MutagenFile

    info = MutagenFile(path)
    length = info.info.length if info is not None and info.info else 0.0
    fades = f"afade=t=in:d={fade_in_s}"
    if length > fade_out_s:
        fades += f",afade=t=out:st={length - fade_out_s:.3f}:d={fade_out_s}"
    args = ["-i", str(path), "-af", fades, "-f", "s16le", "-ac", "1", "-ar", str(sample_rate),
            "pipe:1"]  # fmt: skip
    return convert(ffmpeg, args, b"")


def chapter_specs(
    script: Script,
    keys: Mapping[Utterance, str],
    fmt: AudioFormat,
    voice_key: str,
    mode: str = MP3,
    framing: Framing = Framing(),
) -> list[ChapterSpec]:
    """Each chapter's units and silences, and each unit's key (pure: keys hash segment
    keys, never audio). `voice_key` names the voice's calibrated level, which levels the
    units too short to measure."""
    shaping = (_UNIT_FORMAT, mode, encoder_identity(), _LAME_QUALITY, _RESAMPLER, MP3_LOSS_DB,
               level.LEVEL_SETTINGS, fmt.sample_rate, fmt.bitrate_kbps, fmt.channels,
               fmt.target_lufs, voice_key)  # fmt: skip

    def unit(run: list[tuple[Utterance, int]]) -> Unit:
        parts = (*run[:-1], (run[-1][0], 0))
        return Unit(parts, content_key("unit", shaping, [(keys[u], p) for u, p in parts]))

    def jingle(pcm: bytes) -> Unit:
        return Unit((), content_key("jingle", shaping, hashlib.sha256(pcm).hexdigest()), pcm)

    leads = chapter_leads(script)
    specs = []
    for index, chapter in enumerate(script.chapters):
        next_lead = leads[index + 1] if index + 1 < len(leads) else 0
        items: list[Unit | int] = [leads[index]] if leads[index] else []
        run: list[tuple[Utterance, int]] = []
        for position, segment in enumerate(chapter.segments):
            last = position == len(chapter.segments) - 1
            pause = segment.pause_ms - (next_lead if last else 0)
            run.append((utterance_of(segment), max(0, pause)))
            if last or pause >= JOIN_BELOW_MS:
                items.append(unit(run))
                if pause > 0:
                    items.append(pause)
                run = []
        specs.append(ChapterSpec(chapter.title, tuple(items)))
    if framing.intro:
        specs[0] = ChapterSpec(specs[0].title, (jingle(framing.intro), *specs[0].items))
    if framing.outro:
        specs[-1] = ChapterSpec(specs[-1].title, (*specs[-1].items, jingle(framing.outro)))
    return specs


@dataclass(frozen=True)
class Encoded:
    """A unit made: its audio (MP3 frames, or levelled PCM), how many frames (for PCM:
    samples) they hold, how many samples of sound (without the encoder's delay and
    padding), where each segment is heard from the sound's start, and its gain."""

    audio: bytes
    frames: int
    samples: int
    spans: tuple[tuple[int, int], ...]
    gain_db: float

    def to_bytes(self) -> bytes:
        head = {"frames": self.frames, "samples": self.samples, "spans": self.spans,
                "gain": self.gain_db}  # fmt: skip
        header = json.dumps(head).encode()
        return len(header).to_bytes(4, "big") + header + self.audio

    @classmethod
    def from_bytes(cls, blob: bytes) -> Encoded:
        size = int.from_bytes(blob[:4], "big")
        head = json.loads(blob[4 : 4 + size])
        spans = tuple((start, end) for start, end in head["spans"])
        return cls(blob[4 + size :], head["frames"], head["samples"], spans, head["gain"])


def unit_pcm(unit: Unit, clips: Sequence[bytes], source_rate: int) -> tuple[bytes, list[int]]:
    """The unit's PCM (clips and the short pauses inside it), and each clip's start and
    end in samples (pure)."""
    pieces: list[bytes] = []
    bounds: list[int] = []
    at = 0
    for (_, pause), clip in zip(unit.parts, clips, strict=True):
        bounds += [at, at + len(clip) // 2]
        silence = bytes(2 * (pause * source_rate // 1000))
        pieces += [clip, silence]
        at += (len(clip) + len(silence)) // 2
    return b"".join(pieces) or unit.pcm, bounds


def make_unit(
    unit: Unit,
    clips: Sequence[bytes],
    source_rate: int,
    fmt: AudioFormat,
    voice_gain: float,
    offset_db: float,
    mode: str,
) -> Encoded:
    """Level a unit by its own loudness toward the target (moved by `offset_db`, the
    louder or softer voicing of its style), limit its peaks and encode it."""
    pcm, bounds = unit_pcm(unit, clips, source_rate)
    samples = level.samples_of(pcm)
    # both channels carry the unit, which BS.1770 counts twice
    target = fmt.target_lufs - 10 * math.log10(fmt.channels) + offset_db
    target += 0.0 if mode == PCM else MP3_LOSS_DB
    measured = level.loudness(samples, source_rate)
    gain = level.gain_db(measured, target, voice_gain + offset_db)
    limited = level.levelled(samples, source_rate, gain)
    if measured is not None:
        after = level.loudness(limited, source_rate)
        if after is not None and after < target - 0.05:
            # the limiter took some loudness: give it back once, and limit again
            gain = level.gain_db(measured - (target - after), target, voice_gain + offset_db)
            limited = level.levelled(samples, source_rate, gain)
    samples = limited
    pairs = list(zip(bounds[::2], bounds[1::2], strict=True))
    if mode == PCM:
        return Encoded(level.to_pcm(samples), len(samples), len(samples), tuple(pairs), gain)
    mp3, count, length = encode_mp3(samples, source_rate, fmt)
    scale = fmt.sample_rate / source_rate
    spans = tuple((round(a * scale), round(b * scale)) for a, b in pairs)
    return Encoded(mp3, count, length, spans, gain)


def encode_mp3(samples: np.ndarray, source_rate: int, fmt: AudioFormat) -> tuple[bytes, int, int]:
    """Float mono samples resampled to the format's rate and encoded by LAME (in-process,
    CBR, no Xing frame): the frames, their count and the number of samples encoded."""
    import lameenc
    import numpy as np
    import soxr

    # soxr resamples 16-bit samples in C, rounding and clipping as it goes
    pcm = np.frombuffer(level.to_pcm(samples), "<i2")
    resampled = soxr.resample(pcm, source_rate, fmt.sample_rate, quality=_RESAMPLER)
    if fmt.channels == 2:
        resampled = np.repeat(resampled, 2)
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(fmt.bitrate_kbps)
    encoder.set_in_sample_rate(fmt.sample_rate)
    encoder.set_out_sample_rate(fmt.sample_rate)
    encoder.set_channels(fmt.channels)
    encoder.set_quality(_LAME_QUALITY)
    encoder.silence()
    mp3 = bytes(encoder.encode(resampled.tobytes())) + bytes(encoder.flush())
    return mp3, count_frames(mp3), len(resampled) // fmt.channels


@dataclass(frozen=True)
class Grid:
    """How units are laid out in time: `frame` samples per frame at `rate`, sound
    starting `delay` samples into a unit, and one frame of silence (and one padded by a
    byte, used as often as keeps the stream at `frame_bytes` a frame on average)."""

    rate: int
    frame: int
    delay: int
    silence: bytes
    padded: bytes = b""
    frame_bytes: float = 0.0

    @classmethod
    def of(cls, fmt: AudioFormat, mode: str, source_rate: int, first: bytes = b"") -> Grid:
        """The grid for MP3 frames (`first`: a unit's frames, whose header the silent
        frames copy) or for PCM at `source_rate`."""
        if mode == PCM:
            return cls(source_rate, 1, 0, b"\0\0")
        silence, padded = silent_frame(first), silent_frame(first, padded=True)
        frame = samples_per_frame(fmt.sample_rate)
        return cls(fmt.sample_rate, frame, ENCODER_DELAY, silence, padded, mean_frame_bytes(first))


UnitSource = Callable[[Unit], Encoded]  # a unit's encoding, from the store (or made again)


def write_episode(
    specs: Sequence[ChapterSpec], encoded: UnitSource, grid: Grid, out: BinaryIO
) -> tuple[Timeline, int]:
    """Write the episode's audio to `out`, unit by unit (one in memory at a time), with
    the silent frames that give each pause its length; say where its chapters and segments
    are heard, and how many frames it holds.

    Units are placed on an ideal clock: each goes to the frame that starts its sound
    nearest where the script wants it (never before the previous unit ends), so rounding
    to frames never adds up along a chapter.
    """
    frames = 0  # frames written
    ideal = 0  # where the script wants the next sound, in samples at the grid's rate

    def ms(samples: int) -> int:
        return round(samples * 1000 / grid.rate)

    written = 0  # bytes

    def silence_to(frame: int) -> None:
        nonlocal frames, written
        if not grid.padded:
            written += out.write(grid.silence * max(0, frame - frames))
        # pad a silent frame whenever the stream would fall below its bitrate without it,
        # so that players read the bitrate the header says
        for count in range(frames + 1, frame + 1) if grid.padded else ():
            short = written + len(grid.silence) < count * grid.frame_bytes
            written += out.write(grid.padded if short else grid.silence)
        frames = max(frames, frame)

    starts: list[int] = []
    cues: list[tuple[Cue, ...]] = []
    for spec in specs:
        silence_to(round(ideal / grid.frame))
        starts.append(frames)
        chapter: list[Cue] = []
        for item in spec.items:
            if isinstance(item, int):
                ideal += item * grid.rate // 1000
                continue
            unit = encoded(item)
            silence_to(round((ideal - grid.delay) / grid.frame))
            sound = frames * grid.frame + grid.delay
            for (spoken, _), (a, b) in zip(item.parts, unit.spans, strict=True):
                chapter.append(Cue(spoken.text, ms(sound + a), ms(sound + b)))
            written += out.write(unit.audio)
            frames += unit.frames
            ideal = sound + unit.samples
        cues.append(tuple(chapter))
    silence_to(round(ideal / grid.frame))
    duration = ms(frames * grid.frame)
    ends = [*starts[1:], frames]
    marks = tuple(
        ChapterMark(spec.title, ms(start * grid.frame), ms(end * grid.frame))
        for spec, start, end in zip(specs, starts, ends, strict=True)
    )
    return Timeline(marks, duration, tuple(cues)), frames


def first_unit(specs: Sequence[ChapterSpec]) -> Unit:
    return next(unit for spec in specs for unit in spec.units)


def join_mp3(
    specs: Sequence[ChapterSpec], encoded: UnitSource, fmt: AudioFormat, out: Path
) -> Timeline:
    """Write the episode to `out` as MP3: an Info header, then every unit's frames and
    the silent frames between them; the header is written last, when the counts are known."""
    first = encoded(first_unit(specs)).audio
    grid = Grid.of(fmt, MP3, 0, first)
    with out.open("wb") as file:
        file.write(bytes(len(grid.silence)))  # the Info frame's place
        timeline, frames = write_episode(specs, encoded, grid, file)
        audio_bytes = file.tell() - len(grid.silence)
        file.seek(0)
        file.write(info_frame(first, frames, audio_bytes))
    return timeline
