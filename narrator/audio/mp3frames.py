"""MPEG audio layer III frames, without decoding: counting them, and the Info header.

Chapters are encoded separately and joined frame for frame, so chapter start times come
from the number of frames each chapter's encoding really holds, and the file's Info
header (which phones need to show the right duration and seek) is written here for the
joined stream.
"""

from __future__ import annotations

from pathlib import Path

from narrator.errors import DependencyError

_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def max_bitrate_kbps(sample_rate: int) -> int:
    """The highest bitrate at a sample rate: MPEG-1 (32-48 kHz) 320 kbps, MPEG-2 (16-24 kHz)
    160, MPEG-2.5 (8-12 kHz) 64, as LAME allows (it encodes a higher setting at this)."""
    return 320 if sample_rate >= 32000 else 160 if sample_rate >= 16000 else 64


def samples_per_frame(sample_rate: int) -> int:
    """Layer III frames hold 1152 samples at MPEG-1 rates and 576 below 32 kHz."""
    return 1152 if sample_rate >= 32000 else 576


def _frame_length(header: int) -> int:
    version = (header >> 19) & 3
    bitrate = (_BITRATES_V1 if version == 3 else _BITRATES_V2)[(header >> 12) & 15]
    rate = _RATES[version][(header >> 10) & 3]
    return (144 if version == 3 else 72) * bitrate * 1000 // rate + ((header >> 9) & 1)


def info_frame(first_frame: bytes, frames: int, audio_bytes: int) -> bytes:
    """A silent frame carrying a CBR "Info" header for `frames` frames of audio.

    It copies the first audio frame's header (without padding) and holds the frame count,
    the byte count (Info frame included), a linear seek table (the stream is CBR) and a
    quality field, as the Xing/Info convention lays out. No encoder delay is declared, so
    players play every frame and the chapter times counted from frames hold exactly.
    """
    header = int.from_bytes(first_frame[:4], "big") & ~(1 << 9)
    if not (header >> 16) & 1:
        raise DependencyError("the encoder wrote MP3 frames with CRCs, which narrator cannot join")
    mpeg1 = (header >> 19) & 3 == 3
    mono = (header >> 6) & 3 == 3
    side_info = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    length = _frame_length(header)
    fields = (
        b"Info"
        + (0x0F).to_bytes(4, "big")  # frames, bytes, seek table and quality are present
        + frames.to_bytes(4, "big")
        + (length + audio_bytes).to_bytes(4, "big")
        + bytes(i * 256 // 100 for i in range(100))
        + (0).to_bytes(4, "big")
    )
    frame = header.to_bytes(4, "big") + bytes(side_info) + fields
    return frame + bytes(length - len(frame))


def count_frames(path: Path, offset: int = 0) -> int:
    """The number of layer III frames in `path` from `offset` on, which must hold nothing
    else. Reads only each frame's header, so a chapter of any length costs no memory."""
    size = path.stat().st_size
    frames = 0
    at = offset
    with path.open("rb") as data:
        while at < size:
            data.seek(at)
            header = int.from_bytes(data.read(4), "big")
            version = (header >> 19) & 3
            if (
                size - at < 4
                or header >> 21 != 0x7FF
                or version == 1
                or (header >> 17) & 3 != 1
                or (header >> 12) & 15 in (0, 15)
                or (header >> 10) & 3 == 3
            ):
                raise DependencyError(
                    f"the encoder wrote something that is not an MP3 frame at {at - offset}"
                )
            at += _frame_length(header)
            frames += 1
    if at != size:
        raise DependencyError("the encoder wrote a truncated MP3 frame")
    return frames
