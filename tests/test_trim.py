"""Trimming the engine's silence: the fast trim cuts exactly where pydub's own scan does."""

from __future__ import annotations

import random

from pydub import AudioSegment
from pydub.silence import detect_leading_silence

from narrator.speech.engine import SAMPLE_RATE
from narrator.speech.trim import trim_silence


def _pydub_trim(pcm: bytes) -> bytes:
    """The trim as pydub itself measures it, one millisecond at a time."""
    audio = AudioSegment(pcm, sample_width=2, frame_rate=SAMPLE_RATE, channels=1)
    lead = detect_leading_silence(audio, -50.0, chunk_size=1)
    if lead >= len(audio):
        return b""
    tail = detect_leading_silence(audio.reverse(), -50.0, chunk_size=1)
    return audio[max(0, lead - 15) : min(len(audio), len(audio) - tail + 15)].raw_data


def _noise(rng: random.Random, samples: int, peak: int) -> bytes:
    return b"".join(
        rng.randint(-peak, peak).to_bytes(2, "little", signed=True) for _ in range(samples)
    )


def test_fast_trim_cuts_exactly_where_pydub_does() -> None:
    rng = random.Random(6)
    clips = [b"", b"\0\0" * 50, _noise(rng, 300, 30000)]
    for _ in range(60):
        quiet = _noise(rng, rng.randint(0, 3000), rng.choice([0, 40, 100, 110]))
        loud = _noise(rng, rng.randint(0, 4000), rng.choice([90, 200, 30000]))
        clips.append(quiet + loud + _noise(rng, rng.randint(0, 9000), 50))
    for pcm in clips:
        assert trim_silence(pcm, SAMPLE_RATE) == _pydub_trim(pcm)
