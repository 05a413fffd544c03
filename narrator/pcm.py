"""pydub on mono 16-bit PCM: trimming, silence and joining."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    # pydub warns at import when no `ffmpeg` is on PATH; we hand it ffmpeg ourselves.
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment
    from pydub.silence import detect_leading_silence

_EDGE_KEEP_MS = 15  # silence kept at a clip's edges so soft consonants are not clipped
_SILENCE_DBFS = -50.0
TRIM_SETTINGS = (_EDGE_KEEP_MS, _SILENCE_DBFS)  # part of the cache key of trimmed clips


def clip(pcm: bytes, sample_rate: int) -> AudioSegment:
    return AudioSegment(pcm, sample_width=2, frame_rate=sample_rate, channels=1)


def silence(ms: int, sample_rate: int) -> AudioSegment:
    return AudioSegment.silent(duration=ms, frame_rate=sample_rate)


def trim_silence(pcm: bytes, sample_rate: int) -> bytes:
    """Drop silence at both ends, keeping a few milliseconds; all-silent audio becomes empty."""
    audio = clip(pcm, sample_rate)
    lead = detect_leading_silence(audio, _SILENCE_DBFS, chunk_size=1)
    if lead >= len(audio):
        return b""
    tail = detect_leading_silence(audio.reverse(), _SILENCE_DBFS, chunk_size=1)
    start = max(0, lead - _EDGE_KEEP_MS)
    end = min(len(audio), len(audio) - tail + _EDGE_KEEP_MS)
    return audio[start:end].raw_data


def join(parts: list[AudioSegment]) -> AudioSegment:
    """Concatenate pairwise, so joining n clips copies each sample log(n) times, not n."""
    if not parts:
        return AudioSegment.empty()
    while len(parts) > 1:
        parts = [sum(parts[i : i + 2], AudioSegment.empty()) for i in range(0, len(parts), 2)]
    return parts[0]
