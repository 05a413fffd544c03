"""Level, limit and encode mono PCM to MP3 frames in this process: a look-ahead limiter
(numpy) holds its peaks, soxr resamples it to the output rate, LAME (lameenc) encodes it.

An encoder in the process costs a block nothing to start and no copies through pipes.
ffmpeg did the same in a process per block, at a start of about 30 ms of CPU each, its
threads handing every packet on and narrator reading its frames back one by one: a cold
build of emerson-nature.md (95 minutes) took 55 s of CPU, now about 40 s, and the block
an edit falls in costs its own length, not an ffmpeg start on top.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from functools import cache
from importlib.metadata import version
from typing import TYPE_CHECKING, BinaryIO

from narrator.model import AudioFormat

if TYPE_CHECKING:  # numpy itself is imported where it is used: a rebuild from the cache
    import numpy as np  # encodes nothing and need not load it (about 0.1 s)
    import numpy.typing as npt

    Samples = npt.NDArray[np.float32]

log = logging.getLogger(__name__)

# Sample peaks limited to -2 dBFS before resampling keep true peaks under -1 dBTP after
# resampling and MP3 (measured with `narrator lint`: -2.1 to -2.3 dBTP on the seed and both
# corpus essays). Limiting at the engine's rate, not the output's, halves the limiter's work.
LIMIT = 0.79
ATTACK_MS = 5  # gain falls over at least this long before a peak ...
RELEASE_MS = 50  # ... and is held this long after it, then rises as slowly
LAME_QUALITY = 7  # LAME -q 7: about twice as fast as the default, no audible loss at 64 kbps
_CHUNK_BYTES = 1 << 15  # PCM is limited and encoded 0.74 s at a time (at 22,050 Hz)


@cache
def encoder_version() -> str:
    """What makes the MP3 frames, for the keys of cached encodings."""
    return f"lameenc {version('lameenc')}, soxr {version('soxr')}, numpy {version('numpy')}"


def load() -> None:
    """Import what encoding needs (numpy alone takes about 0.1 s): a build calls this in a
    thread of its own while the first clips are spoken, so the first encode need not."""
    import lameenc  # noqa: F401
    import numpy  # noqa: F401
    import soxr  # noqa: F401


def _sliding_min(values: npt.NDArray[np.float64], width: int) -> npt.NDArray[np.float64]:
    """`out[i] = min(values[i : i + width])`, by doubling spans: log2(width) passes."""
    import numpy as np

    out, span = values, 1
    while span * 2 <= width:
        out = np.minimum(out[:-span], out[span:])
        span *= 2
    return np.minimum(out[: len(values) - width + 1], out[width - span :])


_GRAIN = 32  # the limiter's gain is planned per this many samples, then interpolated


class Limiter:
    """A look-ahead peak limiter for a stream of float samples: no sample leaves it above
    `limit`, and its gain moves smoothly.

    The gain is planned on a grid of `_GRAIN` samples: each grain needs the gain that
    brings its peak to the limit; a grain gets the mean, over `attack + release` of them,
    of the least gain needed from `release` before to `attack` after, which never
    exceeds its own need; the gain runs in straight lines between grains' starts, each
    at the lesser gain of the two grains it joins, so it never exceeds a sample's need.
    Planning per grain costs a few passes over the samples, not one per sample of the
    window.

    It holds back samples to see ahead and keeps as many behind, and its grid counts from
    the stream's start: what it returns depends on the samples, not on how they were cut
    into chunks."""

    def __init__(self, limit: float, attack: int, release: int) -> None:
        import numpy as np

        self._limit = limit
        self._reach = -(-(attack + release) // _GRAIN)  # in grains
        self._context = (self._reach + 4) * _GRAIN  # samples a gain depends on, each side
        self._past: Samples = np.zeros(0, np.float32)  # returned already: context behind
        self._todo: Samples = np.zeros(0, np.float32)  # not yet returned
        self._returned = 0

    def process(self, samples: Samples, last: bool = False) -> Samples:
        """The limited samples that are ready (all of them once `last`)."""
        import numpy as np

        todo = np.concatenate((self._todo, samples))
        ready = len(todo) if last else max(0, len(todo) - self._context)
        data = np.concatenate((self._past, todo))
        start = len(self._past)
        gains = self._gains(data, self._returned - start)
        out = todo[:ready] * gains[start : start + ready]
        self._past = data[max(0, start + ready - self._context) : start + ready]
        self._todo = todo[ready:]
        self._returned += ready
        return out.astype(np.float32, copy=False)

    def _gains(self, data: Samples, at: int) -> Samples:
        """The gain of each sample of `data`, which starts at sample `at` of the stream,
        with silence on either side of it."""
        import numpy as np

        peaks = np.abs(data)
        if not len(data) or float(np.max(peaks)) <= self._limit:
            return np.ones(len(data), np.float32)
        phase = at % _GRAIN  # grains start at multiples of _GRAIN in the stream
        grains = -(-(phase + len(data)) // _GRAIN)
        padded = np.zeros(grains * _GRAIN, np.float32)
        padded[phase : phase + len(data)] = peaks
        need = self._limit / np.maximum(padded.reshape(grains, _GRAIN).max(axis=1), self._limit)
        reach, edge = self._reach, np.ones(self._reach, np.float64)
        hold = _sliding_min(np.concatenate((edge, need, edge)), reach + 1)
        sums = np.concatenate(([0.0], np.cumsum(hold)))
        planned = (sums[reach + 1 :] - sums[: -reach - 1]) / (reach + 1)
        # at each grain's start, the lesser of the two grains it joins: the line between
        # two such points stays under the need of the grain between them
        around = np.concatenate((planned[:1], planned, planned[-1:])).astype(np.float32)
        points = np.minimum(around[:-1], around[1:])
        steps = np.arange(_GRAIN, dtype=np.float32) / _GRAIN
        rise = (points[1:] - points[:-1])[:, None] * steps[None, :]
        gains = (points[:-1, None] + rise).ravel().astype(np.float32, copy=False)
        return gains[phase : phase + len(data)]


def _chunks(pieces: Iterable[bytes]) -> Iterator[bytes | memoryview]:
    """The pieces' bytes in chunks of `_CHUNK_BYTES`, the last maybe shorter: silences are
    many and short, and a clip can be long."""
    rest = b""
    for piece in pieces:
        data = rest + piece if rest else piece
        whole = len(data) - len(data) % _CHUNK_BYTES
        view = memoryview(data)
        for at in range(0, whole, _CHUNK_BYTES):
            yield view[at : at + _CHUNK_BYTES]
        rest = data[whole:]
    if rest:
        yield rest


def encode_mp3(
    pieces: Iterable[bytes], source_rate: int, fmt: AudioFormat, gain_db: float, out: BinaryIO
) -> None:
    """Mono 16-bit PCM at `source_rate` (a piece at a time), raised by `gain_db`, limited,
    written to `out` as bare CBR MP3 frames of `fmt` (no Xing header, no tags). LAME
    starts each call's frames afresh, so they join to any other call's at a frame
    boundary. Memory is a chunk's, whatever the length."""
    import lameenc
    import numpy as np
    import soxr

    log.info(
        "encode: %s, %d Hz to MP3 %d Hz %d kbps, gain %+.2f dB",
        encoder_version(), source_rate, fmt.sample_rate, fmt.bitrate_kbps, gain_db,
    )  # fmt: skip
    scale = np.float32(10 ** (gain_db / 20) / 32768)
    resampler = soxr.ResampleStream(source_rate, fmt.sample_rate, 1, dtype="float32")
    per_ms = source_rate / 1000
    limiter = Limiter(LIMIT, round(ATTACK_MS * per_ms), round(RELEASE_MS * per_ms))
    encoder = lameenc.Encoder()
    encoder.silence()
    encoder.set_channels(fmt.channels)
    encoder.set_in_sample_rate(fmt.sample_rate)
    encoder.set_out_sample_rate(fmt.sample_rate)
    encoder.set_bit_rate(fmt.bitrate_kbps)
    encoder.set_quality(LAME_QUALITY)

    def put(samples: Samples, last: bool = False) -> None:
        limited = resampler.resample_chunk(limiter.process(samples, last), last=last)
        pcm = np.clip(np.rint(limited * 32768), -32768, 32767).astype("<i2")
        if fmt.channels > 1:
            pcm = np.repeat(pcm, fmt.channels)
        out.write(encoder.encode(pcm.tobytes()))

    for chunk in _chunks(pieces):
        put(np.frombuffer(chunk, "<i2").astype(np.float32) * scale)
    put(np.zeros(0, np.float32), last=True)
    out.write(encoder.flush())
