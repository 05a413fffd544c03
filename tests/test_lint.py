"""`narrator lint`: passes narrator's own output, names what is wrong with broken files,
and measures loudness and true peak chapter by chapter."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import EXAMPLE, Recorder, ebur128_report, ffmpeg_exe, loudness
from mutagen.id3 import APIC, ID3, TIT2, PictureType

from narrator.audio.tag import chapter_frames
from narrator.config import Overrides
from narrator.ffmpeg import find_ffmpeg
from narrator.lint import (
    LOUDNESS_TOLERANCE_LU,
    MAX_TRUE_PEAK_DBTP,
    Block,
    ListedChapter,
    chapter_levels,
    ebur128_blocks,
    gated_loudness,
    lint,
)
from narrator.model import ChapterMark, Check, Timeline
from narrator.pipeline import BuildRequest, build_all
from narrator.speech.pool import Voice

RATE = 44100
SINE = "sin(2*PI*1000*t)"  # a 1 kHz sine of amplitude A reads 20·log10(A) - 3 LUFS in mono


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import sys

    out = tmp_path_factory.mktemp("lint") / "walking.mp3"
    subprocess.run(
        [sys.executable, "-m", "narrator", "build", str(EXAMPLE), "-o", str(out), "-q"],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


def copy(episode: Path, tmp_path: Path) -> Path:
    target = tmp_path / "broken.mp3"
    shutil.copyfile(episode, target)
    return target


def test_lint_passes_narrators_own_output(narrate, episode: Path) -> None:
    result = narrate("lint", episode)
    assert result.code == 0, result.stdout
    assert "all checks passed" in result.stdout
    assert "ok   loudness: every chapter within -19 ± 1 LUFS: " in result.stdout
    assert "(4 chapters; the whole file -19." in result.stdout
    assert "ok   true peak: every chapter at most -1 dBTP: the highest " in result.stdout


def test_lint_passes_the_seed_chapter_by_chapter(seed_mp3: Path) -> None:
    checks = by_name(lint(seed_mp3, find_ffmpeg()))
    for name in ("loudness", "true peak"):
        assert checks[name].ok, checks[name].detail
    assert "(8 chapters; the whole file " in checks["loudness"].detail


def test_lint_fails_id3v24_chapter_art(narrate, episode: Path, tmp_path: Path) -> None:
    broken = copy(episode, tmp_path)
    tags = ID3(broken)
    art = APIC(encoding=3, mime="image/png", type=PictureType.OTHER, desc="", data=b"\x89PNG" * 64)
    for chap in tags.getall("CHAP"):
        chap.sub_frames.add(art)
    tags.save(broken, v2_version=4)
    result = narrate("lint", broken)
    assert result.code == 1
    assert "FAIL chapter art" in result.stdout and "FAIL ID3 version" in result.stdout


def test_lint_fails_a_file_without_chapters(narrate, episode: Path, tmp_path: Path) -> None:
    broken = copy(episode, tmp_path)
    tags = ID3(broken)
    tags.delall("CHAP")
    tags.delall("CTOC")
    tags.save(broken, v2_version=3)
    result = narrate("lint", broken)
    assert result.code == 1
    assert "FAIL chapters:" in result.stdout and "FAIL chapters in ffmpeg" in result.stdout


def test_lint_fails_a_file_that_is_too_loud(narrate, episode: Path, tmp_path: Path) -> None:
    loud = tmp_path / "loud.mp3"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(episode), "-map", "0:a", "-af", "volume=12dB",
         "-c:a", "libmp3lame", "-b:a", "64k", "-id3v2_version", "0", "-y", str(loud)],
        check=True,
    )  # fmt: skip
    ID3(episode).save(loud, v2_version=3)  # the same tags on the louder audio
    result = narrate("lint", loud)
    assert result.code == 1
    assert "FAIL loudness" in result.stdout or "FAIL true peak" in result.stdout


def test_lint_refuses_a_missing_file(narrate, tmp_path: Path) -> None:
    result = narrate("lint", tmp_path / "nope.mp3")
    assert result.code == 1 and "Traceback" not in result.stderr


def test_the_loudness_setting_levels_the_build_and_sets_lints_target(
    fake_engine: Voice, essay: Path, tmp_path: Path
) -> None:
    """One fact, read by both: `[audio] loudness` is what chapters are levelled to and what
    `lint` checks against."""
    (essay.parent / "narrator.toml").write_text("[audio]\nloudness = -23\n", encoding="utf-8")
    out = tmp_path / "quiet.mp3"
    reporter = Recorder()
    build_all(BuildRequest((essay,), out, Overrides(engine="fake", jobs=1)), reporter)
    loudness = {c.name: c for c in lint(out, find_ffmpeg(), loudness=-23.0)}["loudness"]
    assert loudness.ok, loudness.detail
    assert not {c.name: c for c in lint(out, find_ffmpeg())}["loudness"].ok  # -19 by default


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def chaptered(path: Path, chapters: list[tuple[str, float, str]]) -> Path:
    """An MP3 of chapters (title, seconds, ffmpeg aevalsrc expression of the samples),
    tagged with narrator's chapter frames through mutagen, which may write them out of
    time order."""
    inputs: list[str] = []
    for _, seconds, samples in chapters:
        inputs += ["-f", "lavfi", "-i", f"aevalsrc='{samples}':s={RATE}:d={seconds}"]
    joined = "".join(f"[{index}]" for index in range(len(chapters)))
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", *inputs, "-filter_complex",
         f"{joined}concat=n={len(chapters)}:v=0:a=1", "-b:a", "64k", "-y", str(path)],
        check=True,
    )  # fmt: skip
    marks: list[ChapterMark] = []
    for title, seconds, _ in chapters:
        start = marks[-1].end_ms if marks else 0
        marks.append(ChapterMark(title, start, start + round(seconds * 1000)))
    tags = ID3()
    tags.add(TIT2(text=["Tones"]))
    for frame in chapter_frames(Timeline(tuple(marks), marks[-1].end_ms)):
        tags.add(frame)
    tags.save(path, v2_version=3)
    return path


def test_a_quiet_chapter_fails_though_the_whole_file_is_on_target(tmp_path: Path) -> None:
    mp3 = chaptered(
        tmp_path / "quiet.mp3",
        [("Steady", 30, f"0.166*{SINE}"), ("Quiet", 5, f"0.0891*{SINE}")],  # -18.6, -24 LUFS
    )
    whole, _ = loudness(mp3)
    assert abs(whole - -19) <= LOUDNESS_TOLERANCE_LU  # what lint used to check passes
    check = by_name(lint(mp3, find_ffmpeg()))["loudness"]
    assert not check.ok
    found = re.match(
        r'chapter 2 "Quiet" at (-[\d.]+) LUFS \(want -19 ± 1 LUFS\); (.*)', check.detail
    )
    assert found, check.detail
    assert -25 < float(found[1]) < -23
    assert found[2] == f"1 of 2 chapters off (the whole file {whole:.1f})"


def test_a_chapter_over_the_peak_fails_and_a_short_one_is_skipped(tmp_path: Path) -> None:
    mp3 = chaptered(
        tmp_path / "clicks.mp3",
        [
            ("Steady", 10, f"0.1585*{SINE}"),
            # the same sine, but at 0.99 for the first 3 ms of each second
            ("Clicks", 10, f"if(lt(mod(t\\,1)\\,0.003)\\,0.99\\,0.1585)*{SINE}"),
            ("Breath", 0.3, "0"),  # shorter than one 400 ms block
            ("Steady again", 10, f"0.1585*{SINE}"),
        ],
    )
    checks = by_name(lint(mp3, find_ffmpeg()))
    peak = checks["true peak"]
    assert not peak.ok
    found = re.match(r'chapter 2 "Clicks" peaks at (-?[\d.]+) dBTP', peak.detail)
    assert found and float(found[1]) > MAX_TRUE_PEAK_DBTP, peak.detail
    assert peak.detail.endswith("; 1 of 4 chapters over")
    level = checks["loudness"]
    assert level.ok, level.detail  # clicks once a second hardly move the loudness
    assert level.detail.startswith("every chapter within -19 ± 1 LUFS: ")
    assert "(3 chapters; the whole file " in level.detail
    assert level.detail.endswith('; skipped, too short or quiet to measure: chapter 3 "Breath"')


def test_the_gating_reproduces_ffmpegs_integrated_loudness(episode: Path, tmp_path: Path) -> None:
    """BS.1770's gates applied to the blocks ffmpeg logs give the integrated loudness ffmpeg
    reports, on narrator's output and on a file with a quiet stretch for the gates to drop."""
    quiet = chaptered(
        tmp_path / "gated.mp3",
        [("Loud", 8, f"0.2*{SINE}"), ("Murmur", 8, f"0.02*{SINE}"), ("Soft", 8, f"0.1*{SINE}")],
    )
    for path in (episode, quiet):
        whole, _ = loudness(path)
        blocks = ebur128_blocks(ebur128_report(path))
        assert len(blocks) > 100
        measured = gated_loudness(block.momentary for block in blocks)
        assert measured is not None and abs(measured - whole) <= 0.1, (path, measured, whole)
        (level,) = chapter_levels(blocks, [], -math.inf)  # no chapters: the whole file
        assert level.name == "the whole file" and level.loudness == measured


def test_gated_loudness_keeps_the_energy_mean_above_both_gates() -> None:
    assert gated_loudness([]) is None
    assert gated_loudness([-70.0, -80.0, math.nan]) is None  # silence, at and under -70
    assert gated_loudness([-20.0, -20.0, -75.0]) == pytest.approx(-20.0)
    # an energy mean, not a mean of decibels: -17 and -23 average to -19.04, not -20
    assert gated_loudness([-17.0, -23.0]) == pytest.approx(-19.04, abs=0.005)
    # the relative gate: the mean of -20 and -35 is -22.9, and -35 is under -32.9
    assert gated_loudness([-20.0] * 4 + [-35.0] * 4) == pytest.approx(-20.0)
    assert gated_loudness([-20.0] * 4 + [-29.0] * 4) == pytest.approx(-22.5, abs=0.005)


def steps(momentary: list[float], peak: float = -10.0) -> list[Block]:
    """ebur128's steps from the start of a file, stamped as ffmpeg stamps them."""
    return [Block(k / 10 - 1 / RATE, m, peak) for k, m in enumerate(momentary, 1)]


def test_blocks_count_for_the_chapter_holding_their_whole_window() -> None:
    blocks = steps([-120.0] * 3 + [-20.0] * 7 + [-10.0] * 3 + [-30.0] * 7)  # 2 s
    chapters = [ListedChapter(1.0, 2.0, ""), ListedChapter(0.0, 1.0, "Opening")]  # tag order
    first, second = chapter_levels(blocks, chapters, -10.0)
    assert first.name == 'chapter 1 "Opening"' and second.name == "chapter 2"
    # the blocks ending at 1.1-1.3 s reach into chapter 1: neither chapter counts them
    assert first.loudness == pytest.approx(-20.0) and second.loudness == pytest.approx(-30.0)
    # a step's peak counts for the chapter playing at its last sample, 1 s - 1/RATE here
    peaked = [*blocks[:9], replace(blocks[9], true_peak=-3.0), *blocks[10:]]
    assert [level.true_peak for level in chapter_levels(peaked, chapters, -3.0)] == [-3, -10]
    # a peak after the last whole step reaches only the summary: the last chapter's
    assert [level.true_peak for level in chapter_levels(blocks, chapters, -0.2)] == [-10, -0.2]
    short = [ListedChapter(0.0, 1.0, ""), ListedChapter(1.0, 1.3, ""), ListedChapter(1.3, 2.0, "")]
    assert chapter_levels(blocks, short, -10.0)[1].loudness is None  # 0.3 s: no whole block
