"""pydub on mono 16-bit PCM: trimming, silence and joining."""

from __future__ import annotations

import warnings
from functools import lru_cache

with warnings.catch_warnings():
    # pydub warns at import when no `ffmpeg` is on PATH; we hand it ffmpeg ourselves.
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

_EDGE_KEEP_MS = 15  # silence kept at a clip's edges so soft consonants are not clipped
_SILENCE_DBFS = -50.0
_SKIP_MS = 20
TRIM_SETTINGS = (_EDGE_KEEP_MS, _SILENCE_DBFS)  # part of the cache key of trimmed clips


def clip(pcm: bytes, sample_rate: int) -> AudioSegment:
    return AudioSegment(pcm, sample_width=2, frame_rate=sample_rate, channels=1)


@lru_cache(maxsize=128)
def silence(ms: int, sample_rate: int) -> bytes:
    """`ms` of silence as PCM, made by pydub once per length: a script's pauses come in a
    few lengths, and each is streamed twice per chapter and counted for the cue times."""
    return AudioSegment.silent(duration=ms, frame_rate=sample_rate).raw_data


def _leading_silence_ms(audio: AudioSegment) -> int:
    """pydub's `detect_leading_silence` at 1 ms resolution, found faster.

    pydub measures each millisecond in turn; silence of a few hundred milliseconds made
    that a tenth of synthesis time. Stretches whose peak is below the threshold are
    skipped whole first (no millisecond in them can have an RMS above their peak), so the
    result is the same to the millisecond.
    """
    limit = audio.max_possible_amplitude * 10 ** (_SILENCE_DBFS / 20)
    start = 0
    while start + _SKIP_MS <= len(audio) and audio[start : start + _SKIP_MS].max < limit:
        start += _SKIP_MS
    while audio[start : start + 1].dBFS < _SILENCE_DBFS and start < len(audio):
        start += 1
    return min(start, len(audio))


def trim_silence(pcm: bytes, sample_rate: int) -> bytes:
    """Drop silence at both ends, keeping a few milliseconds; all-silent audio becomes empty."""
    audio = clip(pcm, sample_rate)
    lead = _leading_silence_ms(audio)
    if lead >= len(audio):
        return b""
    tail = _leading_silence_ms(audio.reverse())
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
