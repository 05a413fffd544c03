"""Levelling one unit on its own: BS.1770 loudness as pyloudnorm measures it, a clamped
gain, and a limiter that keeps every sample under the ceiling without touching the rest."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from narrator.audio import level


def _speechlike(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Noise shaped into syllables and words, with short gaps: gating has work to do."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    envelope = np.clip(np.sin(2 * np.pi * 3.1 * t), 0, None) * (np.sin(2 * np.pi * 0.4 * t) > -0.6)
    return rng.normal(0, 0.08, len(t)) * envelope


@pytest.mark.parametrize("rate", [22050, 44100])
@pytest.mark.parametrize("seconds", [1.2, 4.0, 20.0])
def test_loudness_is_what_pyloudnorm_measures_between_pauses(rate: int, seconds: float) -> None:
    samples = _speechlike(seconds, rate, seed=int(seconds * 10))
    context = np.zeros(int(0.3 * rate))  # a unit is measured as heard: between silences
    expected = pyloudnorm.Meter(rate).integrated_loudness(
        np.concatenate((context, samples, context))
    )
    measured = level.loudness(samples, rate)
    assert measured is not None and abs(measured - expected) < 0.1


def test_too_short_or_silent_audio_has_no_loudness() -> None:
    assert level.loudness(_speechlike(0.9, 22050, 1), 22050) is None
    assert level.loudness(np.zeros(22050 * 3), 22050) is None


def test_gain_comes_from_the_voice_when_unmeasured_and_stays_near_it() -> None:
    assert level.gain_db(None, -19.0, 2.5) == 2.5
    assert level.gain_db(-21.0, -19.0, 2.5) == 2.0
    assert level.gain_db(-40.0, -19.0, 2.5) == 2.5 + level.MAX_DEVIATION_DB  # a sigh
    assert level.gain_db(-5.0, -19.0, 2.5) == 2.5 - level.MAX_DEVIATION_DB  # a shout


def test_limiter_keeps_peaks_under_the_ceiling_and_leaves_the_rest() -> None:
    rate = 22050
    samples = _speechlike(3.0, rate, 7) * 0.5
    samples[rate] = 1.0  # one click far over the ceiling
    limited = level.limit(samples, rate)
    assert np.abs(limited).max() <= level.CEILING + 1e-12
    far = np.abs(np.arange(len(samples)) - rate) > rate // 10  # beyond attack and release
    assert np.array_equal(limited[far], samples[far])
    gain = limited[~far] / np.where(samples[~far] == 0, 1, samples[~far])
    assert np.abs(np.diff(gain[samples[~far] != 0])).max() < 0.05  # smooth, no step
    quiet = samples * 0.1
    assert level.limit(quiet, rate) is quiet
