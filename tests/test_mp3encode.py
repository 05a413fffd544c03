"""The in-process MP3 encoder: its limiter holds every sample under the limit whatever the
chunks, and its frames decode (by ffmpeg) to the samples given, after LAME's delay."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import decode

from narrator.audio.mp3encode import LIMIT, Limiter, encode_mp3
from narrator.audio.mp3frames import count_frames, samples_per_frame
from narrator.model import AudioFormat

RATE = 22050


def _speechlike(seconds: float, seed: int = 1) -> np.ndarray:
    """Noise in bursts, with peaks well over the limit, as espeak-ng's are."""
    rng = np.random.default_rng(seed)
    count = int(seconds * 44100)
    bursts = np.repeat(rng.uniform(0.1, 1.8, count // 2205 + 1), 2205)[:count]
    return (rng.standard_normal(count) * 0.5 * bursts).astype(np.float32)


def _limited(samples: np.ndarray, cuts: list[int]) -> np.ndarray:
    limiter = Limiter(LIMIT, 220, 2205)
    out, at = [], 0
    for cut in cuts:
        out.append(limiter.process(samples[at : at + cut]))
        at += cut
    out.append(limiter.process(samples[at:], last=True))
    return np.concatenate(out)


def test_no_sample_leaves_the_limiter_over_its_limit_however_it_is_chunked() -> None:
    samples = _speechlike(6.0)
    assert np.max(np.abs(samples)) > 2 * LIMIT
    whole = _limited(samples, [])
    assert len(whole) == len(samples)
    assert np.max(np.abs(whole)) <= LIMIT * (1 + 1e-6)
    rng = np.random.default_rng(2)
    for cuts in ([1, 31, 33, 100_000], list(rng.integers(1, 9000, 40))):
        assert np.array_equal(_limited(samples, cuts), whole)


def test_the_limiter_leaves_quiet_audio_alone_and_moves_its_gain_smoothly() -> None:
    quiet = _speechlike(2.0) * 0.2
    assert np.max(np.abs(quiet)) < LIMIT
    assert np.array_equal(_limited(quiet, [5000]), quiet)
    loud = np.full(44100, 2 * LIMIT, np.float32)  # a second at twice the limit, then quiet
    tail = np.full(44100, 0.1, np.float32)
    out = _limited(np.concatenate((tail, loud, tail)), [])
    gain = out / np.concatenate((tail, loud, tail))
    assert np.max(np.abs(np.diff(gain))) < 0.01  # no jumps: it ramps over its window
    assert gain[44100 + 22050] == pytest.approx(0.5)  # mid-burst: at the limit
    assert gain[0] == pytest.approx(1.0) and gain[-1] == pytest.approx(1.0)


@pytest.mark.parametrize("channels", [1, 2])
def test_the_frames_decode_to_the_samples_after_the_encoders_delay(
    tmp_path: Path, channels: int
) -> None:
    fmt = AudioFormat(channels=channels)
    seconds = 3.0
    tone = [
        round(8000 * math.sin(2 * math.pi * 440 * n / RATE)) for n in range(int(seconds * RATE))
    ]
    pcm = np.array(tone, "<i2").tobytes()
    out = tmp_path / "tone.mp3"
    with out.open("wb") as file:  # pieces of any size, as clips and pauses come
        encode_mp3([pcm[:1000], pcm[1000:1002], pcm[1002:]], RATE, fmt, 0.0, file)
    frames = count_frames(out)
    assert frames * samples_per_frame(fmt.sample_rate) >= seconds * fmt.sample_rate
    assert out.read_bytes()[:1] == b"\xff"  # frames from the first byte: no tag, no header
    decoded = np.frombuffer(decode(out, 44100), "<i2").astype(np.float64)
    delay = 1105  # LAME's and the decoder's, at 44.1 kHz
    assert np.max(np.abs(decoded[: delay - 20])) < 300  # silence first
    heard = decoded[delay : delay + int(seconds * 44100)]
    wanted = 8000 * np.sin(2 * np.pi * 440 * np.arange(len(heard)) / 44100)
    error = np.sqrt(np.mean((heard[100:-100] - wanted[100:-100]) ** 2))
    assert error < 0.05 * 8000 / math.sqrt(2), error  # the tone, where it was


def test_the_same_audio_in_other_pieces_encodes_to_the_same_bytes() -> None:
    pcm = (_speechlike(4.0)[::2] * 12000).astype("<i2").tobytes()
    first, second = io.BytesIO(), io.BytesIO()
    encode_mp3([pcm], RATE, AudioFormat(), 3.0, first)
    pieces = [pcm[at : at + 4410] for at in range(0, len(pcm), 4410)]
    encode_mp3(pieces, RATE, AudioFormat(), 3.0, second)
    assert first.getvalue() == second.getvalue()
