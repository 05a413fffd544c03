"""`narrator lint FILE.mp3`: check an episode against what phones and podcast apps need.

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
from narrator.model import AudioFormat, Check

LOUDNESS_TOLERANCE_LU = 1.0
MAX_TRUE_PEAK_DBTP = -1.0
SAMPLE_RATES = (44100, 48000)


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
    checks.append(_cover(tags))
    checks.append(Check("title", bool(tags.getall("TIT2")), str(tags.get("TIT2", "missing"))))
    return checks


def _cover(tags: object) -> Check:
    from PIL import Image

    pictures = [p for p in tags.getall("APIC") if p.type == 3]  # type: ignore[attr-defined]
    if not pictures:
        return Check("cover", False, "no front cover (APIC type 3)")
    try:
        with Image.open(io.BytesIO(pictures[0].data)) as image:
            width, height = image.size
    except OSError:
        return Check("cover", False, "the front cover is not a readable image")
    ok = width == height and 1400 <= width <= 3000
    return Check("cover", ok, f"{width}x{height} {pictures[0].mime} (want square, 1400-3000)")


def _chapter_count(path: Path) -> int:
    from mutagen.id3 import ID3, ID3NoHeaderError

    try:
        return len(ID3(path).getall("CHAP"))
    except ID3NoHeaderError:
        return 0


def _audio(path: Path, ffmpeg: str, loudness: float | None) -> list[Check]:
    from mutagen.mp3 import MP3, HeaderNotFoundError

    try:
        # mutagen's annotations lack the attributes MPEGInfo sets in __init__
        info: Any = MP3(path).info
    except HeaderNotFoundError:
        return [Check("audio", False, "no MPEG audio frames found")]
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
    report = run_ffmpeg(
        ffmpeg, ["-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"]
    ).stderr
    listed = len(re.findall(r"^\s+Chapter #", report.split("Output #", 1)[0], flags=re.M))
    tagged = _chapter_count(path)
    checks.append(
        Check(
            "chapters in ffmpeg",
            listed > 0 and listed == tagged,
            f"ffmpeg lists {listed} of the {tagged} in the tag",
        )
    )
    summary = report[report.rfind("Summary:") :]
    loud = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if loud and peak:
        target = AudioFormat(channels=info.channels, loudness=loudness).target_lufs
        integrated = float(loud[1])
        checks.append(
            Check(
                "loudness",
                abs(integrated - target) <= LOUDNESS_TOLERANCE_LU,
                f"{integrated:.1f} LUFS (want {target:.0f} ± {LOUDNESS_TOLERANCE_LU:.0f})",
            )
        )
        checks.append(_chapter_loudness(path, ffmpeg, target))
        true_peak = float(peak[1])
        checks.append(
            Check(
                "true peak",
                true_peak <= MAX_TRUE_PEAK_DBTP,
                f"{true_peak:.1f} dBTP (want at most {MAX_TRUE_PEAK_DBTP:.0f})",
            )
        )
    return checks


def _chapter_loudness(path: Path, ffmpeg: str, target: float) -> Check:
    """Each chapter's integrated loudness (one ffmpeg run per chapter, reading only its
    stretch of the file): segments are levelled one by one, so each chapter must still land
    on the target."""
    from mutagen.id3 import ID3, ID3NoHeaderError

    try:
        chaps = sorted(ID3(path).getall("CHAP"), key=lambda chap: chap.start_time)
    except ID3NoHeaderError:
        chaps = []
    found = []
    for chap in chaps:
        start, length = chap.start_time / 1000, (chap.end_time - chap.start_time) / 1000
        report = run_ffmpeg(
            ffmpeg,
            ["-nostats", "-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", str(path),
             "-af", "ebur128", "-f", "null", "-"],
        ).stderr  # fmt: skip
        loud = re.search(r"I:\s+(-?[\d.]+) LUFS", report[report.rfind("Summary:") :])
        if loud:
            found.append(float(loud[1]))
    if not found:
        return Check("chapter loudness", True, "no chapters to measure")
    worst = max(found, key=lambda value: abs(value - target))
    return Check(
        "chapter loudness",
        abs(worst - target) <= LOUDNESS_TOLERANCE_LU,
        f"{len(found)} chapters from {min(found):.1f} to {max(found):.1f} LUFS"
        f" (want each {target:.0f} ± {LOUDNESS_TOLERANCE_LU:.0f})",
    )


def lint(path: Path, ffmpeg: str, loudness: float | None = None) -> list[Check]:
    """Every check, in a fixed order; the file passes when all are ok. `loudness` is the
    `[audio] loudness` setting the episode was built with (None: the podcast norm)."""
    if not path.is_file():
        raise InputError(f"{path} is not a file", "pass an MP3 that narrator build wrote")
    return [*_tags(path), *_audio(path, ffmpeg, loudness)]
