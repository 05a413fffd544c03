"""`narrator lint FILE...`: check episodes against what phones and podcast apps need.

MP3s: the ID3 tag (version, chapters, cover, title), the Info header and sample rate.
m4b audiobooks: the MP4 metadata (title), chapters, cover, AAC audio and sample rate.
Both: the chapters ffmpeg lists, loudness and true peak.

Each check reads the file with an independent reader (mutagen for the tags, ffmpeg for
the chapters it lists and for loudness), so narrator's own output gets no free pass.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from narrator.errors import InputError
from narrator.ffmpeg import run_ffmpeg
from narrator.model import AudioFormat, Check, ProgressCallback

LOUDNESS_TOLERANCE_LU = 1.0
MAX_TRUE_PEAK_DBTP = -1.0
SAMPLE_RATES = (44100, 48000)
MP4_SUFFIXES = (".m4b", ".m4a", ".mp4")
SUFFIXES = (".mp3", *MP4_SUFFIXES)  # what lint looks for in a folder
PROGRESS_FROM_MS = 60_000  # shorter files are measured too fast for progress to help
_MEASURING = "loudness"


def episodes_to_lint(paths: list[Path]) -> list[Path]:
    """The files named, and the MP3 and m4b files in the folders named, in order; an
    error before anything is checked if a path is neither."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = [p for p in sorted(path.iterdir()) if p.suffix.lower() in SUFFIXES]
            if not inside:
                raise InputError(f"no MP3 or m4b files in {path}", "pass episodes or folders")
            found += [p for p in inside if p.is_file()]
        elif path.is_file():
            found.append(path)
        else:
            what = "does not exist" if not path.exists() else "is not a regular file"
            raise InputError(f"{path} {what}", "pass an MP3 or m4b that narrator build wrote")
    return list(dict.fromkeys(found))


def _tags(path: Path) -> list[Check]:
    from mutagen.id3 import ID3, ID3NoHeaderError

    try:
        tags = ID3(path)
    except ID3NoHeaderError:
        return [Check("ID3 tag", False, "no ID3v2 tag: no title, chapters or cover")]
    version = f"ID3v2.{tags.version[1]}"
    checks = [Check("ID3 version", tags.version[:2] == (2, 3), f"{version} (want ID3v2.3)")]
    tocs = tags.getall("CTOC")
    chaps = tags.getall("CHAP")
    top = [toc for toc in tocs if toc.flags & 1]
    checks.append(
        Check(
            "chapters",
            len(top) == 1 and bool(chaps) and all("TIT2" in chap.sub_frames for chap in chaps),
            f"{len(chaps)} CHAP, {len(tocs)} CTOC ({len(top)} top-level)",
        )
    )
    if tags.version[:2] == (2, 4) and any(
        frame.HashKey.startswith("APIC") for chap in chaps for frame in chap.sub_frames.values()
    ):
        checks.append(
            Check(
                "chapter art",
                False,
                "ID3v2.4 chapters with pictures: ffmpeg and some apps then list no chapters",
            )
        )
    pictures = [p for p in tags.getall("APIC") if p.type == 3]
    if pictures:
        checks.append(_cover(pictures[0].data, pictures[0].mime))
    else:
        checks.append(Check("cover", False, "no front cover (APIC type 3)"))
    checks.append(Check("title", bool(tags.getall("TIT2")), str(tags.get("TIT2", "missing"))))
    return checks


def _cover(data: bytes, mime: str) -> Check:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError:
        return Check("cover", False, "the front cover is too large to open safely")
    except OSError:
        return Check("cover", False, "the front cover is not a readable image")
    ok = width == height and 1400 <= width <= 3000
    return Check("cover", ok, f"{width}x{height} {mime} (want square, 1400-3000)")


def _chapter_count(path: Path) -> int:
    from mutagen.id3 import ID3, ID3NoHeaderError

    try:
        return len(ID3(path).getall("CHAP"))
    except ID3NoHeaderError:
        return 0


def _mp3(path: Path) -> tuple[list[Check], int, int] | None:
    """The MP3's own checks, its channels and its length in ms; None if it has no audio."""
    from mutagen.mp3 import MP3, HeaderNotFoundError

    try:
        # mutagen's annotations lack the attributes MPEGInfo sets in __init__
        info: Any = MP3(path).info
    except HeaderNotFoundError:
        return None
    checks = [
        Check("sample rate", info.sample_rate in SAMPLE_RATES, f"{info.sample_rate} Hz"),
        Check(
            "duration header",
            not info.sketchy,
            "Info/Xing header present"
            if not info.sketchy
            else "no Info/Xing header: phones may show a wrong duration",
        ),
    ]
    return checks, info.channels, round(info.length * 1000)


def _mp4(path: Path) -> tuple[list[Check], int, int, int]:
    """An m4b's own checks, its channels, its length in ms and its chapter count."""
    from mutagen.mp4 import MP4, MP4Cover, MP4StreamInfoError
    from mutagen.mp4 import error as MP4Error

    try:
        mp4 = MP4(path)
    except (MP4Error, MP4StreamInfoError) as exc:
        return [Check("MP4", False, f"not a readable MP4 file ({exc})")], 0, 0, 0
    # mutagen's annotations lack what MP4Info sets in __init__
    info: Any = mp4.info
    tags: Any = mp4.tags or {}
    title = tags.get("\xa9nam")
    chapters = list(mp4.chapters or [])
    checks = [
        Check("audio", info.codec.startswith("mp4a"), f"{info.codec_description} (want AAC)"),
        Check("sample rate", info.sample_rate in SAMPLE_RATES, f"{info.sample_rate} Hz"),
        Check("title", bool(title), str(title[0]) if title else "missing"),
        Check("chapters", bool(chapters), f"{len(chapters)} chapters (Nero chpl)"),
    ]
    covers = tags.get("covr") or []
    if covers:
        kind = "image/png" if covers[0].imageformat == MP4Cover.FORMAT_PNG else "image/jpeg"
        checks.append(_cover(bytes(covers[0]), kind))
    else:
        checks.append(Check("cover", False, "no cover art (covr)"))
    return checks, info.channels, round(info.length * 1000), len(chapters)


def _measured(
    path: Path,
    ffmpeg: str,
    channels: int,
    length_ms: int,
    tagged: int,
    progress: ProgressCallback | None,
    loudness: float | None,
) -> list[Check]:
    """The chapters ffmpeg lists, loudness and true peak: one pass over the audio, with
    progress for files long enough to make someone wait."""
    reached = 0

    def advance(done_ms: int) -> None:
        nonlocal reached
        reached = min(done_ms, length_ms)
        if progress is not None:
            progress(_MEASURING, reached, length_ms)

    show = progress is not None and length_ms >= PROGRESS_FROM_MS
    report = run_ffmpeg(
        ffmpeg,
        # -vn: a cover is a video stream ffmpeg would decode too, and it may be huge
        ["-nostats", "-i", str(path), "-vn", "-af", "ebur128=peak=true", "-f", "null", "-"],
        advance if show else None,
    ).stderr
    if show and reached < length_ms:
        advance(length_ms)
    listed = len(re.findall(r"^\s+Chapter #", report.split("Output #", 1)[0], flags=re.M))
    checks = [
        Check(
            "chapters in ffmpeg",
            listed > 0 and listed == tagged,
            f"ffmpeg lists {listed} of the {tagged} in the tag",
        )
    ]
    summary = report[report.rfind("Summary:") :]
    loud = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if loud and peak:
        target = AudioFormat(channels=channels, loudness=loudness).target_lufs
        integrated = float(loud[1])
        checks.append(
            Check(
                "loudness",
                abs(integrated - target) <= LOUDNESS_TOLERANCE_LU,
                f"{integrated:.1f} LUFS (want {target:.0f} ± {LOUDNESS_TOLERANCE_LU:.0f})",
            )
        )
        true_peak = float(peak[1])
        checks.append(
            Check(
                "true peak",
                true_peak <= MAX_TRUE_PEAK_DBTP,
                f"{true_peak:.1f} dBTP (want at most {MAX_TRUE_PEAK_DBTP:.0f})",
            )
        )
    return checks


def lint(
    path: Path,
    ffmpeg: str,
    progress: ProgressCallback | None = None,
    loudness: float | None = None,
) -> list[Check]:
    """Every check for an MP3, or for an m4b by its suffix, in a fixed order; the file
    passes when all are ok. `progress` hears how far the loudness pass has got; `loudness`
    is the `[audio] loudness` setting the episode was built with (None: the podcast norm)."""
    if not path.is_file():
        raise InputError(f"{path} is not a file", "pass an MP3 or m4b that narrator build wrote")
    if path.suffix.lower() in MP4_SUFFIXES:
        checks, channels, length_ms, tagged = _mp4(path)
        if not length_ms:
            return checks
        measured = _measured(path, ffmpeg, channels, length_ms, tagged, progress, loudness)
        return [*checks, *measured]
    tags = _tags(path)
    audio = _mp3(path)
    if audio is None:
        return [*tags, Check("audio", False, "no MPEG audio frames found")]
    checks, channels, length_ms = audio
    count = _chapter_count(path)
    measured = _measured(path, ffmpeg, channels, length_ms, count, progress, loudness)
    return [*tags, *checks, *measured]
