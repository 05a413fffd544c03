"""Level one piece of speech on its own: its BS.1770 loudness, a gain toward the target,
and a true-peak limiter, in numpy, in the process that spoke it.

The gain depends on the piece and the voice alone, never on its neighbours, so a levelled
and encoded piece can be cached under the piece's own key. Speech from one voice is
steady, so chapters made of pieces levelled this way land on the target too (`lint`
checks that they do). numpy is imported by the functions that need it (in the workers):
a rebuild that encodes nothing never loads it.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

LUFS_OFFSET = -0.691  # BS.1770: loudness of a block is -0.691 + 10 log10(mean square)
_BLOCK_S = 0.4
_STEP_S = 0.1  # blocks overlap by 75%
_CONTEXT_S = 0.3  # silence measured with a piece: the blocks that overlap its edges
_ABSOLUTE_GATE = -70.0
_RELATIVE_GATE = -10.0
MIN_MEASURE_S = 1.0  # shorter pieces are too short to measure: the voice's level is used
MAX_DEVIATION_DB = 6.0  # a piece's gain stays this close to the voice's calibrated gain
CEILING = 10 ** (-2 / 20)  # sample peaks at -2 dBFS keep true peaks below -1 dBTP after MP3
_ATTACK_S = 0.005  # the limiter looks this far ahead (and back) of a peak
_RELEASE_S = 0.05
_REVISION = 2  # of the levelling code: bump when it changes what a unit sounds like
LEVEL_SETTINGS = (  # part of the cache key of levelled audio
    (_REVISION, _BLOCK_S, _STEP_S, _CONTEXT_S, MIN_MEASURE_S, MAX_DEVIATION_DB, CEILING),
    (_ATTACK_S, _RELEASE_S),
)


def _biquad(b: tuple[float, ...], a: tuple[float, ...], z: np.ndarray) -> np.ndarray:
    return (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)


@lru_cache(maxsize=8)
def _k_power(rate: int, size: int) -> np.ndarray:
    """BS.1770's K-weighting (a high shelf, then a high pass, designed for `rate` from the
    RBJ cookbook as pyloudnorm designs them) as a power gain at each rfft bin of `size`
    samples, weighted so that a dot product with |X|^2 is Parseval's energy."""
    import numpy as np

    shelf_gain, root = 10 ** (4.0 / 40), 10 ** (4.0 / 80)
    w0 = 2 * math.pi * 1500.0 / rate
    cos, alpha = math.cos(w0), math.sin(w0) / (2 / math.sqrt(2))
    shelf = (
        (shelf_gain * ((shelf_gain + 1) + (shelf_gain - 1) * cos + 2 * root * alpha),
         -2 * shelf_gain * ((shelf_gain - 1) + (shelf_gain + 1) * cos),
         shelf_gain * ((shelf_gain + 1) + (shelf_gain - 1) * cos - 2 * root * alpha)),
        ((shelf_gain + 1) - (shelf_gain - 1) * cos + 2 * root * alpha,
         2 * ((shelf_gain - 1) - (shelf_gain + 1) * cos),
         (shelf_gain + 1) - (shelf_gain - 1) * cos - 2 * root * alpha),
    )  # fmt: skip
    w0 = 2 * math.pi * 38.0 / rate
    cos, alpha = math.cos(w0), math.sin(w0) / (2 * 0.5)
    high_pass = (((1 + cos) / 2, -(1 + cos), (1 + cos) / 2), (1 + alpha, -2 * cos, 1 - alpha))
    z = np.exp(-2j * np.pi * np.fft.rfftfreq(size))  # z^-1 at each bin
    power = np.abs(_biquad(*shelf, z) * _biquad(*high_pass, z)) ** 2
    weights = np.full(len(power), 2.0)  # each bin but DC and Nyquist stands for two
    weights[0] = 1.0
    if size % 2 == 0:
        weights[-1] = 1.0
    return power * weights / size


def loudness(samples: np.ndarray, rate: int) -> float | None:
    """Integrated loudness (LUFS, ITU-R BS.1770-4 with its gates) of mono float samples
    as heard with silence either side (as a unit is heard in its chapter, so that the
    chapter measures what its units do), or None when too short to measure or silent.

    The K-weighted energy of each 100 ms step comes from its spectrum (Parseval), one
    transform for the whole piece: numpy has no IIR filter, scipy's takes seconds to
    import in every worker, and this costs a twentieth of encoding. Filtering each step on
    its own wraps the filter's short tail around the step; on speech the result stays
    within a tenth of a decibel of pyloudnorm's meter (tests check).
    """
    import numpy as np

    if len(samples) < rate * MIN_MEASURE_S:
        return None
    # heard between pauses: the blocks that reach into the silence around it count too
    context = np.zeros(round(_CONTEXT_S * rate))
    samples = np.concatenate((context, samples, context))
    step = round(_STEP_S * rate)
    count = len(samples) // step
    spectra = np.fft.rfft(samples[: count * step].reshape(count, step), axis=1)
    steps = (spectra.real**2 + spectra.imag**2) @ _k_power(rate, step) / step
    per_block = round(_BLOCK_S / _STEP_S)
    running = np.concatenate(([0.0], np.cumsum(steps)))
    energy = (running[per_block:] - running[:-per_block]) / per_block
    with np.errstate(divide="ignore"):
        blocks = LUFS_OFFSET + 10 * np.log10(energy)
    kept = blocks > _ABSOLUTE_GATE
    if not kept.any():
        return None
    relative = LUFS_OFFSET + 10 * math.log10(float(energy[kept].mean())) + _RELATIVE_GATE
    kept &= blocks > relative
    return LUFS_OFFSET + 10 * math.log10(float(energy[kept].mean()))


def gain_db(measured: float | None, target: float, voice_gain: float) -> float:
    """The gain that brings a piece to `target`: from its own loudness when it could be
    measured, else the voice's calibrated gain; never more than MAX_DEVIATION_DB from
    that (an odd piece, a sigh or a shout, is not pumped up or crushed)."""
    if measured is None:
        return round(voice_gain, 2)
    wanted = target - measured
    return round(max(voice_gain - MAX_DEVIATION_DB, min(voice_gain + MAX_DEVIATION_DB, wanted)), 2)


def limit(samples: np.ndarray, rate: int) -> np.ndarray:
    """Samples with their peaks brought under CEILING by a smooth gain that starts before
    each peak and releases after it (a look-ahead limiter); untouched when under it.

    The gain is worked out per block of _ATTACK_S: what each block's peak needs, held
    for _RELEASE_S either side, then drawn as a line from block centre to block centre.
    A sample's line joins its own block's held value and a neighbour's, both at most what
    its block's peak needs, so no sample ends above the ceiling. Only the blocks the line
    lowers are touched.
    """
    import numpy as np

    block = max(1, round(_ATTACK_S * rate))
    count = -(-len(samples) // block)
    flat = np.zeros(count * block)
    flat[: len(samples)] = samples
    grid = flat.reshape(count, block)
    loudest = np.abs(grid).max(axis=1) if count else grid[:, 0]
    if not count or float(loudest.max()) <= CEILING:
        return samples
    needed = np.minimum(1.0, CEILING / np.maximum(loudest, 1e-9))
    hold = max(1, round(_RELEASE_S / _ATTACK_S))
    edged = np.pad(needed, hold, mode="edge")
    held = np.pad(
        np.lib.stride_tricks.sliding_window_view(edged, 2 * hold + 1).min(axis=1), 1, "edge"
    )  # with one more block either side, for the lines at the ends
    rows = np.flatnonzero(np.minimum(np.minimum(held[:-2], held[1:-1]), held[2:]) < 1.0)
    here, before, after = held[rows + 1, None], held[rows, None], held[rows + 2, None]
    towards = (np.arange(block) - (block - 1) / 2) / block  # -1/2 .. 1/2 of the way
    gain = here + np.where(towards < 0, (here - before) * towards, (after - here) * towards)
    grid[rows] *= gain
    return grid.reshape(-1)[: len(samples)]


def samples_of(pcm: bytes) -> np.ndarray:
    """Mono 16-bit PCM as float samples in [-1, 1)."""
    import numpy as np

    return np.frombuffer(pcm, "<i2") / 32768.0


def levelled(samples: np.ndarray, rate: int, gain: float) -> np.ndarray:
    """`samples` with `gain` dB applied and their peaks limited."""
    return limit(samples * 10 ** (gain / 20), rate)


def to_pcm(samples: np.ndarray) -> bytes:
    """Float samples as mono 16-bit PCM (rounded, clipped)."""
    import numpy as np

    return np.clip(np.round(samples * 32768), -32768, 32767).astype("<i2").tobytes()
