"""The one subprocess runner: streaming to ffmpeg, errors while feeding, ffmpeg failing."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from helpers import ffmpeg_exe

from narrator.errors import DependencyError
from narrator.ffmpeg import convert, stream


def _noise(rng: random.Random, samples: int, peak: int) -> bytes:
    return b"".join(
        rng.randint(-peak, peak).to_bytes(2, "little", signed=True) for _ in range(samples)
    )


def test_stream_feeds_chunks_as_convert_feeds_bytes() -> None:
    args = ["-f", "s16le", "-ar", "22050", "-ac", "1", "-i", "pipe:0", "-f", "s16le", "pipe:1"]
    chunks = [_noise(random.Random(n), 5000, 9000) for n in range(5)]
    assert stream(ffmpeg_exe(), args, iter(chunks)) == convert(ffmpeg_exe(), args, b"".join(chunks))


def test_an_error_while_feeding_reaches_the_caller() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"\0\0" * 1000
        raise DependencyError("a clip went missing")

    args = ["-f", "s16le", "-ar", "22050", "-ac", "1", "-i", "pipe:0", "-f", "null", "-"]
    with pytest.raises(DependencyError, match="a clip went missing"):
        stream(ffmpeg_exe(), args, chunks())


def test_ffmpeg_failing_midstream_is_a_dependency_error() -> None:
    with pytest.raises(DependencyError, match="ffmpeg failed"):
        stream(ffmpeg_exe(), ["-f", "nonsense-format", "-i", "pipe:0", "-"], iter([b"x" * 10]))
