"""Join clips and pauses into blocks, encode each block (mp3encode), and join the encoded
blocks frame for frame into one MP3 behind an Info header.

A chapter is encoded in blocks, each on its own, so that an edit re-encodes only its
block: a block is a run of sentences, cut at some of the pauses between them (which ones
depends on the text around each pause, not on its place, so that an edit moves no other
cut), and every chapter starts a block. Encoded blocks are cached under a key of
everything that shapes them, and each is levelled by its own loudness, estimated from
the voice's measured once (VoiceLevel) in a quick pass over its samples. A separately
encoded block opens with the encoder's delay (about 25 ms of silence) and ends padded to
a whole frame; both fall inside the pause the block was cut at, where nobody hears them.
Chapter start times and cues are counted from the frames each block really holds, so they
are exact for the file as written, and the file is the same whichever blocks came from
the cache.
"""

from __future__ import annotations

import audioop
import hashlib
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path

from narrator.atomic import append_file, file_chunks
from narrator.audio.mp3encode import (
    ATTACK_MS,
    LAME_QUALITY,
    LIMIT,
    RELEASE_MS,
    encode_mp3,
    encoder_version,
)
from narrator.audio.mp3frames import count_frames, info_frame, samples_per_frame
from narrator.cache import AudioCache, content_key, headed, read_header
from narrator.errors import DependencyError, InputError
from narrator.ffmpeg import convert, run_ffmpeg, stream
from narrator.model import (
    AudioFormat,
    ChapterMark,
    Cue,
    Script,
    Segment,
    Timeline,
    Utterance,
    utterance_of,
)
from narrator.speech.engine import LEVEL_REFERENCE

CHAPTERS = "chapters"  # cache kind: one chapter's MP3 frames
LEVELS = "levels"  # cache kind: the loudness ffmpeg measured of a voice's reference clip
_CHAPTER_FORMAT = 6  # of a cached block (chapter_entry): 6 is encoded in-process (mp3encode)
_CHAPTER_LEAD_MS = 700  # silence a chapter opens with, taken from the pause before it
_BLOCK_PAUSE_MS = 500  # a chapter is cut into blocks only at pauses this long (sentence ends)
# ... at about one such pause in this many: emerson-nature.md has 271 blocks of 21 s on
# average. Each costs a cache entry to read on every rebuild (about 0.3 ms) and a new
# encoder on a cold build; cut at one pause in ten, its 96 blocks made an edit re-encode
# two minutes of audio on average, at every pause its 900 made a rebuild 0.5 s slower.
_BLOCK_EVERY = 3
_CUT_WORDS = 2  # a cut after a sentence depends on its opening words only (see _blocks)
# Levelled PCM for m4b leaves ffmpeg in large writes: by default ffmpeg writes each packet
# on its own, and reading them cost narrator about 7 s of CPU on emerson-nature.md.
_BUFFERED = ["-flush_packets", "0"]
# AAC at 64 kbps overshoots more than MP3 (measured: +1.6 dB over the MP3 limit on the seed
# essay): for m4b, sample peaks are limited to -4 dBFS, and the encoded episode checked
# (m4b.py). MP3 blocks are limited in mp3encode.
AAC_LIMITER = "alimiter=limit=0.63:level=false:attack=5:release=50"
LIMITER_LOSS_DB = 0.5
_MAX_GAIN_DB = 20.0
_SILENT_LUFS = -70.0  # what ebur128 reports for silence
ENCODER_DELAY_MS = 1105 * 1000 / 44100  # LAME and decoder delay (samples at 44.1 kHz)
# A block encoded on its own decodes to whole MP3 frames: the delay above, its audio, then
# padding to the end of a frame and 47 samples more (measured: LAME at 16-48 kHz). When its
# audio fills whole frames, a join adds exactly this many samples of the output rate.
_JOIN_SAMPLES = 1152


@lru_cache(maxsize=128)
def silence(ms: int, sample_rate: int) -> bytes:
    """`ms` of silence as mono 16-bit PCM (as pydub's `AudioSegment.silent` makes it), made
    once per length: a script's pauses come in a few lengths, each streamed many times."""
    return bytes(2 * int(sample_rate * (ms / 1000.0)))


@dataclass(frozen=True)
class ChapterSpec:
    """What one block of a chapter's audio is made of: opening silence, then clips and the
    pause after each. `key` names its encoding in the cache; `chapter` is the index of the
    chapter it belongs to, and `title` that chapter's title."""

    title: str
    lead_ms: int
    parts: tuple[tuple[Utterance, int], ...]
    key: str
    intro: bytes = b""  # PCM played before the chapter's speech (the episode's intro)
    outro: bytes = b""  # PCM played after it (the episode's outro)
    chapter: int = 0


def _blocks(script: Script) -> list[tuple[int, list[Segment]]]:
    """The script's chapters cut into blocks: (chapter index, segments) in order.

    A block ends after a segment followed by a pause of at least `_BLOCK_PAUSE_MS` (a
    sentence's or longer) whose opening words hash into one of `_BLOCK_EVERY` classes: on
    average one such pause in `_BLOCK_EVERY`, chosen by content alone, so an edit changes
    the blocks around it and no others. Only the opening words count, not the whole
    sentence: an edit within a sentence (a word changed, added or dropped) then moves no
    cut, and re-encodes the one block it falls in; hashed whole, four edits in nine moved
    the cut after the sentence and re-encoded two blocks.
    """
    blocks: list[tuple[int, list[Segment]]] = []
    for index, chapter in enumerate(script.chapters):
        current: list[Segment] = []
        for segment in chapter.segments:
            current.append(segment)
            if segment.pause_ms >= _BLOCK_PAUSE_MS and _cut_class(segment.text) == 0:
                blocks.append((index, current))
                current = []
        if current:
            blocks.append((index, current))
    return blocks


def _cut_class(text: str) -> int:
    opening = " ".join(text.split()[:_CUT_WORDS])
    return int.from_bytes(hashlib.sha256(opening.encode()).digest()[:4], "big") % _BLOCK_EVERY


def _lead(previous: Segment) -> int:
    """The silence a block (or chapter) opens with, cut from the pause before it.

    Putting the boundary inside that pause means a listener who jumps to a chapter hears a
    short breath and then its heading, and a join between blocks falls in silence.
    """
    return min(_CHAPTER_LEAD_MS, previous.pause_ms // 2)


@dataclass(frozen=True)
class Framing:
    """Intro and outro audio of the episode, as PCM at the engine's rate (already faded)."""

    intro: bytes = b""
    outro: bytes = b""


def _framed_key(key: str, pcm: bytes) -> str:
    return content_key("framed", key, hashlib.sha256(pcm).hexdigest()) if pcm else key


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
    encoder: str,
    framing: Framing = Framing(),
) -> list[ChapterSpec]:
    """Each block's parts and cache key, in order (pure: the key hashes segment keys, not
    audio)."""
    blocks = _blocks(script)
    leads = [0] + [_lead(segments[-1]) for _, segments in blocks[:-1]]
    specs = []
    for number, (index, segments) in enumerate(blocks):
        next_lead = leads[number + 1] if number + 1 < len(leads) else 0
        parts = tuple(
            (
                utterance_of(segment),
                segment.pause_ms - (next_lead if position == len(segments) - 1 else 0),
            )
            for position, segment in enumerate(segments)
        )
        key = content_key(
            "chapter",
            _CHAPTER_FORMAT,
            encoder,
            encoder_version(),
            LAME_QUALITY,
            (LIMIT, ATTACK_MS, RELEASE_MS),
            LIMITER_LOSS_DB,
            asdict(fmt),
            leads[number],
            keys[LEVEL_REFERENCE],  # the voice's level, hence its gain
            [(keys[utterance], pause) for utterance, pause in parts],
        )
        title = script.chapters[index].title
        specs.append(ChapterSpec(title, leads[number], parts, key, chapter=index))
    if framing.intro or framing.outro:
        first = specs[0]
        specs[0] = replace(first, intro=framing.intro, key=_framed_key(first.key, framing.intro))
        last = specs[-1]
        specs[-1] = replace(last, outro=framing.outro, key=_framed_key(last.key, framing.outro))
    return specs


ClipSource = Callable[[Utterance], bytes]  # a clip's trimmed PCM, by utterance


def _join_cut(spec: ChapterSpec, sample_rate: int, mp3_rate: int | None) -> int:
    """Samples cut from the block's opening silence to make up for the frame a join adds
    (`_JOIN_SAMPLES`): only for an MP3 block that follows another."""
    if mp3_rate is None or not spec.lead_ms or spec.intro:
        return 0
    lead = len(silence(spec.lead_ms, sample_rate)) // 2
    return min(lead, round(_JOIN_SAMPLES * sample_rate / mp3_rate))


def _frame_end(size: int, pause: int, sample_rate: int, mp3_rate: int) -> int:
    """Where a block of `size` samples followed by a `pause` of so many samples should end
    for its audio to fill whole MP3 frames at `mp3_rate`: the frame boundary nearest the
    end of the pause, never inside the speech."""
    per_frame = samples_per_frame(mp3_rate) * sample_rate / mp3_rate  # in input samples
    frames = max(round((size + pause) / per_frame), math.ceil(size / per_frame))
    return math.floor(frames * per_frame)


def chapter_pieces(
    spec: ChapterSpec, clip_of: ClipSource, sample_rate: int, mp3_rate: int | None = None
) -> Iterator[bytes]:
    """The block's mono PCM in order, piece by piece: intro, opening silence, then each
    clip and the pause after it, then outro. Streamed to the encoder, never joined in
    memory, so a block of any length needs the memory of one clip.

    With `mp3_rate` (the block is encoded to MP3 at that rate, to be joined frame for frame
    to its neighbours), its last pause ends on a frame boundary and its opening silence is
    a frame shorter (`_JOIN_SAMPLES`), so that pauses keep their length across joins."""
    if spec.intro:
        yield spec.intro
    lead = len(silence(spec.lead_ms, sample_rate)) // 2 - _join_cut(spec, sample_rate, mp3_rate)
    if lead > 0:
        yield bytes(2 * lead)
    size = len(spec.intro) // 2 + lead
    for number, (spoken, pause) in enumerate(spec.parts, 1):
        clip = clip_of(spoken)
        yield clip
        size += len(clip) // 2
        after = len(silence(pause, sample_rate)) // 2 if pause > 0 else 0
        if number == len(spec.parts) and mp3_rate is not None and not spec.outro:
            after = _frame_end(size, after, sample_rate, mp3_rate) - size
        if after > 0:
            yield bytes(2 * after)
            size += after
    if spec.outro:
        yield spec.outro


def chapter_spans(
    spec: ChapterSpec, clip_bytes: Sequence[int], sample_rate: int, mp3_rate: int | None = None
) -> tuple[tuple[int, int], ...]:
    """Each clip's start and end in milliseconds, counting the encoder's delay, from the
    clips' sizes in bytes (pure); `mp3_rate` as for `chapter_pieces`."""
    spans = []
    lead = spec.lead_ms * sample_rate // 1000 - _join_cut(spec, sample_rate, mp3_rate)
    position = len(spec.intro) // 2 + max(0, lead)
    for (_, pause), size in zip(spec.parts, clip_bytes, strict=True):
        end = position + size // 2
        spans.append(
            (
                round(position * 1000 / sample_rate + ENCODER_DELAY_MS),
                round(end * 1000 / sample_rate + ENCODER_DELAY_MS),
            )
        )
        position = end
        if pause > 0:
            position += len(silence(pause, sample_rate)) // 2
    return tuple(spans)


def measure_loudness(ffmpeg: str, pcm: Iterable[bytes], sample_rate: int) -> float:
    """Integrated loudness (LUFS, ITU-R BS.1770) of mono PCM, by ffmpeg's ebur128 filter."""
    args = ["-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0",
            "-af", "ebur128=framelog=quiet", "-f", "null", "-"]  # fmt: skip
    report = stream(ffmpeg, args, pcm, keep_stderr=True)
    found = re.findall(rb"I:\s+(-?[\d.]+) LUFS", report)
    return float(found[-1]) if found else _SILENT_LUFS


TRUE_PEAK = re.compile(r"Peak:\s+(-?[\d.]+|-inf) dBFS")  # in ebur128=peak=true's summary


def measure_true_peak(ffmpeg: str, path: Path) -> float:
    """The true peak (dBTP, ITU-R BS.1770) of an encoded file's audio, by ffmpeg's ebur128
    filter; -inf for silence."""
    args = ["-nostats", "-i", str(path), "-vn", "-af", "ebur128=peak=true:framelog=quiet",
            "-f", "null", "-"]  # fmt: skip
    found = TRUE_PEAK.findall(run_ffmpeg(ffmpeg, args).stderr)
    return float(found[-1]) if found else -math.inf


def gated_level(pcm: Iterable[bytes], sample_rate: int) -> float | None:
    """The gated mean power of mono 16-bit PCM in dB, as ITU-R BS.1770 gates it (400 ms
    windows every 100 ms, an absolute gate at -70 and a relative one 10 dB under their
    mean) but without its K-weighting filter: a pass in C (audioop) rather than in ffmpeg.
    None for silence."""
    hop = 2 * (sample_rate // 10)
    powers: list[float] = []
    rest = b""
    for piece in pcm:
        data = rest + piece if rest else piece
        whole = len(data) - len(data) % hop
        view = memoryview(data)
        powers += [audioop.rms(view[at : at + hop], 2) ** 2 for at in range(0, whole, hop)]
        rest = data[whole:]
    full = 32768.0**2
    windows = [sum(powers[at : at + 4]) / 4 / full for at in range(len(powers) - 3)]
    heard = [power for power in windows if power > 10 ** (_SILENT_LUFS / 10)]
    if not heard:
        return None
    relative = sum(heard) / len(heard) / 10
    kept = [power for power in heard if power > relative]
    return 10 * math.log10(sum(kept) / len(kept))


class VoiceLevel:
    """How loud a block of one voice's speech is, without an ffmpeg pass over it.

    The voice's loudness is measured once, by ffmpeg, on its reading of `LEVEL_REFERENCE`
    (when a block first needs it; the threads that encode blocks share it). A block of the
    same voice differs from it by the difference of their `gated_level`s: a voice's
    spectrum is steady, so K-weighting moves both alike, while how much of each window is
    pause, which does differ, is in the gated levels. Measured against ffmpeg on every
    block of the seed, both corpus essays and the example, with espeak-ng and Piper: within
    0.55 LU (one gain for the whole voice was up to 4.2 LU off for Piper's short chapters).
    So a block's gain depends on its own clips and the voice, not on its neighbours."""

    def __init__(
        self,
        clip_of: ClipSource,
        sample_rate: int,
        ffmpeg: str,
        cache: AudioCache | None = None,
        key: str = "",
    ):
        """`key` names the reference's measured loudness in `cache` (kind `LEVELS`): the
        clip's key and ffmpeg's version, so a rebuild need not start ffmpeg to measure it."""
        self._clip_of, self._rate, self._ffmpeg = clip_of, sample_rate, ffmpeg
        self._cache, self._key = cache, key
        self._lock = threading.Lock()
        self._reference: tuple[float, float | None] | None = None

    def _measured(self, clip: bytes) -> float:
        found = self._cache.get(LEVELS, self._key) if self._cache is not None else None
        try:
            return float(found) if found is not None else self._measure(clip)
        except ValueError:  # not a number: measured again
            return self._measure(clip)

    def _measure(self, clip: bytes) -> float:
        loudness = measure_loudness(self._ffmpeg, [clip], self._rate)
        if self._cache is not None:
            self._cache.put(LEVELS, self._key, repr(loudness).encode())
        return loudness

    def loudness(self, pcm: Iterable[bytes]) -> float:
        """The estimated integrated loudness (LUFS) of this voice's `pcm`."""
        with self._lock:
            if self._reference is None:
                clip = self._clip_of(LEVEL_REFERENCE)
                self._reference = self._measured(clip), gated_level([clip], self._rate)
        reference, reference_level = self._reference
        level = gated_level(pcm, self._rate)
        if level is None or reference_level is None:
            return _SILENT_LUFS
        return reference + level - reference_level


@dataclass(frozen=True)
class SpooledChapter:
    """An encoded (or, for m4b, levelled) chapter waiting on disk to be joined into the
    episode: its audio is `path` from `offset` on, MP3 frames (`frames` of them) or PCM
    (`frames` is 0); `spans_ms` says where each of its segments is heard, from its start.

    The frame count travels with the frames so that a rebuild from the cache need not
    count them again."""

    path: Path
    frames: int
    spans_ms: tuple[tuple[int, int], ...]
    offset: int = 0  # a chapter from the cache starts after the entry's header

    def audio(self) -> Iterator[bytes]:
        """The chapter's audio, a chunk at a time."""
        return file_chunks(self.path, self.offset)

    @property
    def audio_bytes(self) -> int:
        return self.path.stat().st_size - self.offset


def encode_chapter(
    spec: ChapterSpec,
    clip_of: ClipSource,
    sample_rate: int,
    fmt: AudioFormat,
    ffmpeg: str,
    out: Path,
    voice_loudness: Callable[[Iterable[bytes]], float],
    pcm: bool = False,
) -> SpooledChapter:
    """Level one block and write it into `out`: bare MP3 frames, or with `pcm` levelled
    mono 16-bit PCM at `sample_rate` (for m4b; then `frames` is 0). It is levelled by its
    loudness: speech as `voice_loudness` estimates it (VoiceLevel.loudness), a block that
    holds the intro or outro as ffmpeg measures it (a jingle is not the voice). Its clips
    are streamed twice (measure, then encode) and its audio straight to disk: memory is
    one clip's, whatever its length."""
    pieces = chapter_pieces(spec, clip_of, sample_rate)
    if spec.intro or spec.outro:
        gain = chapter_gain_db(measure_loudness(ffmpeg, pieces, sample_rate), fmt)
    else:
        gain = chapter_gain_db(voice_loudness(pieces), fmt)
    sizes: list[int] = []

    def counted(spoken: Utterance) -> bytes:
        clip = clip_of(spoken)
        sizes.append(len(clip))
        return clip

    with out.open("wb") as file:
        if pcm:
            args = ["-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0",
                    "-af", level_filter(gain), *_BUFFERED,
                    "-f", "s16le", "pipe:1"]  # fmt: skip
            stream(ffmpeg, args, chapter_pieces(spec, counted, sample_rate), into=file)
        else:
            pieces = chapter_pieces(spec, counted, sample_rate, fmt.sample_rate)
            encode_mp3(pieces, sample_rate, fmt, gain, file)
    mp3_rate = None if pcm else fmt.sample_rate
    spans = chapter_spans(spec, sizes, sample_rate, mp3_rate)
    if pcm:
        return SpooledChapter(out, 0, spans)
    if out.stat().st_size == 0:
        raise DependencyError("the MP3 encoder wrote no audio", "rerun ./scripts/narrate")
    return SpooledChapter(out, count_frames(out), spans)


def level_filter(gain_db: float) -> str:
    """The ffmpeg filter that levels an m4b block: its gain, then the limiter for AAC."""
    return f"volume={gain_db:.2f}dB,{AAC_LIMITER}"


def chapter_gain_db(loudness: float, fmt: AudioFormat) -> float:
    """The gain that brings audio of this loudness to the target (`AudioFormat.target_lufs`).

    The limiter after the gain costs about half a decibel, which the gain makes up.
    """
    target = fmt.target_lufs
    if loudness <= _SILENT_LUFS:
        return 0.0
    return round(max(-_MAX_GAIN_DB, min(_MAX_GAIN_DB, target - loudness + LIMITER_LOSS_DB)), 2)


def chapter_entry(chapter: SpooledChapter) -> Iterator[bytes]:
    """The chapter as the cache keeps it: its frame count and spans, then its frames."""
    return headed({"frames": chapter.frames, "spans": chapter.spans_ms}, chapter.audio())


def cached_chapter(spec: ChapterSpec, cache: AudioCache | None, out: Path) -> SpooledChapter | None:
    """The chapter's encoding from the cache, placed at `out` (AudioCache.place_file), or
    None where it must be encoded (an entry that does not hold one, or not one of this
    chapter's segments, is removed: a cache entry another program wrote, say, whose
    checksum only proves it was stored whole)."""
    placed = cache.place_file(CHAPTERS, spec.key, out) if cache is not None else None
    if cache is None or placed is None:
        return None
    try:
        header, offset = read_header(out, placed)
        frames = header["frames"]
        spans = tuple((int(start), int(end)) for start, end in header["spans"])
        with out.open("rb") as file:
            file.seek(offset)
            first = file.read(4)
    except (ValueError, KeyError, TypeError):
        frames, spans, first = 0, (), b""
    if (
        not isinstance(frames, int)
        or frames < 1
        or first[:1] != b"\xff"
        or len(first) < 4
        or (len(spans) != len(spec.parts))
    ):
        cache.discard(CHAPTERS, spec.key)
        out.unlink()  # encoded into a file of its own, not into the entry's
        return None
    return SpooledChapter(out, frames, spans, offset)


def chapter_timeline(
    specs: Sequence[ChapterSpec], chapters: Sequence[SpooledChapter], fmt: AudioFormat
) -> Timeline:
    """Where the episode's chapters and segments are heard once its chapters are joined,
    counted from the frames each chapter holds."""
    per_frame = samples_per_frame(fmt.sample_rate)
    starts, frames = [], 0
    for chapter in chapters:
        starts.append(round(frames * per_frame * 1000 / fmt.sample_rate))
        frames += chapter.frames
    duration = round(frames * per_frame * 1000 / fmt.sample_rate)
    return episode_timeline(specs, starts, [c.spans_ms for c in chapters], duration)


def join_chapters(chapters: Sequence[SpooledChapter], out: Path, tag: bytes) -> None:
    """Write the episode to `out`: its `tag`, an Info header, then each chapter's frames
    (copied by the kernel where it can)."""
    total_frames = sum(chapter.frames for chapter in chapters)
    total_bytes = sum(chapter.audio_bytes for chapter in chapters)
    with chapters[0].path.open("rb") as first:
        first.seek(chapters[0].offset)
        head = first.read(4)
    with out.open("wb") as file:
        file.write(tag)
        file.write(info_frame(head, total_frames, total_bytes))
        for chapter in chapters:
            append_file(chapter.path, chapter.offset, file)


def episode_timeline(
    specs: Sequence[ChapterSpec],
    starts_ms: Sequence[int],
    spans_ms: Sequence[Sequence[tuple[int, int]]],
    duration_ms: int,
    shift_ms: float = 0.0,
) -> Timeline:
    """Chapter marks that tile the file from each chapter's first block, and a cue per
    segment from its span in its block (moved by `shift_ms`), for MP3 and m4b alike
    (pure). `starts_ms` and `spans_ms` are per block."""
    firsts: dict[int, tuple[str, int]] = {}  # per chapter: its title and start
    cues: dict[int, list[Cue]] = {}
    for spec, start, spans in zip(specs, starts_ms, spans_ms, strict=True):
        firsts.setdefault(spec.chapter, (spec.title, start))
        cues.setdefault(spec.chapter, []).extend(
            Cue(
                spoken.text,
                start + round(a + shift_ms),
                min(start + round(b + shift_ms), duration_ms),
            )
            for (spoken, _), (a, b) in zip(spec.parts, spans, strict=True)
        )
    heads = list(firsts.values())
    ends = [start for _, start in heads[1:]] + [duration_ms]
    marks = tuple(
        ChapterMark(title, start, end) for (title, start), end in zip(heads, ends, strict=True)
    )
    return Timeline(marks, duration_ms, tuple(tuple(cues[index]) for index in firsts))
