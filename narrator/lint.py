"""`narrator lint FILE...`: check episodes against what phones and podcast apps need.

MP3s: the ID3 tag (version, chapters, cover, title), the Info header and sample rate.
m4b audiobooks: the MP4 metadata (title), chapters, cover, AAC audio and sample rate.
Both: the chapters ffmpeg lists, loudness and true peak.

Each check reads the file with an independent reader (mutagen for the tags, ffmpeg for
the chapters it lists and for loudness), so narrator's own output gets no free pass.
Loudness and true peak are checked chapter by chapter: a listener hears each one.
"""

from __future__ import annotations

import bisect
import io
import math
import re
import statistics
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from narrator.audio.assemble import TRUE_PEAK
from narrator.errors import InputError
from narrator.ffmpeg import run_ffmpeg
from narrator.model import MAX_TRUE_PEAK_DBTP, AudioFormat, Check, ProgressCallback

LOUDNESS_TOLERANCE_LU = 1.0
SAMPLE_RATES = (44100, 48000)
MP4_SUFFIXES = (".m4b", ".m4a", ".mp4")
SUFFIXES = (".mp3", *MP4_SUFFIXES)  # what lint looks for in a folder
PROGRESS_FROM_MS = 60_000  # shorter files are measured too fast for progress to help
_MEASURING = "loudness"
# true peaks too, and a line per 100 ms step (see Block) at ffmpeg's default log level
_MEASURE = "ebur128=peak=true:framelog=info"
_WINDOW_S = 0.4  # a BS.1770 gating block: ebur128 logs the one ending at each 100 ms step
# ffmpeg stamps a step with its last sample: 1/sample rate before the window's end
_STAMP_SLACK_S = 0.001
ABSOLUTE_GATE_LUFS = -70.0  # BS.1770: a 400 ms block at or under this is silence
RELATIVE_GATE_LU = -10.0  # BS.1770: so is one this far under the mean of the louder blocks
_NUMBER = r"-?(?:\d+(?:\.\d+)?|inf|nan)"
# a line of ebur128's frame log: "t: 1.299977   TARGET:-23 LUFS    M: -30.1 S: ...
# FTPK:   0.2 dBFS  TPK: ..." (FTPK: one value per channel)
_STEP = re.compile(
    rf"\bt:\s*(?P<at>{_NUMBER})\s.*?\bM:\s*(?P<momentary>{_NUMBER})\s.*?"
    rf"\bFTPK:(?P<peaks>(?:\s+{_NUMBER})+) dBFS"
)
_CHAPTER = re.compile(r"( +)Chapter #\d+:\d+: start (-?[\d.]+), end (-?[\d.]+)")
_TITLE = re.compile(r" +title +: (.*)")


@dataclass(frozen=True)
class Block:
    """One 100 ms step of the frame log of ffmpeg's `ebur128=peak=true` filter."""

    at_s: float  # the time of the step's last sample, as ffmpeg stamps it
    momentary: float  # LUFS of the 400 ms window ending there: one BS.1770 gating block
    true_peak: float  # dBTP of the step's 100 ms, on its loudest channel


@dataclass(frozen=True)
class ListedChapter:
    """A chapter in ffmpeg's listing of a file."""

    start_s: float
    end_s: float
    title: str  # "" when it has none


@dataclass(frozen=True)
class ChapterLevel:
    """A chapter's loudness and true peak, measured from the blocks played in it."""

    name: str  # as messages name it: 'chapter 3 "Title"', or "the whole file"
    loudness: float | None  # integrated LUFS; None: no block above the gates
    true_peak: float  # dBTP; -inf when silent


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


def listed_chapters(report: str) -> list[ListedChapter]:
    """The chapters in ffmpeg's listing of its input (not those of its output), each
    with the title from its metadata."""
    chapters: list[ListedChapter] = []
    inside = 0  # the indent of the chapter line whose metadata lines follow; 0: none
    for line in report.split("Output #", 1)[0].splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if found := _CHAPTER.match(line):
            chapters.append(ListedChapter(float(found[2]), float(found[3]), ""))
            inside = len(found[1])
        elif inside and indent > inside:
            if (title := _TITLE.match(line)) and not chapters[-1].title:
                chapters[-1] = replace(chapters[-1], title=title[1])
        else:
            inside = 0
    return chapters


def ebur128_blocks(report: str) -> list[Block]:
    """The 100 ms steps in the frame log that ffmpeg writes with the `_MEASURE` filter."""
    return [
        Block(float(step["at"]), float(step["momentary"]), max(map(float, step["peaks"].split())))
        for step in _STEP.finditer(report)
    ]


def gated_loudness(momentary: Iterable[float]) -> float | None:
    """BS.1770's integrated loudness from the momentary loudness (LUFS) of its 400 ms
    blocks, overlapping by 75% as ffmpeg logs them every 100 ms: the mean energy of the
    blocks above the absolute gate and above the relative one, which is 10 LU under the
    mean energy of those. None when no block is above the absolute gate.

    A momentary loudness already holds BS.1770's -0.691 dB: averaging 10^(M/10) and taking
    10·log10 of the mean keeps it once."""
    audible = [level for level in momentary if level > ABSOLUTE_GATE_LUFS]
    if not audible:
        return None
    gate = _mean_energy(audible) + RELATIVE_GATE_LU
    return _mean_energy([level for level in audible if level > gate])


def _mean_energy(levels: list[float]) -> float:
    return 10 * math.log10(statistics.fmean(10 ** (level / 10) for level in levels))


def chapter_levels(
    blocks: Sequence[Block], chapters: Sequence[ListedChapter], file_peak: float
) -> list[ChapterLevel]:
    """Each chapter's integrated loudness and true peak, in time order (ffmpeg lists an
    MP3's chapters in the order of their frames in the tag); the whole file is one chapter
    when it lists none.

    A chapter's loudness is that of the 400 ms blocks whose window lies wholly inside it,
    as if it were cut out and measured on its own: a block across a chapter's start or end
    counts for neither chapter, and a chapter shorter than 0.4 s has none. A 100 ms step's
    true peak counts for the chapter playing at the step's last sample, so that no peak is
    left out. The last few milliseconds of a file, after its last whole step, reach only
    ffmpeg's summary: when `file_peak` is above every step's, that is where it was, in the
    last chapter."""
    in_order = sorted(chapters, key=lambda chapter: chapter.start_s)
    names = [
        f'chapter {number} "{chapter.title}"' if chapter.title else f"chapter {number}"
        for number, chapter in enumerate(in_order, 1)
    ]
    if not in_order:
        in_order, names = [ListedChapter(-math.inf, math.inf, "")], ["the whole file"]
    starts = [chapter.start_s for chapter in in_order]
    momentary: list[list[float]] = [[] for _ in in_order]
    peaks = [-math.inf for _ in in_order]
    for block in blocks:
        playing = max(bisect.bisect_right(starts, block.at_s) - 1, 0)
        peaks[playing] = max(peaks[playing], block.true_peak)
        holding = bisect.bisect_right(starts, block.at_s - _WINDOW_S + _STAMP_SLACK_S) - 1
        if holding >= 0 and block.at_s < in_order[holding].end_s:
            momentary[holding].append(block.momentary)
    if file_peak > max(peaks):
        peaks[-1] = file_peak
    return [
        ChapterLevel(name, gated_loudness(levels), peak)
        for name, levels, peak in zip(names, momentary, peaks, strict=True)
    ]


def _span(values: Collection[float]) -> str:
    """E.g. "-19.4 to -18.8", or "-19.1" when they all round alike."""
    low, high = (f"{value:.1f}" for value in (min(values), max(values)))
    return low if low == high else f"{low} to {high}"


def _loudness_check(levels: Sequence[ChapterLevel], target: float, whole: float) -> Check:
    """Every chapter within LOUDNESS_TOLERANCE_LU of `target`, naming the one furthest
    off; a chapter too short (under 0.4 s) or too quiet to have a block above the gates
    is skipped, and the message says so. `whole` is the file's integrated loudness."""
    want = f"{target:g} ± {LOUDNESS_TOLERANCE_LU:g} LUFS"
    measured = {level.name: level.loudness for level in levels if level.loudness is not None}
    off = {
        name: value
        for name, value in measured.items()
        if abs(value - target) > LOUDNESS_TOLERANCE_LU
    }
    if not measured:
        return Check("loudness", False, f"nothing loud enough to measure (want {want})")
    if off:
        worst = max(off, key=lambda name: abs(off[name] - target))
        detail = f"{worst} at {off[worst]:.1f} LUFS (want {want})"
        if len(measured) > 1:
            detail += f"; {len(off)} of {len(measured)} chapters off (the whole file {whole:.1f})"
    elif len(measured) > 1:
        detail = (
            f"every chapter within {want}: {_span(measured.values())} "
            f"({len(measured)} chapters; the whole file {whole:.1f})"
        )
    else:
        ((name, value),) = measured.items()
        detail = f"{name} at {value:.1f} LUFS (want {want})"
    skipped = [level.name for level in levels if level.loudness is None]
    if skipped:
        detail += f"; skipped, too short or quiet to measure: {', '.join(skipped)}"
    return Check("loudness", not off, detail)


def _peak_check(levels: Sequence[ChapterLevel]) -> Check:
    """Every chapter's true peak at most MAX_TRUE_PEAK_DBTP, naming the highest."""
    want = f"want at most {MAX_TRUE_PEAK_DBTP:g}"
    over = [level for level in levels if level.true_peak > MAX_TRUE_PEAK_DBTP]
    highest = max(levels, key=lambda level: level.true_peak)
    if len(levels) == 1:
        detail = f"{highest.name} peaks at {highest.true_peak:.1f} dBTP ({want})"
    elif over:
        detail = (
            f"{highest.name} peaks at {highest.true_peak:.1f} dBTP ({want}); "
            f"{len(over)} of {len(levels)} chapters over"
        )
    else:
        detail = (
            f"every chapter at most {MAX_TRUE_PEAK_DBTP:g} dBTP: the highest "
            f"{highest.true_peak:.1f}, {highest.name} ({len(levels)} chapters)"
        )
    return Check("true peak", not over, detail)


def _measured(
    path: Path,
    ffmpeg: str,
    channels: int,
    length_ms: int,
    tagged: int,
    progress: ProgressCallback | None,
    loudness: float | None,
) -> list[Check]:
    """The chapters ffmpeg lists, and each one's loudness and true peak: one pass over the
    audio, with progress for files long enough to make someone wait."""
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
        ["-nostats", "-i", str(path), "-vn", "-af", _MEASURE, "-f", "null", "-"],
        advance if show else None,
    ).stderr
    if show and reached < length_ms:
        advance(length_ms)
    chapters = listed_chapters(report)
    checks = [
        Check(
            "chapters in ffmpeg",
            bool(chapters) and len(chapters) == tagged,
            f"ffmpeg lists {len(chapters)} of the {tagged} in the tag",
        )
    ]
    summary = report[report.rfind("Summary:") :]
    loud = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = TRUE_PEAK.search(summary)
    if loud and peak:
        levels = chapter_levels(ebur128_blocks(report), chapters, float(peak[1]))
        target = AudioFormat(channels=channels, loudness=loudness).target_lufs
        checks.append(_loudness_check(levels, target, float(loud[1])))
        checks.append(_peak_check(levels))
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
