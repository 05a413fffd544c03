"""A chapter of any length is encoded, cached, read back and joined a chunk at a time:
its MP3 is never whole in memory (a 3.6-hour chapter once peaked at 379 MB)."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from helpers import decode, ffmpeg_exe

from narrator.audio.assemble import (
    ChapterSpec,
    VoiceLevel,
    cached_chapter,
    chapter_entry,
    encode_chapter,
    join_chapters,
)
from narrator.cache import AudioCache
from narrator.model import AudioFormat, Emphasis, Utterance
from narrator.speech.engine import SAMPLE_RATE

T = TypeVar("T")
CLIPS = 400  # a second each: almost 7 minutes of speech, over 3 MB of MP3 at 64 kbps
BOUND = 2_000_000  # bytes of Python memory above the start, whatever the length


def _peak(work: Callable[[], T]) -> tuple[T, int]:
    """What `work` returns, and the most Python memory it held at once."""
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _long_spec() -> tuple[ChapterSpec, dict[Utterance, bytes]]:
    rng = random.Random(3)
    second = bytes(rng.getrandbits(8) & 0x0F for _ in range(2 * SAMPLE_RATE))  # quiet noise
    clips = {Utterance(f"sentence {n}", Emphasis.NONE): second for n in range(CLIPS)}
    parts = tuple((utterance, 0) for utterance in clips)
    return ChapterSpec("long", 0, parts, "0" * 64), clips


def test_a_long_chapter_is_encoded_cached_and_joined_in_little_memory(tmp_path: Path) -> None:
    spec, clips = _long_spec()
    out = tmp_path / "encoded.mp3"
    noise = next(iter(clips.values()))

    def clip_of(utterance: Utterance) -> bytes:
        return clips.get(utterance, noise)  # the voice's level reference too

    voice = VoiceLevel(clip_of, SAMPLE_RATE, ffmpeg_exe())  # its level: a pass in Python
    encode = partial(encode_chapter, spec, clip_of, SAMPLE_RATE, AudioFormat())
    encoded, peak = _peak(lambda: encode(ffmpeg_exe(), out, voice.loudness))
    assert encoded.audio_bytes > 3_000_000
    assert peak < BOUND, f"encoding held {peak / 1e6:.1f} MB"

    cache = AudioCache(tmp_path / "cache")
    _, peak = _peak(lambda: cache.put_chunks("chapters", spec.key, partial(chapter_entry, encoded)))
    assert peak < BOUND, f"caching held {peak / 1e6:.1f} MB"
    found, peak = _peak(lambda: cached_chapter(spec, cache, tmp_path / "from-cache"))
    assert found is not None and found.frames == encoded.frames
    assert peak < BOUND, f"reading the cache held {peak / 1e6:.1f} MB"

    episode = tmp_path / "episode.mp3"
    _, peak = _peak(lambda: join_chapters([found, found], episode, b""))
    assert peak < BOUND, f"joining held {peak / 1e6:.1f} MB"
    assert episode.stat().st_size > 2 * encoded.audio_bytes
    assert len(decode(episode, 8000)) // 2 > 2 * (CLIPS - 1) * 8000  # whole and decodable
